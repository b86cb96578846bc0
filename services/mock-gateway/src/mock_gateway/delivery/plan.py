"""Which webhooks a new payment will get, when, and what each makes true: decided once, at creation,
and stored with the payment so that a restarted gateway carries out the same plan.

Pure: the clock is "seconds after creation", randomness and event ids come in as arguments.
"""

from __future__ import annotations

import dataclasses
import enum
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from mock_gateway.delivery.faults import Fault, FaultRates, draw_faults
from mock_gateway.payments.domain import CAPTURED, Outcome

# how far a reordered event may be pushed back: enough to overtake the next payments' settlements
REORDER_JITTER_SECONDS = 1.0


class Purpose(enum.Enum):
    SETTLEMENT = "settlement"
    DUPLICATE = "duplicate"
    LATE_SUCCESS = "late_success"


@dataclass(frozen=True, slots=True)
class PlannedDelivery:
    event_id: str
    purpose: Purpose
    reports: Outcome  # SUCCESS or FAILED: the `status` of the webhook body
    sets_status: str  # the gateway status that becomes true when this event is due
    after_seconds: float  # due this long after the payment's creation
    copies: int = 1
    fake_timeouts: int = 0
    # held until this event is no longer pending, then for `follow_delay` seconds more
    after_event_id: str | None = None
    follow_delay: float = 0.0


@dataclass(frozen=True, slots=True)
class Plan:
    # the faults that actually shape the deliveries: none for a pending payment, and `late_success`
    # only for one that fails
    faults: frozenset[Fault]
    deliveries: tuple[PlannedDelivery, ...]


@dataclass(slots=True)
class Planner:
    """One run's fault settings and its random source: the per-run draw and the reorder jitter."""

    rates: FaultRates
    settle_delay: float
    fault_delay: float
    new_event_id: Callable[[], str]
    rng: random.Random = field(default_factory=random.Random)

    def plan(self, outcome: Outcome, requested: frozenset[Fault]) -> Plan:
        return plan_deliveries(
            outcome,
            requested | draw_faults(self.rates, self.rng),
            settle_delay=self.settle_delay,
            fault_delay=self.fault_delay,
            rng=self.rng,
            new_event_id=self.new_event_id,
        )


def effective_faults(outcome: Outcome, faults: frozenset[Fault]) -> frozenset[Fault]:
    if not outcome.sends_webhook:
        return frozenset()
    if outcome is not Outcome.FAILED:
        return faults - {Fault.LATE_SUCCESS}
    return faults


def plan_deliveries(
    outcome: Outcome,
    faults: frozenset[Fault],
    *,
    settle_delay: float,
    fault_delay: float,
    rng: random.Random,
    new_event_id: Callable[[], str],
) -> Plan:
    """The deliveries in release order; see `mock_gateway.delivery.faults` for what each fault does."""
    faults = effective_faults(outcome, faults)
    if not outcome.sends_webhook:
        return Plan(faults, ())
    settle_at = settle_delay + (fault_delay if Fault.DELAY in faults else 0.0)
    settlement = PlannedDelivery(
        event_id=new_event_id(),
        purpose=Purpose.SETTLEMENT,
        reports=outcome,
        sets_status=outcome.gateway_status,
        after_seconds=settle_at,
        copies=2 if Fault.DUPLICATE in faults else 1,
        fake_timeouts=1 if Fault.TIMEOUT in faults else 0,
    )
    deliveries = [settlement]
    if Fault.DUPLICATE in faults:
        # it carries the status too: released ahead of the settlement, it must not report an
        # outcome the gateway's own record does not show yet
        deliveries.append(
            PlannedDelivery(new_event_id(), Purpose.DUPLICATE, outcome, outcome.gateway_status, settle_at)
        )
    if Fault.REORDER in faults:
        deliveries = _reversed(deliveries, rng)
    if Fault.LATE_SUCCESS in faults:
        # after the failure was delivered, however long that took: a success that overtook the
        # failure would not be a late success, and the receiver could not tell it was one
        settled = next(d for d in deliveries if d.purpose is Purpose.SETTLEMENT)
        deliveries.append(
            PlannedDelivery(
                new_event_id(),
                Purpose.LATE_SUCCESS,
                Outcome.SUCCESS,
                CAPTURED,
                settled.after_seconds + fault_delay,
                after_event_id=settled.event_id,
                follow_delay=fault_delay,
            )
        )
    return Plan(faults, tuple(deliveries))


def _reversed(deliveries: list[PlannedDelivery], rng: random.Random) -> list[PlannedDelivery]:
    """The same release times handed out last-event-first, each pushed back by its own jitter.

    The jitters are sorted so that they never undo the reversal; with a single event only the
    jitter remains, which still lets it overtake other payments' events.
    """
    times = sorted(d.after_seconds for d in deliveries)
    jitters = sorted(rng.uniform(0.0, REORDER_JITTER_SECONDS) for _ in deliveries)
    releases = [t + j for t, j in zip(times, jitters, strict=True)]
    return [
        dataclasses.replace(delivery, after_seconds=release)
        for delivery, release in zip(reversed(deliveries), releases, strict=True)
    ]
