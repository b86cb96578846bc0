"""Plans', subscriptions' and test clocks' use cases, as the merchant asks for them. The scheduler
(`scheduler.py`) does what time asks for: invoicing each cycle and charging it."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from order_svc.deps import Deps
from order_svc.lists.domain import Cursor, Page, next_cursor
from order_svc.merchants.signing import NoSigningSecret
from order_svc.orders.repository import OrderRepository
from order_svc.payments.repository import PaymentViewRepository
from order_svc.subscriptions import domain
from order_svc.subscriptions.domain import (
    Billing,
    FrozenClock,
    Invoice,
    Plan,
    RefusedMove,
    Subscription,
    SubscriptionStatus,
    billing_of,
    check_move,
    cycle_order_request_id,
)
from order_svc.subscriptions.messages import auth_order, entity_of, subscription_event
from order_svc.subscriptions.repository import SubscriptionRepository
from order_svc.v1.subscriptions.schemas import (
    AdvanceClock,
    CancelSubscriptionV1,
    ClockEntity,
    CreateClock,
    CreatePlanV1,
    CreateSubscriptionV1,
    InvoiceEntity,
    PlanEntity,
    SubscriptionCheckout,
    SubscriptionEntity,
    moment,
)
from payments_common import ids
from payments_common.errors import SERVICE_UNAVAILABLE, ApiError, bad_request, not_found
from payments_common.logging import get_logger
from payments_common.uow import ReadSnapshot, UnitOfWork

S = SubscriptionStatus
log = get_logger(__name__)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Listing(Generic[T]):
    """A page of a list and the cursor of the page after it (None on the last page): /v1 reads only
    `items` (its pages are `skip`s), the native API both."""

    items: list[T]
    next_cursor: str | None


async def _now(uow: UnitOfWork) -> datetime:
    value = await uow.conn.fetchval("SELECT now()")
    assert isinstance(value, datetime)
    return value


# --- plans


async def create_plan(deps: Deps, merchant_id: str, cmd: CreatePlanV1) -> PlanEntity:
    async with UnitOfWork(deps.pool) as uow:
        plan = Plan(
            id=ids.new_id(domain.PLAN),
            merchant_id=merchant_id,
            period=cmd.period,
            interval=cmd.interval,
            item_name=cmd.item.name,
            item_description=cmd.item.description,
            amount=cmd.item.amount,
            currency=cmd.item.currency,
            notes=cmd.notes,
            created_at=await _now(uow),
        )
        await uow.repo(SubscriptionRepository).insert_plan(plan)
    return PlanEntity.of(plan)


async def _plan(snapshot: UnitOfWork, merchant_id: str, plan_id: str, *, field: str | None = None) -> Plan:
    plan = (
        await snapshot.repo(SubscriptionRepository).plan(plan_id, merchant_id)
        if domain.is_id(domain.PLAN, plan_id)
        else None
    )
    if plan is None:
        raise bad_request("plan_id: no such plan", "plan_id") if field else not_found("plan")
    return plan


async def fetch_plan(deps: Deps, merchant_id: str, plan_id: str) -> PlanEntity:
    async with ReadSnapshot(deps.pool) as snapshot:
        return PlanEntity.of(await _plan(snapshot, merchant_id, plan_id))


async def list_plans(deps: Deps, merchant_id: str, page: Page) -> Listing[PlanEntity]:
    async with ReadSnapshot(deps.pool) as snapshot:
        plans = await snapshot.repo(SubscriptionRepository).plans(merchant_id, page)
    cursor = next_cursor([(plan.created_at, plan.id) for plan in plans], page.limit)
    return Listing([PlanEntity.of(plan) for plan in plans[: page.limit]], cursor)


# --- subscriptions


async def _clock(uow: UnitOfWork, merchant_id: str, clock_id: str, *, lock: bool = False) -> FrozenClock | None:
    if not domain.is_id(domain.TEST_CLOCK, clock_id):
        return None
    return await uow.repo(SubscriptionRepository).clock(clock_id, merchant_id, lock=lock)


async def create_subscription(deps: Deps, merchant_id: str, cmd: CreateSubscriptionV1) -> SubscriptionEntity:
    """The subscription, `created`, with cycle 1's invoice and order: the customer pays that order through
    the checkout, which authenticates the subscription and keeps the payment's token for the next cycles."""
    async with UnitOfWork(deps.pool) as uow:
        repo = uow.repo(SubscriptionRepository)
        plan = await _plan(uow, merchant_id, cmd.plan_id, field="plan_id")
        clock = None
        if cmd.test_clock is not None:
            clock = await _clock(uow, merchant_id, cmd.test_clock)
            if clock is None:
                raise bad_request("test_clock: no such test clock", "test_clock")
        now = clock.frozen_time if clock else await _now(uow)
        start_at = moment(cmd.start_at) if cmd.start_at is not None else now
        if start_at < now:
            raise bad_request("start_at: must not be in the past", "start_at")
        expire_by = moment(cmd.expire_by) if cmd.expire_by is not None else None
        if expire_by is not None and expire_by <= now:
            raise bad_request("expire_by: must be in the future", "expire_by")
        billing = Billing(start_at, plan.period, plan.interval, cmd.total_count)
        sub = Subscription(
            id=ids.new_id(domain.SUBSCRIPTION),
            merchant_id=merchant_id,
            plan_id=plan.id,
            status=S.CREATED,
            total_count=cmd.total_count,
            quantity=cmd.quantity,
            start_at=start_at,
            expire_by=expire_by,
            notes=cmd.notes,
            test_clock_id=clock.id if clock else None,
            catch_up=cmd.missed_cycles == "charge",
            token=None,
            next_cycle=2,
            next_charge_at=billing.cycle_start(2),
            paid_count=0,
            cancel_at_cycle_end=False,
            ended_at=None,
            created_at=now,
            updated_at=now,
        )
        if plan.amount * sub.quantity > 10_000_000_000:
            raise bad_request("quantity: the amount of a cycle is over the limit", "quantity")
        await repo.insert_subscription(sub)
        invoice = await issue_cycle(uow, sub, plan, 1, status="charging")
    return SubscriptionEntity.of(sub, billing, now, invoice.order_id)


async def issue_cycle(uow: UnitOfWork, sub: Subscription, plan: Plan, cycle: int, *, status: str = "due") -> Invoice:
    """Cycle `cycle`'s invoice and order, in the caller's transaction. The invoice is unique per
    (subscription, cycle): a cycle issued already answers its invoice, and nothing new is made."""
    repo = uow.repo(SubscriptionRepository)
    billing = billing_of(sub, plan)
    invoice = Invoice(
        id=ids.new_id(domain.INVOICE),
        subscription_id=sub.id,
        cycle=cycle,
        order_id=ids.new_id(ids.ORDER),
        billing_start=billing.cycle_start(cycle),
        billing_end=billing.cycle_end(cycle),
        status=status,
        attempts=0,
        next_attempt_at=billing.cycle_start(cycle) if status == "due" else None,
        payment_id=None,
        paid_at=None,
        created_at=sub.updated_at,
    )
    await uow.repo(OrderRepository).insert(
        invoice.order_id,
        sub.merchant_id,
        plan.amount * sub.quantity,
        plan.currency,
        invoice.id,
        {"subscription_id": sub.id, "invoice_id": invoice.id, "cycle": str(cycle)},
        request_id=cycle_order_request_id(invoice.id),
    )
    if not await repo.insert_invoice(invoice):
        raise RuntimeError(f"cycle {cycle} of {sub.id} was invoiced already")
    return invoice


async def _subscription(uow: UnitOfWork, merchant_id: str, sub_id: str, *, lock: bool = False) -> Subscription:
    sub = None
    if domain.is_id(domain.SUBSCRIPTION, sub_id):
        sub = await uow.repo(SubscriptionRepository).subscription(sub_id, merchant_id, lock=lock)
    if sub is None:
        raise not_found("subscription")
    return sub


async def fetch_subscription(deps: Deps, merchant_id: str, sub_id: str) -> SubscriptionEntity:
    async with ReadSnapshot(deps.pool) as snapshot:
        return await entity_of(snapshot, await _subscription(snapshot, merchant_id, sub_id))


async def list_subscriptions(
    deps: Deps, merchant_id: str, page: Page, plan_id: str | None
) -> Listing[SubscriptionEntity]:
    async with ReadSnapshot(deps.pool) as snapshot:
        subs = await snapshot.repo(SubscriptionRepository).subscriptions(merchant_id, page, plan_id)
        items = [await entity_of(snapshot, sub) for sub in subs[: page.limit]]
    return Listing(items, next_cursor([(sub.created_at, sub.id) for sub in subs], page.limit))


async def _change(
    deps: Deps, merchant_id: str, sub_id: str, change: Callable[[UnitOfWork, Subscription, datetime], Awaitable[None]]
) -> SubscriptionEntity:
    async with UnitOfWork(deps.pool) as uow:
        sub = await _subscription(uow, merchant_id, sub_id, lock=True)
        now = await uow.repo(SubscriptionRepository).now_of(sub.id)
        try:
            await change(uow, sub, now)
        except RefusedMove as refused:
            # a conflict with the subscription's status, not a malformed request: /v1 answers it as Razorpay's
            # 400 (v1.domain.razorpay_error), the native API as a 409
            raise ApiError(409, domain.NOT_CHANGEABLE, str(refused)) from None
        changed = await uow.repo(SubscriptionRepository).subscription(sub.id, merchant_id)
        assert changed is not None
        return await entity_of(uow, changed)


async def end(uow: UnitOfWork, sub: Subscription, status: SubscriptionStatus, at: datetime) -> None:
    """The subscription ends (cancelled, completed or expired): nothing is charged any more."""
    repo = uow.repo(SubscriptionRepository)
    await repo.update_subscription(sub.id, status=status, ended_at=at)
    await repo.close_open_invoices(sub.id)


async def cancel(deps: Deps, merchant_id: str, sub_id: str, cmd: CancelSubscriptionV1) -> SubscriptionEntity:
    async def change(uow: UnitOfWork, sub: Subscription, now: datetime) -> None:
        check_move(sub.status, S.CANCELLED, "cancelled")
        if cmd.cancel_at_cycle_end and sub.status in (S.ACTIVE, S.PENDING, S.HALTED, S.PAUSED):
            await uow.repo(SubscriptionRepository).update_subscription(sub.id, cancel_at_cycle_end=True)
            return
        await end(uow, sub, S.CANCELLED, now)
        await subscription_event(uow, sub.id, domain.CANCELLED, at=now)

    return await _change(deps, merchant_id, sub_id, change)


async def pause(deps: Deps, merchant_id: str, sub_id: str) -> SubscriptionEntity:
    async def change(uow: UnitOfWork, sub: Subscription, _: datetime) -> None:
        check_move(sub.status, S.PAUSED, "paused")
        await uow.repo(SubscriptionRepository).update_subscription(sub.id, status=S.PAUSED)

    return await _change(deps, merchant_id, sub_id, change)


async def resume(deps: Deps, merchant_id: str, sub_id: str) -> SubscriptionEntity:
    """Active again from the next cycle to start: the cycles that started while paused are not charged."""

    async def change(uow: UnitOfWork, sub: Subscription, now: datetime) -> None:
        if sub.status is not S.PAUSED:
            raise RefusedMove(f"a {sub.status.value} subscription cannot be resumed")
        repo = uow.repo(SubscriptionRepository)
        plan = await repo.plan(sub.plan_id, sub.merchant_id)
        assert plan is not None
        billing = billing_of(sub, plan)
        next_cycle = max(sub.next_cycle, billing.current_cycle(now) + 1)
        await repo.update_subscription(
            sub.id, status=S.ACTIVE, next_cycle=next_cycle, next_charge_at=billing.cycle_start(next_cycle)
        )

    return await _change(deps, merchant_id, sub_id, change)


def subscription_signature(key_secret: str, payment_id: str, sub_id: str) -> str:
    """hex(HMAC-SHA256(key_secret, payment_id|subscription_id)): what Razorpay's checkout hands the merchant
    after a subscription's authentication payment, and `Utility.verify_subscription_payment_signature` checks."""
    return hmac.new(key_secret.encode(), f"{payment_id}|{sub_id}".encode(), hashlib.sha256).hexdigest()


async def checkout(deps: Deps, merchant_id: str, sub_id: str) -> SubscriptionCheckout:
    """The checkout response of the authentication payment, once it succeeded (before that a 400), signed
    with the secret of the merchant's newest active key, the one it verifies with."""
    async with ReadSnapshot(deps.pool) as snapshot:
        sub = await _subscription(snapshot, merchant_id, sub_id)
        order_id = await auth_order(snapshot, sub.id)
        views = await snapshot.repo(PaymentViewRepository).of_order(order_id) if order_id else []
    paid = [view for view in views if view.status == "SUCCESS"]
    if not paid:
        raise bad_request("the subscription's authentication payment has not succeeded yet: it has no signature")
    payment_id = paid[0].id
    try:
        key_secret = await deps.signing_secret(merchant_id)
    except NoSigningSecret as error:
        log.error("subscription.checkout_unsigned", subscription_id=sub.id, reason=str(error))
        raise ApiError(503, SERVICE_UNAVAILABLE, "the merchant's key secret is not available to sign with") from None
    return SubscriptionCheckout(
        razorpay_payment_id=payment_id,
        razorpay_subscription_id=sub.id,
        razorpay_signature=subscription_signature(key_secret, payment_id, sub.id),
    )


# --- invoices


async def _invoice_entities(snapshot: UnitOfWork, merchant_id: str, invoices: list[Invoice]) -> list[InvoiceEntity]:
    """The invoices with the amounts of their orders, read in the caller's snapshot."""
    amounts: dict[str, tuple[int, str]] = {}
    for invoice in invoices:
        if invoice.order_id not in amounts:
            order = await snapshot.repo(OrderRepository).get(invoice.order_id, merchant_id)
            assert order is not None
            amounts[invoice.order_id] = (order.amount, order.currency)
    return [InvoiceEntity.of(invoice, *amounts[invoice.order_id]) for invoice in invoices]


async def list_invoices(deps: Deps, merchant_id: str, count: int, skip: int, sub_id: str | None) -> list[InvoiceEntity]:
    async with ReadSnapshot(deps.pool) as snapshot:
        invoices = await snapshot.repo(SubscriptionRepository).invoices(merchant_id, count, skip, sub_id)
        return await _invoice_entities(snapshot, merchant_id, invoices)


async def subscription_invoices(deps: Deps, merchant_id: str, sub_id: str, page: Page) -> Listing[InvoiceEntity]:
    """The subscription's invoices, one per cycle, latest cycle first; another merchant's subscription is
    not found. The cursor names the last cycle shown (its `id` is the cycle's number)."""
    before = None
    if page.after is not None:
        if not page.after.id.isdigit():
            raise bad_request("cursor: not a cursor of this list", "cursor")
        before = int(page.after.id)
    async with ReadSnapshot(deps.pool) as snapshot:
        await _subscription(snapshot, merchant_id, sub_id)
        invoices = await snapshot.repo(SubscriptionRepository).cycles(sub_id, page.limit, before)
        items = await _invoice_entities(snapshot, merchant_id, invoices[: page.limit])
    last = invoices[page.limit - 1] if len(invoices) > page.limit else None
    return Listing(items, Cursor(last.created_at, str(last.cycle)).encode() if last else None)


# --- test clocks


async def create_clock(deps: Deps, merchant_id: str, cmd: CreateClock) -> ClockEntity:
    async with UnitOfWork(deps.pool) as uow:
        clock = FrozenClock(
            id=ids.new_id(domain.TEST_CLOCK),
            merchant_id=merchant_id,
            name=cmd.name,
            frozen_time=moment(cmd.frozen_time),
            created_at=await _now(uow),
        )
        await uow.repo(SubscriptionRepository).insert_clock(clock)
    return ClockEntity.of(clock)


async def fetch_clock(deps: Deps, merchant_id: str, clock_id: str) -> ClockEntity:
    async with ReadSnapshot(deps.pool) as snapshot:
        clock = await _clock(snapshot, merchant_id, clock_id)
    if clock is None:
        raise not_found("test clock")
    return ClockEntity.of(clock)


async def advance_clock(deps: Deps, merchant_id: str, clock_id: str, cmd: AdvanceClock) -> ClockEntity:
    """Time only moves forward: what was charged for a moment stays charged."""
    async with UnitOfWork(deps.pool) as uow:
        clock = await _clock(uow, merchant_id, clock_id, lock=True)
        if clock is None:
            raise not_found("test clock")
        target = moment(cmd.frozen_time)
        if target < clock.frozen_time:
            raise bad_request("frozen_time: a test clock only moves forward", "frozen_time")
        await uow.repo(SubscriptionRepository).set_clock(clock.id, target)
    return ClockEntity.of(FrozenClock(clock.id, clock.merchant_id, clock.name, target, clock.created_at))
