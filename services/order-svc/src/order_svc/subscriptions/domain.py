"""The rules of plans and subscriptions: billing periods and the cycles they cut, the subscription's state
machine, and what a settled charge moves it to. Pure: no I/O.

A cycle's start is always computed from the subscription's `start_at`, never from the previous cycle's
start, so a monthly subscription started on 31 January bills on 28 (or 29) February and again on 31
March, not on the 28th of every month after February."""

from __future__ import annotations

import calendar
import enum
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Literal

from payments_common.events import MerchantEventName

PLAN: Final = "plan"
SUBSCRIPTION: Final = "sub"
INVOICE: Final = "inv"
TEST_CLOCK: Final = "clock"
_ID = re.compile(r"^(plan|sub|inv|clock)_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

Period = Literal["daily", "weekly", "monthly", "yearly"]
PERIODS: Final[tuple[str, ...]] = ("daily", "weekly", "monthly", "yearly")

# after a failed charge, the waits before each retry; then the subscription halts
DEFAULT_RETRY_DAYS: Final[tuple[int, ...]] = (1, 3, 5)

# the namespace of the request ids of charges: uuid5(namespace, "<invoice id>/<attempt>")
_CHARGE_NAMESPACE: Final = uuid.UUID("5b0c7a8e-3f7e-4d58-9a0e-2f1b6f0c9d41")


def is_id(prefix: str, value: object) -> bool:
    return isinstance(value, str) and value.startswith(prefix + "_") and bool(_ID.match(value))


def charge_request_id(invoice_id: str, attempt: int) -> uuid.UUID:
    """The request id of an invoice's `attempt`-th charge: payment-svc answers a request id it has seen
    with the attempt it made then, so a charge resent (by a second scheduler, or after a crash between
    sending it and recording its answer) never makes a second payment."""
    return uuid.uuid5(_CHARGE_NAMESPACE, f"{invoice_id}/{attempt}")


def token_of(gateway_payment_id: str) -> str:
    """The gateway's reusable token of a payment it settled: `token_` and the gateway payment's own id
    (the mock gateway charges a token by the payment it was saved from)."""
    return "token_" + gateway_payment_id.removeprefix("gw_")


def cycle_order_request_id(invoice_id: str) -> uuid.UUID:
    return uuid.uuid5(_CHARGE_NAMESPACE, f"{invoice_id}/order")


# --- periods and cycles ------------------------------------------------------------------------------


def add_months(moment: datetime, months: int) -> datetime:
    """`moment` `months` calendar months later, its day clamped to the last day of a shorter month."""
    index = moment.year * 12 + (moment.month - 1) + months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def advance(anchor: datetime, period: str, interval: int, steps: int) -> datetime:
    """`anchor` moved by `steps` billing periods of `interval` `period`s each."""
    count = interval * steps
    if period == "daily":
        return anchor + timedelta(days=count)
    if period == "weekly":
        return anchor + timedelta(weeks=count)
    if period == "monthly":
        return add_months(anchor, count)
    if period == "yearly":
        return add_months(anchor, 12 * count)
    raise ValueError(f"unknown period {period!r}")


@dataclass(frozen=True, slots=True)
class Billing:
    """How a subscription's cycles are cut: from `start_at`, every `interval` `period`s, `total_count` times."""

    start_at: datetime
    period: str
    interval: int
    total_count: int

    def cycle_start(self, cycle: int) -> datetime:
        """Cycle 1 starts at `start_at`."""
        if cycle < 1:
            raise ValueError("cycles are numbered from 1")
        return advance(self.start_at, self.period, self.interval, cycle - 1)

    def cycle_end(self, cycle: int) -> datetime:
        return self.cycle_start(cycle + 1)

    @property
    def end_at(self) -> datetime:
        return self.cycle_end(self.total_count)

    def due_cycles(self, next_cycle: int, now: datetime) -> list[int]:
        """The cycles from `next_cycle` on that have started by `now` (at most `total_count`)."""
        due = []
        cycle = next_cycle
        while cycle <= self.total_count and self.cycle_start(cycle) <= now:
            due.append(cycle)
            cycle += 1
        return due

    def current_cycle(self, now: datetime) -> int:
        """The cycle `now` falls in (0 before the first starts), at most `total_count`."""
        cycle = 0
        while cycle < self.total_count and self.cycle_start(cycle + 1) <= now:
            cycle += 1
        return cycle


def cycles_to_invoice(billing: Billing, next_cycle: int, now: datetime, *, catch_up: bool) -> list[int]:
    """Which of the cycles due by `now` are invoiced and charged: all of them when catching up, else only
    the latest (the missed ones are passed over, uncharged)."""
    due = billing.due_cycles(next_cycle, now)
    return due if catch_up or not due else due[-1:]


def retry_at(failed_at: datetime, attempts: int, retry_days: Sequence[int]) -> datetime | None:
    """When the charge after the `attempts`-th failed one is made; None once the retries are exhausted."""
    if attempts < 1 or attempts > len(retry_days):
        return None
    return failed_at + timedelta(days=retry_days[attempts - 1])


# --- the state machine -------------------------------------------------------------------------------


class SubscriptionStatus(enum.StrEnum):
    CREATED = "created"
    AUTHENTICATED = "authenticated"
    ACTIVE = "active"
    PENDING = "pending"
    HALTED = "halted"
    CANCELLED = "cancelled"
    PAUSED = "paused"
    COMPLETED = "completed"
    EXPIRED = "expired"


S = SubscriptionStatus
ENDED: Final = frozenset({S.CANCELLED, S.COMPLETED, S.EXPIRED})
# where each status may move to
MOVES: Final[dict[SubscriptionStatus, frozenset[SubscriptionStatus]]] = {
    S.CREATED: frozenset({S.AUTHENTICATED, S.CANCELLED, S.EXPIRED}),
    S.AUTHENTICATED: frozenset({S.ACTIVE, S.CANCELLED}),
    S.ACTIVE: frozenset({S.PENDING, S.PAUSED, S.CANCELLED, S.COMPLETED}),
    S.PENDING: frozenset({S.ACTIVE, S.HALTED, S.CANCELLED}),
    S.HALTED: frozenset({S.ACTIVE, S.CANCELLED}),
    S.PAUSED: frozenset({S.ACTIVE, S.CANCELLED}),
    S.CANCELLED: frozenset(),
    S.COMPLETED: frozenset(),
    S.EXPIRED: frozenset(),
}

# the merchant events of the subscription's moves
AUTHENTICATED: MerchantEventName = "subscription.authenticated"
ACTIVATED: MerchantEventName = "subscription.activated"
CHARGED: MerchantEventName = "subscription.charged"
PENDING: MerchantEventName = "subscription.pending"
HALTED: MerchantEventName = "subscription.halted"
CANCELLED: MerchantEventName = "subscription.cancelled"
COMPLETED: MerchantEventName = "subscription.completed"


def can_move(before: SubscriptionStatus, after: SubscriptionStatus) -> bool:
    return after in MOVES[before]


# the error code of a request the subscription's status refuses
NOT_CHANGEABLE: Final = "SUBSCRIPTION_NOT_CHANGEABLE"


class RefusedMove(Exception):
    """A request the subscription's status refuses (pause a cancelled one, resume an active one…)."""


def check_move(before: SubscriptionStatus, after: SubscriptionStatus, action: str) -> None:
    if not can_move(before, after):
        raise RefusedMove(f"a {before.value} subscription cannot be {action}")


@dataclass(frozen=True, slots=True)
class Settled:
    """What a settled charge moves the subscription to, and the merchant events it tells, in order."""

    status: SubscriptionStatus
    events: tuple[MerchantEventName, ...]
    # the invoice's next charge (a retry), when one is to be made
    retry_at: datetime | None = None


def charge_succeeded(status: SubscriptionStatus, cycle: int, total_count: int) -> Settled:
    """A cycle's charge succeeded: the first authenticates and activates the subscription, a retry's
    success brings a pending or halted one back, the last cycle completes it."""
    events: list[MerchantEventName] = []
    after = status
    if status is S.CREATED:
        events += [AUTHENTICATED, ACTIVATED]
        after = S.ACTIVE
    elif status in (S.PENDING, S.HALTED):
        events.append(ACTIVATED)
        after = S.ACTIVE
    if status not in ENDED:
        events.append(CHARGED)
    if after is S.ACTIVE and cycle >= total_count:
        events.append(COMPLETED)
        after = S.COMPLETED
    return Settled(after, tuple(events))


def charge_failed(status: SubscriptionStatus, attempts: int, failed_at: datetime, retry_days: Sequence[int]) -> Settled:
    """A cycle's `attempts`-th charge failed: retried on the schedule while the subscription is pending,
    halted once the retries are exhausted."""
    when = retry_at(failed_at, attempts, retry_days)
    if status in ENDED or status is S.PAUSED:
        return Settled(status, (), when)
    if when is None:
        return Settled(S.HALTED, (HALTED,) if status is not S.HALTED else ())
    return Settled(S.PENDING, (PENDING,) if status is not S.PENDING else (), when)


def expired(status: SubscriptionStatus, expire_by: datetime | None, now: datetime) -> bool:
    """A subscription never authenticated by its `expire_by` expires."""
    return status is S.CREATED and expire_by is not None and expire_by <= now


# --- the entities, as the repository reads them ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Plan:
    id: str
    merchant_id: str
    period: str
    interval: int
    item_name: str
    item_description: str | None
    amount: int
    currency: str
    notes: dict[str, Any] | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Subscription:
    id: str
    merchant_id: str
    plan_id: str
    status: SubscriptionStatus
    total_count: int
    quantity: int
    start_at: datetime
    expire_by: datetime | None
    notes: dict[str, Any] | None
    test_clock_id: str | None
    catch_up: bool
    token: str | None
    next_cycle: int
    next_charge_at: datetime
    paid_count: int
    cancel_at_cycle_end: bool
    ended_at: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Invoice:
    id: str
    subscription_id: str
    cycle: int
    order_id: str
    billing_start: datetime
    billing_end: datetime
    status: str
    attempts: int
    next_attempt_at: datetime | None
    payment_id: str | None
    paid_at: datetime | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class FrozenClock:
    id: str
    merchant_id: str
    name: str | None
    frozen_time: datetime
    created_at: datetime


def billing_of(subscription: Subscription, plan: Plan) -> Billing:
    return Billing(subscription.start_at, plan.period, plan.interval, subscription.total_count)
