"""The native API's plans, subscriptions and invoices: camelCase fields, ISO 8601 moments, upper-case statuses.

The use cases (`service.py`) take /v1's commands and answer /v1's entities, which carry what is derived once
from the rows (a subscription's current cycle and next charge, an invoice's amounts). So a native request
converts to its /v1 command, and a native answer is read from the entity; /v1 counts time in whole Unix
seconds, so the moments here are whole seconds too."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

from order_svc.lists.domain import DEFAULT_PAGE, MAX_PAGE
from order_svc.lists.schemas import ListQuery
from order_svc.native.schemas import Moment, maybe_moment, moment, seconds
from order_svc.orders.domain import Notes
from order_svc.v1.subscriptions.schemas import (
    CancelSubscriptionV1,
    CreatePlanV1,
    CreateSubscriptionV1,
    InvoiceEntity,
    PlanEntity,
    PlanItem,
    SubscriptionEntity,
)
from payments_common.openapi import Timestamp

# --- requests


class CreatePlan(BaseModel):
    """`POST /plans`: bill `item` (its `amount` in `currency`'s minor unit) every `interval` `period`s."""

    model_config = ConfigDict(extra="forbid")

    period: Literal["daily", "weekly", "monthly", "yearly"]
    interval: StrictInt = Field(ge=1, le=365)
    item: PlanItem
    notes: Notes | None = None

    def command(self) -> CreatePlanV1:
        return CreatePlanV1(period=self.period, interval=self.interval, item=self.item, notes=self.notes)


class CreateSubscription(BaseModel):
    """`POST /subscriptions`: `totalCount` cycles of the plan from `startAt` (now by default). Cycle 1's order
    (`authOrderId`) is the customer's first payment, which authenticates the subscription; `expireBy`: when a
    subscription never authenticated expires. `testClock`: a test clock of the merchant's, whose time the
    subscription then lives in. `missedCycles`: after the scheduler was stopped across several cycle starts,
    `charge` each (the default) or `skip` all but the latest."""

    model_config = ConfigDict(extra="forbid")

    planId: StrictStr = Field(min_length=1, max_length=64)
    totalCount: StrictInt = Field(ge=1, le=1200)
    quantity: StrictInt = Field(default=1, ge=1, le=1000)
    startAt: Moment | None = None
    expireBy: Moment | None = None
    notes: Notes | None = None
    testClock: StrictStr | None = Field(default=None, max_length=64)
    missedCycles: Literal["charge", "skip"] = "charge"

    def command(self) -> CreateSubscriptionV1:
        return CreateSubscriptionV1(
            plan_id=self.planId,
            total_count=self.totalCount,
            quantity=self.quantity,
            start_at=seconds(self.startAt) if self.startAt is not None else None,
            expire_by=seconds(self.expireBy) if self.expireBy is not None else None,
            notes=self.notes,
            test_clock=self.testClock,
            missed_cycles=self.missedCycles,
        )


class CancelSubscription(BaseModel):
    """`POST /subscriptions/{id}/cancel`: now, or (`cancelAtCycleEnd`) when the current cycle ends, before
    the next one is charged. No body is the same as `{}`."""

    model_config = ConfigDict(extra="forbid")

    cancelAtCycleEnd: StrictBool = False

    def command(self) -> CancelSubscriptionV1:
        return CancelSubscriptionV1(cancel_at_cycle_end=self.cancelAtCycleEnd)


class NoOptions(BaseModel):
    """`POST /subscriptions/{id}/pause` and `/resume` act now and take nothing: no body, or `{}`."""

    model_config = ConfigDict(extra="forbid")


class SubscriptionsQuery(ListQuery):
    """`GET /subscriptions`: a page, and only the subscriptions of `planId` when given."""

    planId: Annotated[StrictStr, Field(max_length=64, pattern="^[^\\u0000]*$")] | None = None


class CyclesQuery(BaseModel):
    """`GET /subscriptions/{id}/invoices`: `limit` invoices, latest cycle first, after `cursor`."""

    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=DEFAULT_PAGE, ge=1, le=MAX_PAGE)
    cursor: Annotated[StrictStr, Field(min_length=1, max_length=200)] | None = None


# --- answers


class PlanItemResource(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    description: str | None
    amount: int
    currency: str


class PlanResource(BaseModel):
    """A plan: `item` billed every `interval` `period`s."""

    model_config = ConfigDict(extra="forbid")

    id: str
    period: Literal["daily", "weekly", "monthly", "yearly"]
    interval: int
    item: PlanItemResource
    notes: dict[str, Any]
    createdAt: Timestamp

    @classmethod
    def of(cls, plan: PlanEntity) -> PlanResource:
        item = PlanItemResource(
            name=plan.item.name, description=plan.item.description, amount=plan.item.amount, currency=plan.item.currency
        )
        return cls.model_validate(
            {
                "id": plan.id,
                "period": plan.period,
                "interval": plan.interval,
                "item": item,
                "notes": plan.notes,
                "createdAt": moment(plan.created_at),
            }
        )


class PlanPage(BaseModel):
    """`GET /plans`: newest first; `nextCursor` is null on the last page."""

    model_config = ConfigDict(extra="forbid")

    items: list[PlanResource]
    nextCursor: str | None


class SubscriptionResource(BaseModel):
    """A subscription. `currentStart`/`currentEnd`: the cycle now running (null before cycle 1 starts);
    `chargeAt`: when the next cycle is charged (null when none will be); `cancelAtCycleEnd`: a cancellation
    waits for the current cycle's end; `authOrderId`: cycle 1's order, whose payment authenticates it."""

    model_config = ConfigDict(extra="forbid")

    id: str
    planId: str
    status: Literal[
        "CREATED", "AUTHENTICATED", "ACTIVE", "PENDING", "HALTED", "CANCELLED", "PAUSED", "COMPLETED", "EXPIRED"
    ]
    quantity: int
    totalCount: int
    paidCount: int
    remainingCount: int
    notes: dict[str, Any]
    startAt: Timestamp
    endAt: Timestamp
    currentStart: Timestamp | None
    currentEnd: Timestamp | None
    chargeAt: Timestamp | None
    endedAt: Timestamp | None
    expireBy: Timestamp | None
    cancelAtCycleEnd: bool
    testClock: str | None
    authOrderId: str | None
    createdAt: Timestamp

    @classmethod
    def of(cls, sub: SubscriptionEntity) -> SubscriptionResource:
        return cls.model_validate(
            {
                "id": sub.id,
                "planId": sub.plan_id,
                "status": sub.status.value.upper(),
                "quantity": sub.quantity,
                "totalCount": sub.total_count,
                "paidCount": sub.paid_count,
                "remainingCount": sub.remaining_count,
                "notes": sub.notes,
                "startAt": moment(sub.start_at),
                "endAt": moment(sub.end_at),
                "currentStart": maybe_moment(sub.current_start),
                "currentEnd": maybe_moment(sub.current_end),
                "chargeAt": maybe_moment(sub.charge_at),
                "endedAt": maybe_moment(sub.ended_at),
                "expireBy": maybe_moment(sub.expire_by),
                "cancelAtCycleEnd": sub.has_scheduled_changes,
                "testClock": sub.test_clock,
                "authOrderId": sub.auth_order_id,
                "createdAt": moment(sub.created_at),
            }
        )


class SubscriptionPage(BaseModel):
    """`GET /subscriptions`: newest first; `nextCursor` is null on the last page."""

    model_config = ConfigDict(extra="forbid")

    items: list[SubscriptionResource]
    nextCursor: str | None


class InvoiceResource(BaseModel):
    """A cycle's invoice and the order its charge pays: `ISSUED` until paid, `EXPIRED` when the subscription
    ended without it being paid. `nextChargeAt`: the next charge (a retry) while one is due."""

    model_config = ConfigDict(extra="forbid")

    id: str
    subscriptionId: str
    cycle: int
    orderId: str
    paymentId: str | None
    status: Literal["ISSUED", "PAID", "EXPIRED"]
    amount: int
    amountPaid: int
    amountDue: int
    currency: str
    billingStart: Timestamp
    billingEnd: Timestamp
    chargeAttempts: int
    nextChargeAt: Timestamp | None
    paidAt: Timestamp | None
    createdAt: Timestamp

    @classmethod
    def of(cls, invoice: InvoiceEntity) -> InvoiceResource:
        return cls.model_validate(
            {
                "id": invoice.id,
                "subscriptionId": invoice.subscription_id,
                "cycle": invoice.cycle,
                "orderId": invoice.order_id,
                "paymentId": invoice.payment_id,
                "status": invoice.status.upper(),
                "amount": invoice.amount,
                "amountPaid": invoice.amount_paid,
                "amountDue": invoice.amount_due,
                "currency": invoice.currency,
                "billingStart": moment(invoice.billing_start),
                "billingEnd": moment(invoice.billing_end),
                "chargeAttempts": invoice.charge_attempts,
                "nextChargeAt": maybe_moment(invoice.next_charge_at),
                "paidAt": maybe_moment(invoice.paid_at),
                "createdAt": moment(invoice.created_at),
            }
        )


class InvoicePage(BaseModel):
    """`GET /subscriptions/{id}/invoices`: latest cycle first; `nextCursor` is null on the last page."""

    model_config = ConfigDict(extra="forbid")

    items: list[InvoiceResource]
    nextCursor: str | None
