"""The lease's bookkeeping over an in-memory shared bucket (the Redis one is tested in
tests/integration/test_ratelimit_lease.py): what it spends, when it asks, what it forgets."""

from __future__ import annotations

import asyncio
from collections.abc import Hashable

import pytest

from payments_common import ratelimit_lease
from payments_common.ratelimit import Decision
from payments_common.ratelimit_lease import LeasedLimiter


class Bucket:
    """`budget` tokens per key, never refilled; `down` answers as a failed, fail-open store does."""

    name = "test"

    def __init__(self, budget: int, *, down: bool = False) -> None:
        self.budget = budget
        self.down = down
        self.left: dict[Hashable, int] = {}
        self.takes = 0

    async def acquire(self, key: Hashable, cost: float = 1.0) -> Decision:
        decision, _ = await self.take(key, cost, cost)
        return decision

    async def take(self, key: Hashable, cost: float, most: float) -> tuple[Decision, float]:
        self.takes += 1
        await asyncio.sleep(0)
        if self.down:
            return Decision(True), 0.0
        left = self.left.get(key, self.budget)
        if left < cost:
            return Decision(False, 0.5), 0.0
        taken = min(left, int(most))
        self.left[key] = left - taken
        return Decision(True), float(taken)


async def test_it_spends_exactly_what_it_took_and_asks_once_per_lease() -> None:
    bucket = Bucket(budget=25)
    limiter = LeasedLimiter(bucket, size=10)
    answers = [await limiter.acquire("merchant") for _ in range(40)]
    assert sum(answer.allowed for answer in answers) == 25
    # 10 + 10 + 5 taken, then one refusal remembered for its wait: 4 round trips for 40 requests
    assert bucket.takes == 4
    assert all(answer.retry_after > 0 for answer in answers[25:])


async def test_a_failed_store_grants_a_lease_so_waiters_do_not_queue_on_it() -> None:
    bucket = Bucket(budget=0, down=True)
    limiter = LeasedLimiter(bucket, size=10)
    answers = await asyncio.gather(*(limiter.acquire("source") for _ in range(30)))
    assert all(answer.allowed for answer in answers)
    assert bucket.takes == 3


async def test_expired_keys_are_forgotten_and_the_table_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ratelimit_lease, "PURGE_ABOVE", 8)
    bucket = Bucket(budget=100)
    limiter = LeasedLimiter(bucket, size=5, ttl=0.0)  # every lease expires at once
    for n in range(100):
        assert (await limiter.acquire(f"source-{n}")).allowed
    assert limiter.keys_held <= 9


async def test_a_cost_other_than_one_is_not_leased() -> None:
    bucket = Bucket(budget=10)
    limiter = LeasedLimiter(bucket, size=5)
    assert (await limiter.acquire("merchant", cost=3.0)).allowed
    assert bucket.left["merchant"] == 7 and limiter.keys_held == 0
