"""Token buckets that hold for the whole system: one bucket per key in Redis, shared by every replica.

`RateLimits.connect(REDIS_URL)` gives the process's limits. With a URL, each `limiter(…)` is a bucket in
Redis: one Lua script (EVALSHA, loaded once) refills it by the time elapsed on Redis's own clock
(`TIME`, so replicas' clocks never disagree), takes a token or not, and answers the wait; two replicas
asking at once are serialised by Redis, so N per second holds across them. A bucket's key expires
once it would have refilled completely, so idle buckets vanish. Key names are a fixed prefix, the
limit's name and a hash of the subject (a key id, an address): nothing presented by a client is a
Redis key as it came.

A fail-open limit of many tokens a second is leased (`payments_common.ratelimit_lease`): each process
takes its tokens from Redis a few at a time and spends them locally, a round trip per lease instead
of per request, never more than the bucket gives. A fail-closed one counts every try in Redis.

Without a URL (empty `REDIS_URL`) each limiter is the in-process `RateLimiter`: right for one process
(a test, a single replica), per replica otherwise.

When Redis does not answer within `timeout` (down, slow, unreachable) a limiter decides by its
`fail_open`: open (allowed) where the limit protects capacity and refusing would turn a Redis outage
into an outage of genuine traffic; closed (refused) where the limit stands between a guesser and a
secret. Each failure counts `ratelimit_store_errors_total{limit}`, and is logged at most once a minute.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Protocol

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.commands.core import AsyncScript
from redis.exceptions import RedisError

from payments_common import metrics
from payments_common.logging import get_logger
from payments_common.ratelimit import Decision, RateLimiter
from payments_common.ratelimit_lease import LeasedLimiter, lease_size

log = get_logger(__name__)

KEY_PREFIX = "payments:ratelimit:"
# how long one decision may wait for Redis before the limiter's fail mode decides
DEFAULT_TIMEOUT_SECONDS = 0.05
# a fail-closed refusal's Retry-After: the store may well be back by then
FAIL_CLOSED_RETRY_AFTER = 1.0
ERROR_LOG_INTERVAL_SECONDS = 60.0

# KEYS[1] the bucket; ARGV rate per second, burst, cost, most. Takes `cost` tokens, or as many whole
# tokens up to `most` as the bucket holds when that is more (a lease, `ratelimit_lease`). Answers
# {1, tokens taken} or {0, wait seconds}, both as strings (a Lua number would come back truncated to an
# integer). A refusal takes nothing and writes nothing.
_TAKE = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local most = tonumber(ARGV[4])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = burst
  at = now
end
local elapsed = now - at
if elapsed < 0 then elapsed = 0 end
tokens = math.min(burst, tokens + elapsed * rate)
if tokens + 1e-9 < cost then
  return {0, tostring((cost - tokens) / rate)}
end
local take = cost
if most > cost then
  take = math.max(cost, math.min(most, math.floor(tokens + 1e-9)))
end
tokens = tokens - take
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / rate * 1000) + 1000)
return {1, tostring(take)}
"""


class Limiter(Protocol):
    name: str

    async def acquire(self, key: Hashable, cost: float = 1.0) -> Decision: ...


@dataclass(slots=True)
class LocalLimiter:
    """This process's buckets (`payments_common.ratelimit`), behind the same interface as Redis's."""

    name: str
    buckets: RateLimiter

    async def acquire(self, key: Hashable, cost: float = 1.0) -> Decision:
        return self.buckets.acquire(key, cost)


@dataclass(slots=True)
class _ErrorLog:
    """At most one line per interval about the store failing, with the count since the last one."""

    interval: float = ERROR_LOG_INTERVAL_SECONDS
    last: float = field(default=-float("inf"))
    since: int = 0

    def failed(self, limit: str, fail_open: bool, error: BaseException) -> None:
        metrics.ratelimit_store_error(limit)
        self.since += 1
        now = time.monotonic()
        if now - self.last >= self.interval:
            log.warning(
                "ratelimit.store_unavailable",
                limit=limit,
                fail="open" if fail_open else "closed",
                failures=self.since,
                error=type(error).__name__,
            )
            self.last, self.since = now, 0


@dataclass(slots=True)
class RedisLimiter:
    name: str
    rate: float
    burst: float
    fail_open: bool
    client: aioredis.Redis
    timeout: float
    errors: _ErrorLog
    _script: AsyncScript | None = None

    def key(self, subject: Hashable) -> str:
        digest = hashlib.blake2b(repr(subject).encode(), digest_size=16).hexdigest()
        return f"{KEY_PREFIX}{self.name}:{digest}"

    async def acquire(self, key: Hashable, cost: float = 1.0) -> Decision:
        decision, _ = await self.take(key, cost, cost)
        return decision

    async def take(self, key: Hashable, cost: float, most: float) -> tuple[Decision, float]:
        """The decision on `cost` tokens, and how many were taken: up to `most` when the bucket holds
        them, none when refused or when the store failed (and the fail mode decided)."""
        try:
            allowed, value = await asyncio.wait_for(self._take(self.key(key), cost, most), self.timeout)
        except (RedisError, OSError, TimeoutError) as error:
            self.errors.failed(self.name, self.fail_open, error)
            return (Decision(True) if self.fail_open else Decision(False, FAIL_CLOSED_RETRY_AFTER)), 0.0
        if int(allowed):
            return Decision(True), float(value)
        return Decision(False, float(value)), 0.0

    async def _take(self, key: str, cost: float, most: float) -> tuple[int, bytes]:
        if self._script is None:
            self._script = self.client.register_script(_TAKE)
        args = [repr(self.rate), repr(self.burst), repr(float(cost)), repr(float(most))]
        allowed, value = await self._script(keys=[key], args=args)
        return int(allowed), value


class RateLimits:
    """The process's limits: in Redis when there is a URL, in memory otherwise."""

    def __init__(self, client: aioredis.Redis | None, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> None:
        self.client = client
        self.timeout = timeout
        self._errors = _ErrorLog()

    @classmethod
    def connect(cls, url: str, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> RateLimits:
        """No connection is made here: the first decision connects, and a store that is down only
        makes decisions fall back to their fail mode."""
        if not url:
            return cls(None, timeout)
        client = aioredis.Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 0),
            health_check_interval=0,
        )
        return cls(client, timeout)

    @property
    def shared(self) -> bool:
        return self.client is not None

    def limiter(self, name: str, rate_per_second: float, burst: float, *, fail_open: bool) -> Limiter:
        if self.client is None:
            return LocalLimiter(name, RateLimiter(rate_per_second, burst))
        if rate_per_second <= 0 or burst < 1:
            raise ValueError("rate_per_second must be > 0 and burst at least 1")
        shared = RedisLimiter(
            name, float(rate_per_second), float(burst), fail_open, self.client, self.timeout, self._errors
        )
        # only a limit that protects capacity may be leased: one that stands between a guesser and a
        # secret must count every try where every replica sees it
        size = lease_size(rate_per_second, burst)
        return LeasedLimiter(shared, size) if fail_open and size > 1 else shared

    async def close(self) -> None:
        if self.client is not None:
            await self.client.aclose()
