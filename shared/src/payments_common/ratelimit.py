"""Token buckets per key (a source address, a merchant), and a tally that keeps refusals' logs short.

Pure logic: no I/O, the clock is injected, and memory is bounded. A bucket left idle long enough to
have refilled completely is indistinguishable from a new one, so it is dropped; beyond `max_keys`
the least recently used bucket goes too (an attacker with that many addresses gets a fresh bucket
for some of them, which is the price of a bounded table). Single-threaded: one event loop owns it.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

Clock = Callable[[], float]
K = TypeVar("K", bound=Hashable)

DEFAULT_MAX_KEYS = 10_000
# float sums of elapsed times drift by ~1e-14: a bucket that is full to within this counts as full
_EPSILON = 1e-9


def retry_after_header(seconds: float) -> str:
    """`Retry-After` in whole seconds, at least 1: rounding down would invite a retry that fails again."""
    return str(max(1, math.ceil(seconds)))


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    # how long until the next token, 0 when allowed
    retry_after: float = 0.0

    @property
    def retry_after_header(self) -> str:
        return retry_after_header(self.retry_after)


class _Bucket:
    __slots__ = ("tokens", "updated")

    def __init__(self, tokens: float, updated: float) -> None:
        self.tokens = tokens
        self.updated = updated


class RateLimiter:
    """`rate_per_second` tokens refill each key's bucket, up to `burst`; each request takes one."""

    def __init__(
        self,
        rate_per_second: float,
        burst: float,
        *,
        max_keys: int = DEFAULT_MAX_KEYS,
        clock: Clock = time.monotonic,
    ) -> None:
        if rate_per_second <= 0:
            raise ValueError("rate_per_second must be > 0")
        if burst < 1:
            raise ValueError("burst must be at least 1, or no request could ever pass")
        if max_keys < 1:
            raise ValueError("max_keys must be at least 1")
        self.rate = float(rate_per_second)
        self.burst = float(burst)
        self.max_keys = max_keys
        self._clock = clock
        # the time an empty bucket takes to fill: a bucket idle that long is as good as a new one
        self._refill_time = self.burst / self.rate
        self._buckets: OrderedDict[Hashable, _Bucket] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    def acquire(self, key: Hashable, cost: float = 1.0) -> Decision:
        """Take `cost` tokens from `key`'s bucket if it holds them; a refusal takes nothing."""
        now = self._clock()
        bucket = self._refilled(key, now)
        if bucket.tokens + _EPSILON >= cost:
            bucket.tokens -= cost
            return Decision(True)
        return Decision(False, (cost - bucket.tokens) / self.rate)

    def peek(self, key: Hashable, cost: float = 1.0) -> Decision:
        """What `acquire` would answer, taking nothing."""
        bucket = self._buckets.get(key)
        if bucket is None:
            return Decision(cost <= self.burst, max(0.0, cost - self.burst) / self.rate)
        tokens = self._level(bucket, self._clock())
        if tokens + _EPSILON >= cost:
            return Decision(True)
        return Decision(False, (cost - tokens) / self.rate)

    def _level(self, bucket: _Bucket, now: float) -> float:
        # max(0, …): an injected clock that steps back must not drain the bucket
        return min(self.burst, bucket.tokens + max(0.0, now - bucket.updated) * self.rate)

    def _refilled(self, key: Hashable, now: float) -> _Bucket:
        self._evict_idle(now)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = _Bucket(self.burst, now)
            self._buckets[key] = bucket
            if len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
            return bucket
        bucket.tokens = self._level(bucket, now)
        bucket.updated = now
        self._buckets.move_to_end(key)
        return bucket

    def _evict_idle(self, now: float) -> None:
        # least recently used first: the sweep stops at the first bucket still refilling, so each
        # bucket is looked at once per eviction, amortised O(1) per call
        while self._buckets:
            oldest = next(iter(self._buckets.values()))
            if now - oldest.updated < self._refill_time:
                return
            self._buckets.popitem(last=False)


class RefusalTally(Generic[K]):
    """Counts refusals per key so that a flood is logged in a few lines, not one line per request.

    `record` answers how many refusals to log now: the first of a key at once (1), then nothing until
    `interval` seconds have passed since that key's last line, when the count since then is due.
    `drain` hands over the counts whose interval has passed, for a periodic flush, so the tail of a
    flood that stopped is logged too. Beyond `max_keys`, the least recently refused key's pending
    count moves to the `None` key, which `drain` reports like any other.
    """

    def __init__(self, interval: float = 10.0, *, max_keys: int = DEFAULT_MAX_KEYS, clock: Clock = time.monotonic):
        if interval <= 0:
            raise ValueError("interval must be > 0")
        self.interval = interval
        self.max_keys = max_keys
        self._clock = clock
        # key -> [time of its last report, refusals since]
        self._entries: OrderedDict[K, list[float]] = OrderedDict()
        self._overflow = 0

    def __len__(self) -> int:
        return len(self._entries)

    def record(self, key: K) -> int:
        now = self._clock()
        entry = self._entries.get(key)
        if entry is None:
            self._entries[key] = [now, 0]
            if len(self._entries) > self.max_keys:
                _, (_, pending) = self._entries.popitem(last=False)
                self._overflow += int(pending)
            return 1
        self._entries.move_to_end(key)
        if now - entry[0] >= self.interval:
            count = int(entry[1]) + 1
            entry[0], entry[1] = now, 0
            return count
        entry[1] += 1
        return 0

    def drain(self) -> list[tuple[K | None, int]]:
        """Counts not logged yet whose interval has passed; quiet keys are forgotten."""
        now = self._clock()
        due: list[tuple[K | None, int]] = []
        for key in list(self._entries):
            reported_at, pending = self._entries[key]
            if now - reported_at < self.interval:
                continue
            if pending:
                due.append((key, int(pending)))
                self._entries[key] = [now, 0]
            else:
                del self._entries[key]
        if self._overflow:
            due.append((None, self._overflow))
            self._overflow = 0
        return due


async def flush_refusals_forever(
    tally: RefusalTally[K], interval_seconds: float, write: Callable[[K | None, int], None]
) -> None:
    """Every interval, writes out the refusals counted but not logged yet (the tail of a flood)."""
    while True:
        await asyncio.sleep(interval_seconds)
        for key, count in tally.drain():
            write(key, count)
