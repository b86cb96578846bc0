"""Sending one webhook event until the webhook gateway takes it, as real gateways do.

Every try re-signs the same body under the same event id with a fresh timestamp: the id lets the
receiver deduplicate, the fresh timestamp keeps late retries inside its replay tolerance. Each try is
reported to a recorder with the receiver's real answer; the recorder may tell the sender to treat an
answered try as timed out (the timeout fault), which is then retried like any lost answer.
"""

from __future__ import annotations

import enum
from typing import Protocol

import aiohttp
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_delay, wait_exponential_jitter
from tenacity.wait import WaitBaseT

from payments_common.logging import get_logger
from payments_common.signatures import sign_webhook

log = get_logger(__name__)

# tenacity 9.2 renamed `initial` to `multiplier`: the first retry waits 0.2 s plus jitter, doubling up to 30 s
DEFAULT_WAIT: WaitBaseT = wait_exponential_jitter(multiplier=0.2, max=30)


class DeliveryResult(enum.Enum):
    DELIVERED = "delivered"
    REFUSED = "refused"
    GAVE_UP = "gave_up"


class TryRecorder(Protocol):
    async def __call__(self, status_code: int | None, error: str | None) -> bool:
        """Record one try: the receiver's status, or the error that left it unanswered.

        True means "act as if this try timed out", whatever the receiver answered.
        """
        ...


async def _record_nothing(status_code: int | None, error: str | None) -> bool:
    return False


class _Retry(Exception):
    """This try failed in a way a later one may not (5xx, 408, 429, network, a timeout)."""


class _Rejected(Exception):
    """The receiver refused the event for good (a 4xx other than 408 and 429)."""


def _is_final_refusal(status: int) -> bool:
    return 400 <= status < 500 and status not in (408, 429)


class WebhookSender:
    """Owns the one HTTP session every delivery shares; `open` and `close` bracket its life.

    Each delivery is sent to `url` followed by its own path (a payment's report and a refund's go to
    different endpoints of the one webhook gateway)."""

    def __init__(self, url: str, signing_key: bytes, *, timeout_seconds: float, wait: WaitBaseT = DEFAULT_WAIT) -> None:
        self._session: aiohttp.ClientSession | None = None
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._url = url.rstrip("/")
        self._signing_key = signing_key
        self._wait = wait

    async def open(self) -> None:
        # created inside the running loop, as aiohttp requires
        self._session = aiohttp.ClientSession(timeout=self._timeout)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def deliver(
        self,
        event_id: str,
        body: bytes,
        *,
        window_seconds: float,
        record: TryRecorder = _record_nothing,
        correlation_id: str | None = None,
        path: str = "",
    ) -> DeliveryResult:
        """Try until a 2xx, a final refusal, or `window_seconds` from now (retries past it stop)."""
        if window_seconds <= 0:
            log.error("webhook.gave_up", reason="retry window over before this try")
            return DeliveryResult.GAVE_UP
        try:
            async for attempt in AsyncRetrying(
                wait=self._wait,
                stop=stop_after_delay(window_seconds),
                retry=retry_if_exception_type(_Retry),
                reraise=True,
            ):
                with attempt:
                    await self._try(
                        f"{self._url}{path}", event_id, body, attempt.retry_state.attempt_number, record, correlation_id
                    )
        except _Rejected:
            return DeliveryResult.REFUSED
        except _Retry:
            log.error("webhook.gave_up", window_seconds=window_seconds)
            return DeliveryResult.GAVE_UP
        return DeliveryResult.DELIVERED

    async def _try(
        self, url: str, event_id: str, body: bytes, attempt: int, record: TryRecorder, correlation_id: str | None
    ) -> None:
        headers = {"content-type": "application/json", **sign_webhook(self._signing_key, event_id, body).as_dict()}
        if correlation_id:
            headers["X-Request-Id"] = correlation_id
        if self._session is None:
            raise RuntimeError("WebhookSender.open() was not called")
        try:
            async with self._session.post(url, data=body, headers=headers) as response:
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("webhook.attempt_failed", attempt=attempt, error=type(exc).__name__)
            await record(None, type(exc).__name__)
            raise _Retry from exc
        if await record(status, None):
            log.info("webhook.answer_ignored", attempt=attempt, status_code=status, reason="timeout fault")
            raise _Retry
        if 200 <= status < 300:
            log.info("webhook.delivered", attempt=attempt, status_code=status)
            return
        if _is_final_refusal(status):
            log.error("webhook.rejected", attempt=attempt, status_code=status)
            raise _Rejected
        log.warning("webhook.attempt_failed", attempt=attempt, status_code=status)
        raise _Retry
