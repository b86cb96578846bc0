"""A delivery's rules, without I/O: the body a merchant receives, when a failed attempt is tried again, when
a delivery is given up and when its endpoint is disabled."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson

from payments_common.events import MerchantEvent

# what of a receiver's answer is kept in the log: enough for an error page's first lines, never more
RESPONSE_BODY_CAP_BYTES = 4096
# the longest error text kept per attempt
ERROR_CAP_CHARS = 500


def body_of(event: MerchantEvent) -> bytes:
    """The body every attempt of `event` sends, in Razorpay's shape: serialised once, when the event is
    stored, so that every attempt and redelivery sends (and signs) the very same bytes."""
    document: dict[str, Any] = {
        "entity": "event",
        "account_id": event.merchant_id,
        "event": event.event,
        "contains": event.contains,
        "payload": event.payload,
        "created_at": event.created_at,
    }
    return orjson.dumps(document)


def is_success(status: int) -> bool:
    """Only a 2xx delivers: a 3xx is not followed (its target is unvetted) and counts as a failure."""
    return 200 <= status < 300


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    retry_for_seconds: float
    base_seconds: float
    max_delay_seconds: float
    disable_after_seconds: float

    def delay_seconds(self, failures: int, rng: random.Random | None = None) -> float:
        """Exponential backoff with full jitter before the retry after the `failures`-th failed attempt:
        uniform in [0, min(max, base * 2^(failures-1))], so that the retries of many deliveries that failed
        together (an endpoint back from an outage) spread out instead of arriving in waves."""
        ceiling = min(self.max_delay_seconds, self.base_seconds * 2 ** min(max(failures - 1, 0), 62))
        return (rng or random).uniform(0.0, ceiling)

    def next_attempt_at(
        self, failures: int, series_started_at: datetime, now: datetime, rng: random.Random | None = None
    ) -> datetime | None:
        """When to try again after the `failures`-th failure of a series that began at `series_started_at`;
        None when the series' retry period is over (the delivery is given up). The last retry falls at the
        end of the period rather than past it."""
        deadline = series_started_at + timedelta(seconds=self.retry_for_seconds)
        if now >= deadline:
            return None
        return min(now + timedelta(seconds=self.delay_seconds(failures, rng)), deadline)

    def failing_before(self, now: datetime) -> datetime:
        """An endpoint whose attempts have all failed since before this moment is disabled."""
        return now - timedelta(seconds=self.disable_after_seconds)
