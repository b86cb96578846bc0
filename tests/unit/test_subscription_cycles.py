"""The pure rules of subscriptions: billing periods and the cycles they cut, the retry schedule, and the
state machine's answers to settled charges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from order_svc.settings import parse_retry_days
from order_svc.subscriptions.domain import (
    ACTIVATED,
    AUTHENTICATED,
    CHARGED,
    COMPLETED,
    HALTED,
    MOVES,
    PENDING,
    Billing,
    SubscriptionStatus,
    add_months,
    charge_failed,
    charge_request_id,
    charge_succeeded,
    cycles_to_invoice,
    expired,
    retry_at,
    token_of,
)

S = SubscriptionStatus
JAN_31 = datetime(2027, 1, 31, 9, 30, tzinfo=UTC)
moments = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC))


def test_a_monthly_cycle_keeps_its_day_where_the_month_has_it() -> None:
    billing = Billing(JAN_31, "monthly", 1, 12)
    starts = [billing.cycle_start(cycle).date().isoformat() for cycle in range(1, 5)]
    # clamped to February's last day, then back on the 31st: computed from the anchor, never chained
    assert starts == ["2027-01-31", "2027-02-28", "2027-03-31", "2027-04-30"]
    assert billing.cycle_end(1) == billing.cycle_start(2)
    assert billing.end_at == datetime(2028, 1, 31, 9, 30, tzinfo=UTC)


def test_leap_years_and_the_other_periods() -> None:
    assert add_months(datetime(2028, 1, 31, tzinfo=UTC), 1).day == 29
    assert Billing(datetime(2028, 2, 29, tzinfo=UTC), "yearly", 1, 5).cycle_start(2) == datetime(
        2029, 2, 28, tzinfo=UTC
    )
    start = datetime(2027, 3, 1, tzinfo=UTC)
    assert Billing(start, "daily", 3, 5).cycle_start(3) == start + timedelta(days=6)
    assert Billing(start, "weekly", 2, 5).cycle_start(2) == start + timedelta(weeks=2)
    with pytest.raises(ValueError, match="numbered from 1"):
        Billing(start, "daily", 1, 5).cycle_start(0)


@given(start=moments, months=st.integers(0, 600))
def test_add_months_lands_in_the_right_month_on_the_nearest_day(start: datetime, months: int) -> None:
    moved = add_months(start, months)
    assert (moved.year * 12 + moved.month) - (start.year * 12 + start.month) == months
    assert moved.day == start.day or (moved.day < start.day and (moved + timedelta(days=1)).day == 1)
    assert moved.time() == start.time()


@given(
    start=moments,
    period=st.sampled_from(["daily", "weekly", "monthly", "yearly"]),
    interval=st.integers(1, 12),
    total=st.integers(1, 30),
    next_cycle=st.integers(1, 31),
    hours=st.integers(0, 24 * 365 * 3),
)
def test_the_due_cycles_are_exactly_those_started_by_now(
    start: datetime, period: str, interval: int, total: int, next_cycle: int, hours: int
) -> None:
    billing = Billing(start, period, interval, total)
    now = start + timedelta(hours=hours)
    due = billing.due_cycles(next_cycle, now)
    assert due == [cycle for cycle in range(next_cycle, total + 1) if billing.cycle_start(cycle) <= now]
    # cycles strictly increase in time, and each ends where the next starts
    assert all(billing.cycle_start(c) < billing.cycle_start(c + 1) for c in range(1, total + 1))
    current = billing.current_cycle(now)
    assert current == len([c for c in range(1, total + 1) if billing.cycle_start(c) <= now])
    # catching up charges every missed cycle; skipping charges only the latest
    assert cycles_to_invoice(billing, next_cycle, now, catch_up=True) == due
    assert cycles_to_invoice(billing, next_cycle, now, catch_up=False) == due[-1:]


def test_the_retry_schedule_then_nothing() -> None:
    failed = datetime(2027, 5, 1, tzinfo=UTC)
    days = (1, 3, 5)
    assert [retry_at(failed, n, days) for n in (1, 2, 3)] == [failed + timedelta(days=d) for d in days]
    assert retry_at(failed, 4, days) is None
    assert retry_at(failed, 1, ()) is None


def test_retry_days_from_the_setting() -> None:
    assert parse_retry_days("1,3,5") == (1, 3, 5)
    assert parse_retry_days(" 2 , 7 ") == (2, 7)
    assert parse_retry_days("") == ()
    for bad in ("0", "1,x", "61", "-1", "1.5"):
        with pytest.raises(ValueError, match="SUBSCRIPTION_RETRY_DAYS"):
            parse_retry_days(bad)


def test_the_first_charge_authenticates_and_activates() -> None:
    settled = charge_succeeded(S.CREATED, 1, 12)
    assert settled.status is S.ACTIVE
    assert settled.events == (AUTHENTICATED, ACTIVATED, CHARGED)


def test_a_charge_of_an_active_subscription_is_only_a_charge_until_the_last() -> None:
    assert charge_succeeded(S.ACTIVE, 5, 12).events == (CHARGED,)
    last = charge_succeeded(S.ACTIVE, 12, 12)
    assert (last.status, last.events) == (S.COMPLETED, (CHARGED, COMPLETED))
    # a one-cycle subscription completes with its first payment
    assert charge_succeeded(S.CREATED, 1, 1).events == (AUTHENTICATED, ACTIVATED, CHARGED, COMPLETED)


def test_failures_go_pending_then_halted_and_a_success_brings_it_back() -> None:
    failed = datetime(2027, 5, 1, tzinfo=UTC)
    days = (1, 3, 5)
    first = charge_failed(S.ACTIVE, 1, failed, days)
    assert (first.status, first.events, first.retry_at) == (S.PENDING, (PENDING,), failed + timedelta(days=1))
    # told once: a second failure while pending is only a new retry
    second = charge_failed(S.PENDING, 2, failed, days)
    assert (second.status, second.events) == (S.PENDING, ())
    last = charge_failed(S.PENDING, 4, failed, days)
    assert (last.status, last.events, last.retry_at) == (S.HALTED, (HALTED,), None)
    back = charge_succeeded(S.PENDING, 3, 12)
    assert (back.status, back.events) == (S.ACTIVE, (ACTIVATED, CHARGED))
    # an ended subscription is moved by nothing
    assert charge_failed(S.CANCELLED, 1, failed, days).status is S.CANCELLED
    assert charge_succeeded(S.CANCELLED, 2, 12).events == ()


@given(st.lists(st.booleans(), max_size=12))
def test_every_settled_move_is_one_the_state_machine_allows(outcomes: list[bool]) -> None:
    status, attempts, cycle = S.CREATED, 0, 1
    now = datetime(2027, 1, 1, tzinfo=UTC)
    for succeeded in outcomes:
        if status in (S.COMPLETED, S.HALTED):
            break
        if succeeded:
            settled = charge_succeeded(status, cycle, 6)
            cycle, attempts = cycle + 1, 0
        elif status is S.CREATED:
            continue  # the customer's failed first payment moves nothing: they try again
        else:
            attempts += 1
            settled = charge_failed(status, attempts, now, (1, 3, 5))
        # one move, or two through a status the change passes (created, authenticated, active; active, completed)
        after = settled.status
        assert after is status or after in MOVES[status] or any(after in MOVES[mid] for mid in MOVES[status])
        status = settled.status


def test_expiry_only_of_an_unauthenticated_subscription() -> None:
    now = datetime(2027, 1, 1, tzinfo=UTC)
    assert expired(S.CREATED, now, now)
    assert not expired(S.CREATED, now + timedelta(seconds=1), now)
    assert not expired(S.ACTIVE, now, now)
    assert not expired(S.CREATED, None, now)


def test_a_charge_request_id_is_fixed_by_invoice_and_attempt() -> None:
    assert charge_request_id("inv_a", 1) == charge_request_id("inv_a", 1)
    assert len({charge_request_id("inv_a", 1), charge_request_id("inv_a", 2), charge_request_id("inv_b", 1)}) == 3
    assert token_of("gw_0190") == "token_0190"
