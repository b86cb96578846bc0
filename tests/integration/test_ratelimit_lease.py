"""Leased limits on this machine's Redis: a fast, fail-open limit is spent from leases taken a few
tokens at a time, never lets more through than its shared bucket holds, and asks Redis once per lease
(counted by Redis itself, `INFO commandstats`), not once per request."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable

import pytest
import redis.asyncio as aioredis

from payments_common.ratelimit_lease import LeasedLimiter, lease_size
from payments_common.ratelimit_store import RateLimits, RedisLimiter

from .conftest import REDIS_URL

pytestmark = pytest.mark.integration


@pytest.fixture
async def script_calls() -> AsyncIterator[Callable[[], asyncio.Future[int]]]:
    """The number of EVALSHA calls Redis has served, machine-wide: read before and after a test's burst
    (nothing else on the test machine runs scripts against this Redis meanwhile)."""
    client = aioredis.Redis.from_url(REDIS_URL)

    async def read() -> int:
        stats = await client.info("commandstats")
        return int(stats.get("cmdstat_evalsha", {}).get("calls", 0))

    yield lambda: asyncio.ensure_future(read())
    await client.aclose()


def name() -> str:
    return f"it-lease-{uuid.uuid4().hex[:12]}"


def test_only_fast_fail_open_limits_are_leased() -> None:
    store = RateLimits.connect(REDIS_URL)
    assert isinstance(store.limiter(name(), 1000, 2000, fail_open=True), LeasedLimiter)
    # a slow limit's lease would be one token: it stays exact
    assert isinstance(store.limiter(name(), 20, 40, fail_open=True), RedisLimiter)
    # a guesser's limit counts every try where every replica sees it
    assert isinstance(store.limiter(name(), 1000, 2000, fail_open=False), RedisLimiter)
    assert lease_size(1000, 2000) == 20
    assert lease_size(1_000_000, 1_000_000) == 32
    assert lease_size(1000, 5) == 5


async def test_a_lease_round_trip_serves_many_requests(
    replicas: Callable[[], RateLimits], script_calls: Callable[[], asyncio.Future[int]]
) -> None:
    limiter = replicas().limiter(name(), 1000, 2000, fail_open=True)
    assert isinstance(limiter, LeasedLimiter) and limiter.size == 20
    await limiter.acquire("warm-up: the script is loaded")
    before = await script_calls()
    answers = [await limiter.acquire("merchant") for _ in range(200)]
    calls = await script_calls() - before
    assert all(answer.allowed for answer in answers)
    assert calls == 10  # 200 requests, leases of 20


async def test_concurrent_requests_wait_for_one_refill(
    replicas: Callable[[], RateLimits], script_calls: Callable[[], asyncio.Future[int]]
) -> None:
    limiter = replicas().limiter(name(), 1000, 2000, fail_open=True)
    await limiter.acquire("warm-up: the script is loaded")
    before = await script_calls()
    answers = await asyncio.gather(*(limiter.acquire("source") for _ in range(100)))
    calls = await script_calls() - before
    assert all(answer.allowed for answer in answers)
    # one refill at a time: 100 requests in leases of 20, not 100 round trips
    assert calls == 5


async def test_replicas_leasing_never_pass_more_than_the_bucket(
    replicas: Callable[[], RateLimits], script_calls: Callable[[], asyncio.Future[int]]
) -> None:
    rate, burst = 500.0, 100
    limit = name()
    limiters = [store.limiter(limit, rate, burst, fail_open=True) for store in (replicas(), replicas(), replicas())]
    assert all(isinstance(limiter, LeasedLimiter) and limiter.size == 10 for limiter in limiters)
    before = await script_calls()
    started = time.monotonic()
    answers = await asyncio.gather(*(limiters[n % 3].acquire("merchant") for n in range(600)))
    elapsed = time.monotonic() - started
    calls = await script_calls() - before
    allowed = sum(answer.allowed for answer in answers)
    # every token spent was taken from the shared bucket: its burst and what refilled meanwhile
    assert allowed <= burst + rate * elapsed + 1
    # and leases cost little of it: at most a lease per replica unspent
    assert allowed >= burst - 3 * 10
    refused = [answer for answer in answers if not answer.allowed]
    assert refused and all(0 < answer.retry_after <= 1 / rate + 1e-6 for answer in refused)
    # a refusal is remembered for its wait: the flood past the limit does not ask Redis per request. What
    # it does ask grows with the run's length (a refill per token or refusal wait, 2 ms here), so the
    # bound is a share of the requests, not a count that holds only on a machine that sends 600 in 90 ms
    assert calls < len(answers) / 2


async def test_a_leased_limit_fails_open_without_queueing_on_the_store(silent_redis: str) -> None:
    """A Redis that accepts and never answers: each round trip costs the store's whole timeout."""
    store = RateLimits.connect(silent_redis)
    try:
        limiter = store.limiter(name(), 1000, 2000, fail_open=True)
        started = time.monotonic()
        answers = await asyncio.gather(*(limiter.acquire("source") for _ in range(100)))
        elapsed = time.monotonic() - started
        assert all(answer.allowed for answer in answers)
        # a timeout per lease's worth (5 here), not one after another for each of the 100 waiting
        assert elapsed < 100 * store.timeout / 4
    finally:
        await store.close()
