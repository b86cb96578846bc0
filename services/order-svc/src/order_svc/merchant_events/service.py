"""Recording merchant events: called by whatever applies a change of an attempt, an order or a refund,
inside that change's unit of work, so an event is in the outbox exactly when its change is committed.
The entities are read back in the same transaction, so each payload is the state the change left."""

from __future__ import annotations

from datetime import UTC, datetime

from order_svc.lists.repository import ListRepository
from order_svc.merchant_events.domain import (
    ORDER_PAID,
    PAYMENT_LINK_CANCELLED,
    PAYMENT_LINK_PAID,
    REFUND_CREATED,
    merchant_event,
    payment_events,
    refund_events,
)
from order_svc.merchant_events.messages import merchant_event_message
from order_svc.orders.domain import Order
from order_svc.payment_links.schemas import PaymentLinkEntity
from order_svc.payments.domain import PaymentView
from order_svc.payments.repository import PaymentViewRepository
from order_svc.refunds.repository import RefundViewRepository
from order_svc.v1.orders.schemas import OrderEntity
from order_svc.v1.payments.repository import PaymentDetailsRepository
from order_svc.v1.payments.schemas import PaymentEntity
from order_svc.v1.refunds.repository import RefundDetailsRepository
from order_svc.v1.refunds.schemas import RefundEntity
from payments_common.logging import get_logger
from payments_common.uow import UnitOfWork

log = get_logger(__name__)


# an attempt's view row and its entity as a merchant event carries it
PaymentRead = tuple[PaymentView, PaymentEntity]


async def _payment(uow: UnitOfWork, payment_id: str) -> PaymentRead:
    view = await uow.repo(PaymentViewRepository).get(payment_id)
    if view is None:
        raise LookupError(f"payment {payment_id} is not in the view it was just written to")
    refunds = await uow.repo(ListRepository).refunds_of([payment_id])
    details = await uow.repo(PaymentDetailsRepository).of([payment_id])
    return view, PaymentEntity.of(view, refunds, details.get(payment_id))


async def payment_changed(
    uow: UnitOfWork, order: Order, before: str | None, after: str, payment_id: str
) -> PaymentRead | None:
    """The attempt's view moved from status `before` (None: it was not in the view) to `after`, what it
    holds now. Answers what it read for the events (None when the move tells nothing, and nothing is
    read: most moves, such as a new attempt's INITIATED, have no event)."""
    names = payment_events(before, after, manual_capture=order.manual_capture)
    if not names:
        return None
    read = await _payment(uow, payment_id)
    view, entity = read
    for name in names:
        event = merchant_event(name, view.id, order.merchant_id, {"payment": entity}, view.updated_at)
        uow.emit(merchant_event_message(event, order.id))
        log.info("merchant_event.recorded", merchant_event=name, event_id=event.id)
    return read


async def order_paid(uow: UnitOfWork, order: Order, payment_id: str, read: PaymentRead | None = None) -> None:
    """`order` (as it is now, PAID) was paid by `payment_id`: told with both entities. `read` is the
    attempt as `payment_changed` read it in this same unit, when it did (the view has not moved since)."""
    view, payment = read or await _payment(uow, payment_id)
    attempts = await uow.repo(ListRepository).attempts([order.id])
    entities = {"payment": payment, "order": OrderEntity.of(order, attempts.get(order.id, 0))}
    event = merchant_event(ORDER_PAID, order.id, order.merchant_id, entities, view.updated_at)
    uow.emit(merchant_event_message(event, order.id))
    log.info("merchant_event.recorded", merchant_event=ORDER_PAID, event_id=event.id)


async def refund_changed(uow: UnitOfWork, order: Order, before: str | None, refund_id: str) -> None:
    """The refund's view moved from status `before` (None: it was not in the view) to what it holds now."""
    refund = await uow.repo(RefundViewRepository).get(refund_id)
    if refund is None:
        raise LookupError(f"refund {refund_id} is not in the view it was just written to")
    names = refund_events(before, refund.status)
    if not names:
        return
    _, payment = await _payment(uow, refund.payment_id)
    details = await uow.repo(RefundDetailsRepository).of([refund_id])
    entities = {"refund": RefundEntity.of(refund, details.get(refund_id)), "payment": payment}
    for name in names:
        # a refund is created when payment-svc created it; it is settled at its last change
        at = refund.created_at if name == REFUND_CREATED else refund.updated_at
        event = merchant_event(name, refund.id, order.merchant_id, entities, at)
        uow.emit(merchant_event_message(event, order.id))
        log.info("merchant_event.recorded", merchant_event=name, event_id=event.id)


async def payment_link_paid(uow: UnitOfWork, order: Order, payment_id: str, link: PaymentLinkEntity) -> None:
    """The link of `order` (as it is now, PAID) was paid by `payment_id`: told with the link, order and payment."""
    view, payment = await _payment(uow, payment_id)
    attempts = await uow.repo(ListRepository).attempts([order.id])
    entities = {"payment_link": link, "order": OrderEntity.of(order, attempts.get(order.id, 0)), "payment": payment}
    event = merchant_event(PAYMENT_LINK_PAID, link.id, order.merchant_id, entities, view.updated_at)
    uow.emit(merchant_event_message(event, order.id))
    log.info("merchant_event.recorded", merchant_event=PAYMENT_LINK_PAID, event_id=event.id)


async def payment_link_cancelled(uow: UnitOfWork, order_id: str, merchant_id: str, link: PaymentLinkEntity) -> None:
    at = datetime.fromtimestamp(link.cancelled_at, UTC)
    event = merchant_event(PAYMENT_LINK_CANCELLED, link.id, merchant_id, {"payment_link": link}, at)
    uow.emit(merchant_event_message(event, order_id))
    log.info("merchant_event.recorded", merchant_event=PAYMENT_LINK_CANCELLED, event_id=event.id)
