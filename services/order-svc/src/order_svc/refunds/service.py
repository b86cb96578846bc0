"""The refunds' use cases. payment-svc owns refunds and decides them (only a SUCCESS payment, never more
than it took); order-svc checks the merchant on its own view first, so another merchant's payment answers
404 without payment-svc being asked, and keeps `refund_views` so that reads need no other service."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

from order_svc.deps import Deps
from order_svc.merchant_events import service as merchant_events
from order_svc.orders.domain import Order
from order_svc.orders.repository import OrderRepository
from order_svc.payments.repository import PaymentViewRepository
from order_svc.payments.service import merchant_payment
from order_svc.refunds.domain import RefundView
from order_svc.refunds.messages import REFUND_EVENTS_CONSUMER
from order_svc.refunds.repository import RefundViewRepository
from order_svc.refunds.schemas import CreateRefund
from payments_common import events, ids
from payments_common.consumer import Step
from payments_common.errors import PermanentError, RetryableError, not_found
from payments_common.inbox import bound_to, claim_once
from payments_common.logging import bound, get_logger
from payments_common.uow import UnitOfWork, read_found

log = get_logger(__name__)


async def create_refund(
    deps: Deps,
    merchant_id: str,
    payment_id: str,
    cmd: CreateRefund,
    correlation_id: str | None,
    request_id: uuid.UUID | None = None,
    details: Callable[[UnitOfWork, str], Awaitable[None]] | None = None,
) -> events.RefundSnapshot:
    """The refund as payment-svc created it (PENDING), already in our view. `request_id`, from the
    request's idempotency key, makes a rerun after a crash answer the refund its first run created.
    `details(uow, refund_id)` stores what a caller keeps beside the refund in the same transaction, before
    the refund's merchant events are recorded, so that they show it."""
    with bound(payment_id=payment_id):
        await merchant_payment(deps, merchant_id, payment_id)
        refund = await deps.payments.create_refund(
            payment_id, merchant_id, cmd.amount, cmd.notes, correlation_id, request_id
        )
        # read-your-writes: the refund is in our view before the client hears of it
        async with UnitOfWork(deps.pool) as uow:
            # the order row first, as every writer of an order's views takes it, so none deadlocks another
            order = await uow.repo(OrderRepository).lock(refund.orderId)
            if order is None:
                raise not_found("order")
            await _keep(uow, order, refund, details)
        log.info("refund.requested", refund_id=refund.id, amount=refund.amount)
        return refund


async def get_refund(deps: Deps, merchant_id: str, refund_id: str) -> RefundView:
    return await read_found(
        deps.pool,
        "refund",
        ids.REFUND,
        refund_id,
        lambda snapshot: snapshot.repo(RefundViewRepository).merchant_refund(refund_id, merchant_id),
    )


async def _keep(
    uow: UnitOfWork,
    order: Order,
    refund: events.RefundSnapshot,
    details: Callable[[UnitOfWork, str], Awaitable[None]] | None = None,
) -> bool:
    """Keep the snapshot if it is the newest (True), recording the merchant events of the refund's move.
    Both writers of the view (the consumer, and the answer of the refund's creation) go through here under
    the order's lock, so whichever applies a move tells it and the other finds nothing new. `details`
    runs once the view row exists (what it stores refers to it) and before the events read it back."""
    views = uow.repo(RefundViewRepository)
    before = await views.get(refund.id)
    fresh = await views.upsert(refund)
    if details is not None:
        await details(uow, refund.id)
    if fresh:
        await merchant_events.refund_changed(uow, order, before.status if before else None, refund.id)
    return fresh


async def _apply(uow: UnitOfWork, event: events.RefundEvent, _: str | None) -> None:
    """Keep the newest snapshot of the refund; the order itself never changes."""
    refund = event.refund
    order = await uow.repo(OrderRepository).lock(refund.orderId)
    if order is None:
        raise PermanentError("no such order", reason="UNKNOWN_ORDER")
    if not await uow.repo(PaymentViewRepository).known(refund.paymentId):
        # the attempt's own event is still on its way (its initiation answered before we stored it)
        raise RetryableError("no view of the refunded payment yet", reason="UNKNOWN_PAYMENT")
    fresh = await _keep(uow, order, refund)
    log.info("refund_event.applied" if fresh else "refund_event.stale_ignored", version=refund.version)


async def _duplicate(_: UnitOfWork, __: events.RefundEvent) -> None:
    log.info("refund_event.duplicate_ignored")


def _log_context(event: events.RefundEvent) -> dict[str, str]:
    refund = event.refund
    return {
        "order_id": refund.orderId,
        "payment_id": refund.paymentId,
        "refund_id": refund.id,
        "event_type": event.type,
    }


def refund_event_step(deps: Deps) -> Step[events.RefundEvent]:
    """The consumer's step for each of payment-svc's refund events: claimed once, applied once."""
    apply = claim_once(deps.pool, REFUND_EVENTS_CONSUMER, _apply, on_duplicate=_duplicate)
    return bound_to(apply, _log_context)


async def apply_refund_event(deps: Deps, message_id: str, event: events.RefundEvent) -> None:
    """One refund event, as the consumer takes it (for callers holding a decoded event)."""
    await refund_event_step(deps)(message_id, event, None)
