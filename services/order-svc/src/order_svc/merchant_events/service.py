"""Recording merchant events: called by whatever applies a change of an attempt, an order or a refund,
inside that change's unit of work, so an event is in the outbox exactly when its change is committed.
The entities are read back in the same transaction, so each payload is the state the change left."""

from __future__ import annotations

from dataclasses import dataclass
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
from order_svc.merchant_events.repository import EventReadRepository
from order_svc.orders.domain import Order
from order_svc.payment_links.schemas import PaymentLinkEntity
from order_svc.payments.domain import PaymentView
from order_svc.refunds.repository import RefundViewRepository
from order_svc.v1.orders.schemas import OrderEntity
from order_svc.v1.payments.schemas import PaymentEntity
from order_svc.v1.refunds.repository import RefundDetailsRepository
from order_svc.v1.refunds.schemas import RefundEntity
from payments_common.logging import get_logger
from payments_common.uow import UnitOfWork

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class PaymentRead:
    """An attempt as merchant events carry it, read in the unit that changed it."""

    view: PaymentView
    entity: PaymentEntity
    attempts: int  # its order's attempts, for an order entity told beside it


async def _payment(uow: UnitOfWork, payment_id: str) -> PaymentRead:
    facts = await uow.repo(EventReadRepository).attempt(payment_id)
    if facts is None:
        raise LookupError(f"payment {payment_id} is not in the view it was just written to")
    refunds = await uow.repo(ListRepository).refunds_of([payment_id]) if facts.has_refunds else []
    return PaymentRead(facts.view, PaymentEntity.of(facts.view, refunds, facts.details), facts.attempts)


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
    for name in names:
        event = merchant_event(name, read.view.id, order.merchant_id, {"payment": read.entity}, read.view.updated_at)
        uow.emit(merchant_event_message(event, order.id))
        log.info("merchant_event.recorded", merchant_event=name, event_id=event.id)
    return read


async def order_paid(uow: UnitOfWork, order: Order, payment_id: str, read: PaymentRead | None = None) -> None:
    """`order` (as it is now, PAID) was paid by `payment_id`: told with both entities. `read` is the
    attempt as `payment_changed` read it in this same unit, when it did (the view has not moved since)."""
    read = read or await _payment(uow, payment_id)
    entities = {"payment": read.entity, "order": OrderEntity.of(order, read.attempts)}
    event = merchant_event(ORDER_PAID, order.id, order.merchant_id, entities, read.view.updated_at)
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
    payment = await _payment(uow, refund.payment_id)
    details = await uow.repo(RefundDetailsRepository).of([refund_id])
    entities = {"refund": RefundEntity.of(refund, details.get(refund_id)), "payment": payment.entity}
    for name in names:
        # a refund is created when payment-svc created it; it is settled at its last change
        at = refund.created_at if name == REFUND_CREATED else refund.updated_at
        event = merchant_event(name, refund.id, order.merchant_id, entities, at)
        uow.emit(merchant_event_message(event, order.id))
        log.info("merchant_event.recorded", merchant_event=name, event_id=event.id)


async def payment_link_paid(uow: UnitOfWork, order: Order, payment_id: str, link: PaymentLinkEntity) -> None:
    """The link of `order` (as it is now, PAID) was paid by `payment_id`: told with the link, order and payment."""
    read = await _payment(uow, payment_id)
    entities = {"payment_link": link, "order": OrderEntity.of(order, read.attempts), "payment": read.entity}
    event = merchant_event(PAYMENT_LINK_PAID, link.id, order.merchant_id, entities, read.view.updated_at)
    uow.emit(merchant_event_message(event, order.id))
    log.info("merchant_event.recorded", merchant_event=PAYMENT_LINK_PAID, event_id=event.id)


async def payment_link_cancelled(uow: UnitOfWork, order_id: str, merchant_id: str, link: PaymentLinkEntity) -> None:
    at = datetime.fromtimestamp(link.cancelled_at, UTC)
    event = merchant_event(PAYMENT_LINK_CANCELLED, link.id, merchant_id, {"payment_link": link}, at)
    uow.emit(merchant_event_message(event, order_id))
    log.info("merchant_event.recorded", merchant_event=PAYMENT_LINK_CANCELLED, event_id=event.id)
