"""/v1 plans', subscriptions', invoices' and test clocks' requests and answers, with Razorpay's field names
(and Stripe's for test clocks, which Razorpay has no equivalent of)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

from order_svc.orders.domain import Notes
from order_svc.orders.schemas import SupportedCurrency
from order_svc.subscriptions.domain import Billing, FrozenClock, Invoice, Plan, Subscription, SubscriptionStatus
from order_svc.v1.domain import unix
from order_svc.v1.schemas import MAX_UNIX, Collection
from payments_common.money import MAX_AMOUNT

UnixTime = Annotated[StrictInt, Field(ge=0, le=MAX_UNIX)]


def moment(value: int) -> datetime:
    return datetime.fromtimestamp(value, UTC)


def _unix(value: datetime | None) -> int | None:
    return None if value is None else unix(value)


# --- plans


class PlanItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[StrictStr, Field(min_length=1, max_length=200, pattern="^[^\\u0000]*$")]
    amount: StrictInt = Field(gt=0, le=MAX_AMOUNT)
    currency: SupportedCurrency
    description: Annotated[StrictStr, Field(max_length=2000, pattern="^[^\\u0000]*$")] | None = None


class CreatePlanV1(BaseModel):
    """`POST /v1/plans`: bill `item` every `interval` `period`s (a daily plan at least every 7 days)."""

    model_config = ConfigDict(extra="forbid")

    period: Literal["daily", "weekly", "monthly", "yearly"]
    interval: StrictInt = Field(ge=1, le=365)
    item: PlanItem
    notes: Notes | None = None


class PlanItemEntity(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    active: bool
    name: str
    description: str | None
    amount: int
    unit_amount: int
    currency: str
    type: Literal["plan"]
    unit: None
    tax_inclusive: bool
    hsn_code: None
    sac_code: None
    tax_rate: None
    tax_id: None
    tax_group_id: None
    created_at: int
    updated_at: int


class PlanEntity(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    entity: Literal["plan"]
    interval: int
    period: str
    item: PlanItemEntity
    notes: dict[str, Any]
    created_at: int

    @classmethod
    def of(cls, plan: Plan) -> PlanEntity:
        created = unix(plan.created_at)
        item = PlanItemEntity(
            id="item_" + plan.id.removeprefix("plan_"),
            active=True,
            name=plan.item_name,
            description=plan.item_description,
            amount=plan.amount,
            unit_amount=plan.amount,
            currency=plan.currency,
            type="plan",
            unit=None,
            tax_inclusive=False,
            hsn_code=None,
            sac_code=None,
            tax_rate=None,
            tax_id=None,
            tax_group_id=None,
            created_at=created,
            updated_at=created,
        )
        return cls(
            id=plan.id,
            entity="plan",
            interval=plan.interval,
            period=plan.period,
            item=item,
            notes=plan.notes if plan.notes is not None else {},
            created_at=created,
        )


class PlanCollection(Collection):
    items: list[PlanEntity]


# --- subscriptions


class CreateSubscriptionV1(BaseModel):
    """`POST /v1/subscriptions`. `start_at` (Unix seconds; now by default) starts cycle 1, whose payment
    the customer makes to authenticate the subscription; `expire_by`: when an unauthenticated one expires.
    `test_clock`: a test clock of the merchant's, whose time the subscription then lives in. `missed_cycles`:
    after the scheduler was stopped across several cycle starts, `charge` each (the default) or `skip` all
    but the latest."""

    model_config = ConfigDict(extra="forbid")

    plan_id: StrictStr = Field(min_length=1, max_length=64)
    total_count: StrictInt = Field(ge=1, le=1200)
    quantity: StrictInt = Field(default=1, ge=1, le=1000)
    start_at: UnixTime | None = None
    expire_by: UnixTime | None = None
    customer_notify: StrictBool | StrictInt | None = None
    notes: Notes | None = None
    test_clock: StrictStr | None = Field(default=None, max_length=64)
    missed_cycles: Literal["charge", "skip"] = "charge"


class CancelSubscriptionV1(BaseModel):
    """`POST /v1/subscriptions/{id}/cancel`: now, or (`cancel_at_cycle_end`: 1 or true) when the current
    cycle ends, before the next one is charged."""

    model_config = ConfigDict(extra="forbid")

    cancel_at_cycle_end: StrictBool | Literal[0, 1] = False


class PauseSubscriptionV1(BaseModel):
    """`POST /v1/subscriptions/{id}/pause` and `/resume`: now (`pause_at` / `resume_at`: `now`)."""

    model_config = ConfigDict(extra="forbid")

    pause_at: Literal["now"] | None = None
    resume_at: Literal["now"] | None = None


class SubscriptionEntity(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    entity: Literal["subscription"]
    plan_id: str
    customer_id: None
    status: SubscriptionStatus
    current_start: int | None
    current_end: int | None
    ended_at: int | None
    quantity: int
    notes: dict[str, Any]
    charge_at: int | None
    start_at: int
    end_at: int
    auth_attempts: int
    total_count: int
    paid_count: int
    remaining_count: int
    customer_notify: bool
    created_at: int
    expire_by: int | None
    short_url: None
    has_scheduled_changes: bool
    change_scheduled_at: None
    source: Literal["api"]
    offer_id: None
    test_clock: str | None
    # the order the customer pays to authenticate the subscription (cycle 1's)
    auth_order_id: str | None

    @classmethod
    def of(cls, sub: Subscription, billing: Billing, now: datetime, auth_order_id: str | None) -> SubscriptionEntity:
        cycle = billing.current_cycle(now)
        # only these are charged at their next cycle's start: a pending one waits for its retry, a halted,
        # paused or ended one for nothing
        charged = sub.status in (
            SubscriptionStatus.CREATED,
            SubscriptionStatus.AUTHENTICATED,
            SubscriptionStatus.ACTIVE,
        )
        charges = charged and sub.next_cycle <= sub.total_count and not sub.cancel_at_cycle_end
        return cls(
            id=sub.id,
            entity="subscription",
            plan_id=sub.plan_id,
            customer_id=None,
            status=sub.status,
            current_start=unix(billing.cycle_start(cycle)) if cycle else None,
            current_end=unix(billing.cycle_end(cycle)) if cycle else None,
            ended_at=_unix(sub.ended_at),
            quantity=sub.quantity,
            notes=sub.notes if sub.notes is not None else {},
            charge_at=unix(sub.next_charge_at) if charges else None,
            start_at=unix(sub.start_at),
            end_at=unix(billing.end_at),
            auth_attempts=0,
            total_count=sub.total_count,
            paid_count=sub.paid_count,
            remaining_count=sub.total_count - sub.paid_count,
            customer_notify=True,
            created_at=unix(sub.created_at),
            expire_by=_unix(sub.expire_by),
            short_url=None,
            has_scheduled_changes=sub.cancel_at_cycle_end,
            change_scheduled_at=None,
            source="api",
            offer_id=None,
            test_clock=sub.test_clock_id,
            auth_order_id=auth_order_id,
        )


class SubscriptionCollection(Collection):
    items: list[SubscriptionEntity]


class SubscriptionCheckout(BaseModel):
    """What the checkout hands the merchant after the authentication payment: the signature
    `Utility.verify_subscription_payment_signature` checks (HMAC-SHA256 of `payment_id|subscription_id`)."""

    model_config = ConfigDict(extra="forbid")

    razorpay_payment_id: str
    razorpay_subscription_id: str
    razorpay_signature: str


# --- invoices


class InvoiceEntity(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    entity: Literal["invoice"]
    type: Literal["invoice"]
    subscription_id: str
    order_id: str
    payment_id: str | None
    status: Literal["issued", "paid", "expired"]
    amount: int
    amount_paid: int
    amount_due: int
    currency: str
    billing_start: int
    billing_end: int
    # the cycle this invoice bills, from 1
    cycle: int
    charge_attempts: int
    next_charge_at: int | None
    paid_at: int | None
    created_at: int

    @classmethod
    def of(cls, invoice: Invoice, amount: int, currency: str) -> InvoiceEntity:
        status: Literal["issued", "paid", "expired"] = {"paid": "paid", "unpaid": "expired"}.get(  # type: ignore[assignment]
            invoice.status, "issued"
        )
        paid = amount if status == "paid" else 0
        return cls(
            id=invoice.id,
            entity="invoice",
            type="invoice",
            subscription_id=invoice.subscription_id,
            order_id=invoice.order_id,
            payment_id=invoice.payment_id,
            status=status,
            amount=amount,
            amount_paid=paid,
            amount_due=amount - paid,
            currency=currency,
            billing_start=unix(invoice.billing_start),
            billing_end=unix(invoice.billing_end),
            cycle=invoice.cycle,
            charge_attempts=invoice.attempts,
            next_charge_at=_unix(invoice.next_attempt_at) if invoice.status == "due" else None,
            paid_at=_unix(invoice.paid_at),
            created_at=unix(invoice.created_at),
        )


class InvoiceCollection(Collection):
    items: list[InvoiceEntity]


class InvoiceListQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    subscription_id: str | None = Field(default=None, max_length=64, pattern="^[^\\u0000]*$")
    count: int = Field(default=10, ge=1, le=100)
    skip: int = Field(default=0, ge=0, le=1_000_000)


class SubscriptionListQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    plan_id: str | None = Field(default=None, max_length=64, pattern="^[^\\u0000]*$")
    count: int = Field(default=10, ge=1, le=100)
    skip: int = Field(default=0, ge=0, le=1_000_000)


# --- test clocks


class CreateClock(BaseModel):
    """`POST /v1/test_clocks`: a clock of the merchant's, frozen at `frozen_time` (Unix seconds)."""

    model_config = ConfigDict(extra="forbid")

    frozen_time: UnixTime
    name: Annotated[StrictStr, Field(max_length=200, pattern="^[^\\u0000]*$")] | None = None


class AdvanceClock(BaseModel):
    """`POST /v1/test_clocks/{id}/advance`: move the clock forward to `frozen_time`; its subscriptions'
    cycles that start by then are invoiced and charged by the scheduler."""

    model_config = ConfigDict(extra="forbid")

    frozen_time: UnixTime


class ClockEntity(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    object: Literal["test_clock"]
    name: str | None
    frozen_time: int
    status: Literal["ready"]
    created: int

    @classmethod
    def of(cls, clock: FrozenClock) -> ClockEntity:
        return cls(
            id=clock.id,
            object="test_clock",
            name=clock.name,
            frozen_time=unix(clock.frozen_time),
            status="ready",
            created=unix(clock.created_at),
        )
