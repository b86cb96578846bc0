"""The delivery plan of a new payment: which events, when, what each reports and makes true."""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable

import pytest

from mock_gateway.delivery.faults import Fault, parse_fault_rates
from mock_gateway.delivery.plan import REORDER_JITTER_SECONDS, Plan, Planner, Purpose, plan_deliveries
from mock_gateway.payments.domain import Outcome

SETTLE = 0.2
FAULT_DELAY = 3.0


def event_ids() -> Callable[[], str]:
    counter = itertools.count(1)
    return lambda: f"evt_{next(counter)}"


def plan(outcome: Outcome, *faults: Fault, seed: int = 1) -> Plan:
    return plan_deliveries(
        outcome,
        frozenset(faults),
        settle_delay=SETTLE,
        fault_delay=FAULT_DELAY,
        rng=random.Random(seed),
        new_event_id=event_ids(),
    )


@pytest.mark.parametrize(("outcome", "status"), [(Outcome.SUCCESS, "captured"), (Outcome.FAILED, "failed")])
def test_without_faults_one_settlement(outcome: Outcome, status: str) -> None:
    result = plan(outcome)
    assert result.faults == frozenset()
    [settlement] = result.deliveries
    assert (settlement.purpose, settlement.reports, settlement.sets_status) == (Purpose.SETTLEMENT, outcome, status)
    assert (settlement.after_seconds, settlement.copies, settlement.fake_timeouts) == (SETTLE, 1, 0)
    assert settlement.after_event_id is None


def test_pending_plans_nothing_whatever_the_faults() -> None:
    result = plan(Outcome.PENDING, *Fault)
    assert result == Plan(frozenset(), ())


def test_duplicate_sends_two_copies_and_a_new_event_with_the_same_outcome() -> None:
    result = plan(Outcome.SUCCESS, Fault.DUPLICATE)
    assert result.faults == {Fault.DUPLICATE}
    settlement, duplicate = result.deliveries
    assert (settlement.purpose, settlement.copies) == (Purpose.SETTLEMENT, 2)
    assert (duplicate.purpose, duplicate.copies) == (Purpose.DUPLICATE, 1)
    assert duplicate.event_id != settlement.event_id
    assert (duplicate.reports, duplicate.sets_status) == (settlement.reports, settlement.sets_status)
    assert duplicate.after_seconds == settlement.after_seconds


def test_delay_holds_the_settlement() -> None:
    [settlement] = plan(Outcome.FAILED, Fault.DELAY).deliveries
    assert settlement.after_seconds == SETTLE + FAULT_DELAY


def test_timeout_fakes_the_settlements_first_try() -> None:
    [settlement] = plan(Outcome.SUCCESS, Fault.TIMEOUT).deliveries
    assert settlement.fake_timeouts == 1


def test_late_success_follows_the_failure() -> None:
    result = plan(Outcome.FAILED, Fault.LATE_SUCCESS)
    assert result.faults == {Fault.LATE_SUCCESS}
    failure, late = result.deliveries
    assert (failure.purpose, failure.reports, failure.sets_status) == (Purpose.SETTLEMENT, Outcome.FAILED, "failed")
    assert (late.purpose, late.reports, late.sets_status) == (Purpose.LATE_SUCCESS, Outcome.SUCCESS, "captured")
    assert late.event_id != failure.event_id
    assert late.after_event_id == failure.event_id
    assert late.follow_delay == FAULT_DELAY
    assert late.after_seconds == SETTLE + FAULT_DELAY


def test_late_success_needs_a_failure() -> None:
    result = plan(Outcome.SUCCESS, Fault.LATE_SUCCESS, Fault.DUPLICATE)
    assert result.faults == {Fault.DUPLICATE}
    assert Purpose.LATE_SUCCESS not in {d.purpose for d in result.deliveries}


@pytest.mark.parametrize("seed", range(20))
def test_reorder_releases_the_events_last_first(seed: int) -> None:
    result = plan(Outcome.SUCCESS, Fault.DUPLICATE, Fault.REORDER, seed=seed)
    first, second = result.deliveries
    assert (first.purpose, second.purpose) == (Purpose.DUPLICATE, Purpose.SETTLEMENT)
    assert SETTLE <= first.after_seconds <= second.after_seconds < SETTLE + REORDER_JITTER_SECONDS


@pytest.mark.parametrize("seed", range(20))
def test_reorder_alone_jitters_the_settlement(seed: int) -> None:
    [settlement] = plan(Outcome.SUCCESS, Fault.REORDER, seed=seed).deliveries
    assert SETTLE <= settlement.after_seconds < SETTLE + REORDER_JITTER_SECONDS


def test_reorder_jitter_varies() -> None:
    times = {plan(Outcome.SUCCESS, Fault.REORDER, seed=seed).deliveries[0].after_seconds for seed in range(20)}
    assert len(times) == 20


@pytest.mark.parametrize("seed", range(20))
def test_reorder_keeps_a_late_success_behind_its_failure(seed: int) -> None:
    result = plan(Outcome.FAILED, Fault.LATE_SUCCESS, Fault.REORDER, Fault.DUPLICATE, seed=seed)
    assert [d.purpose for d in result.deliveries] == [Purpose.DUPLICATE, Purpose.SETTLEMENT, Purpose.LATE_SUCCESS]
    _, settlement, late = result.deliveries
    assert late.after_event_id == settlement.event_id
    assert late.after_seconds == settlement.after_seconds + FAULT_DELAY


def test_every_fault_at_once() -> None:
    result = plan(Outcome.FAILED, *Fault)
    assert result.faults == set(Fault)
    by_purpose = {d.purpose: d for d in result.deliveries}
    assert set(by_purpose) == set(Purpose)
    settlement = by_purpose[Purpose.SETTLEMENT]
    assert (settlement.copies, settlement.fake_timeouts) == (2, 1)
    assert settlement.after_seconds >= SETTLE + FAULT_DELAY
    assert len({d.event_id for d in result.deliveries}) == 3


def test_the_planner_adds_the_per_run_draw_to_the_requested_faults() -> None:
    planner = Planner(
        rates=parse_fault_rates("timeout=1"),
        settle_delay=SETTLE,
        fault_delay=FAULT_DELAY,
        new_event_id=event_ids(),
        rng=random.Random(5),
    )
    result = planner.plan(Outcome.SUCCESS, frozenset({Fault.DUPLICATE}))
    assert result.faults == {Fault.DUPLICATE, Fault.TIMEOUT}


def test_a_seeded_planner_replays_its_plans() -> None:
    def plans(seed: int) -> list[Plan]:
        planner = Planner(
            rates=parse_fault_rates("duplicate=0.5,reorder=0.5,late_success=0.5"),
            settle_delay=SETTLE,
            fault_delay=FAULT_DELAY,
            new_event_id=event_ids(),
            rng=random.Random(seed),
        )
        return [planner.plan(Outcome.FAILED, frozenset()) for _ in range(30)]

    assert plans(9) == plans(9)
    assert plans(9) != plans(10)
