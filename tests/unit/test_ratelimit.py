"""The token buckets and the refusal tally, on a clock the tests move by hand."""

from __future__ import annotations

import pytest

from payments_common.ratelimit import RateLimiter, RefusalTally, retry_after_header


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def drain(limiter: RateLimiter, key: str) -> int:
    """How many requests pass before the first refusal."""
    passed = 0
    while limiter.acquire(key).allowed:
        passed += 1
        assert passed <= 10_000, "the bucket never ran dry"
    return passed


def test_a_new_key_may_spend_exactly_its_burst(clock: FakeClock) -> None:
    limiter = RateLimiter(10, 5, clock=clock)
    assert drain(limiter, "a") == 5
    assert not limiter.acquire("a").allowed


def test_tokens_come_back_at_the_rate(clock: FakeClock) -> None:
    limiter = RateLimiter(10, 5, clock=clock)
    drain(limiter, "a")
    clock.advance(0.25)  # 2.5 tokens
    assert drain(limiter, "a") == 2
    clock.advance(0.05)  # 0.5 left over + 0.5
    assert limiter.acquire("a").allowed
    assert not limiter.acquire("a").allowed


def test_refill_stops_at_the_burst(clock: FakeClock) -> None:
    limiter = RateLimiter(10, 5, clock=clock)
    limiter.acquire("a")
    clock.advance(3600)
    assert drain(limiter, "a") == 5


def test_a_refusal_takes_nothing(clock: FakeClock) -> None:
    limiter = RateLimiter(1, 1, clock=clock)
    assert limiter.acquire("a").allowed
    for _ in range(100):
        assert not limiter.acquire("a").allowed
    clock.advance(1.0)
    assert limiter.acquire("a").allowed


def test_keys_have_their_own_buckets(clock: FakeClock) -> None:
    limiter = RateLimiter(1, 3, clock=clock)
    assert drain(limiter, "forger") == 3
    assert drain(limiter, "gateway") == 3


def test_retry_after_is_the_time_to_the_next_token(clock: FakeClock) -> None:
    limiter = RateLimiter(4, 2, clock=clock)
    drain(limiter, "a")
    refused = limiter.acquire("a")
    assert refused.retry_after == pytest.approx(0.25)
    assert refused.retry_after_header == "1"  # whole seconds, never 0
    clock.advance(0.1)
    assert limiter.acquire("a").retry_after == pytest.approx(0.15)

    slow = RateLimiter(0.2, 1, clock=clock)
    slow.acquire("b")
    decision = slow.acquire("b")
    assert decision.retry_after == pytest.approx(5.0)
    assert decision.retry_after_header == "5"
    clock.advance(0.5)
    assert slow.acquire("b").retry_after_header == "5"  # 4.5 s rounds up: an earlier retry would fail again


@pytest.mark.parametrize(("seconds", "header"), [(0.0, "1"), (0.001, "1"), (1.0, "1"), (1.01, "2"), (59.5, "60")])
def test_retry_after_header_is_a_whole_number_of_seconds_at_least_one(seconds: float, header: str) -> None:
    assert retry_after_header(seconds) == header


def test_peek_answers_like_acquire_without_spending(clock: FakeClock) -> None:
    limiter = RateLimiter(2, 2, clock=clock)
    assert limiter.peek("a").allowed  # unknown key: a full bucket
    assert len(limiter) == 0  # and looking did not create one
    drain(limiter, "a")
    peeked = limiter.peek("a")
    assert not peeked.allowed
    assert peeked.retry_after == pytest.approx(0.5)
    clock.advance(0.5)
    assert limiter.peek("a").allowed
    assert limiter.peek("a").allowed
    assert limiter.acquire("a").allowed
    assert not limiter.acquire("a").allowed


def test_a_clock_stepping_back_does_not_drain_a_bucket(clock: FakeClock) -> None:
    limiter = RateLimiter(1, 3, clock=clock)
    limiter.acquire("a")
    clock.advance(-100)
    assert drain(limiter, "a") == 2


def test_buckets_idle_long_enough_to_be_full_are_forgotten(clock: FakeClock) -> None:
    limiter = RateLimiter(10, 5, clock=clock)  # an empty bucket is full again after 0.5 s
    for n in range(100):
        limiter.acquire(f"source-{n}")
    assert len(limiter) == 100
    clock.advance(0.4)
    limiter.acquire("fresh")
    assert len(limiter) == 101  # still refilling: kept
    clock.advance(0.1)
    limiter.acquire("fresh")
    assert len(limiter) == 1  # the 100 are as good as new: dropped


def test_the_number_of_keys_is_capped_least_recently_used_first(clock: FakeClock) -> None:
    limiter = RateLimiter(1, 2, max_keys=3, clock=clock)
    for key in ("a", "b", "c"):
        drain(limiter, key)
    limiter.acquire("a")  # "a" is now the most recently used
    limiter.acquire("d")  # a fourth key: "b" goes
    assert len(limiter) == 3
    assert drain(limiter, "b") == 2  # forgotten: a fresh bucket
    assert not limiter.acquire("a").allowed  # remembered: still empty
    assert len(limiter) == 3


def test_memory_stays_bounded_under_many_sources(clock: FakeClock) -> None:
    limiter = RateLimiter(1, 10, max_keys=1000, clock=clock)
    for n in range(50_000):
        limiter.acquire(n)
    assert len(limiter) == 1000


@pytest.mark.parametrize(("rate", "burst", "max_keys"), [(0, 1, 1), (-1, 1, 1), (1, 0, 1), (1, 0.5, 1), (1, 1, 0)])
def test_nonsense_limits_are_refused(rate: float, burst: float, max_keys: int) -> None:
    with pytest.raises(ValueError):
        RateLimiter(rate, burst, max_keys=max_keys)


# --- the refusal tally -----------------------------------------------------------------------


def test_the_first_refusal_is_reported_at_once_then_counted(clock: FakeClock) -> None:
    tally: RefusalTally[str] = RefusalTally(10, clock=clock)
    assert tally.record("a") == 1
    assert [tally.record("a") for _ in range(499)] == [0] * 499
    clock.advance(10)
    assert tally.record("a") == 500  # the 499 held back, and this one
    assert tally.record("a") == 0
    assert tally.record("b") == 1  # another key is reported on its own


def test_drain_hands_over_the_tail_of_a_flood_once(clock: FakeClock) -> None:
    tally: RefusalTally[str] = RefusalTally(10, clock=clock)
    tally.record("a")
    for _ in range(41):
        tally.record("a")
    tally.record("b")
    assert tally.drain() == []  # nothing is due before its interval
    clock.advance(10)
    assert tally.drain() == [("a", 41)]  # "b" had nothing held back
    assert len(tally) == 1  # "b" is forgotten
    clock.advance(10)
    assert tally.drain() == []
    assert len(tally) == 0


def test_the_tally_is_bounded_and_loses_no_count(clock: FakeClock) -> None:
    tally: RefusalTally[int] = RefusalTally(10, max_keys=2, clock=clock)
    for key in (1, 2):
        tally.record(key)
        tally.record(key)  # one held back each
    tally.record(3)  # evicts 1 with its held-back count
    assert len(tally) == 2
    clock.advance(10)
    assert sorted(tally.drain(), key=str) == sorted([(2, 1), (None, 1)], key=str)
