"""The payments' use cases: start an attempt through payment-svc, keep the attempt's view (and move its
order) from payment-svc's events, answer the client's callback, and show the attempt's trail."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace

from pydantic import ValidationError

from order_svc.deps import Deps
from order_svc.emails.service import request_email
from order_svc.merchant_events import service as merchant_events
from order_svc.orders.domain import Order, OrderStatus
from order_svc.orders.repository import OrderRepository
from order_svc.payment_links import service as payment_links
from order_svc.payments.client import unavailable
from order_svc.payments.domain import PaymentStatus, PaymentView, order_moves_to
from order_svc.payments.messages import PAYMENT_EVENTS_CONSUMER, order_paid
from order_svc.payments.repository import PaymentViewRepository
from order_svc.payments.schemas import InitiatePayment, PaymentLogEntry, PaymentVerified, VerifyPayment
from payments_common import events, ids
from payments_common.consumer import Step
from payments_common.errors import (
    INVALID_SIGNATURE,
    NOT_FOUND,
    ORDER_ALREADY_PAID,
    ApiError,
    PermanentError,
    not_found,
)
from payments_common.inbox import bound_to, claim, claim_once
from payments_common.logging import bound, get_logger
from payments_common.signatures import verify_payment_signature
from payments_common.uow import ReadSnapshot, SingleWrite, UnitOfWork, read_one_found

log = get_logger(__name__)

# what the trail shows of each entry, whatever else payment-svc may come to add to its internal answer
TRAIL_FIELDS = ("id", "kind", "source", "eventId", "detail", "createdAt")


async def initiate_payment(
    deps: Deps,
    merchant_id: str,
    cmd: InitiatePayment,
    correlation_id: str | None,
    request_id: uuid.UUID | None = None,
) -> events.PaymentSnapshot:
    """`request_id`, from the request's idempotency key, lets payment-svc answer the attempt an earlier
    run of this very request created (its process died before answering) instead of starting another."""
    with bound(order_id=cmd.orderId):
        order = await read_one_found(
            deps.pool,
            "order",
            ids.ORDER,
            cmd.orderId,
            lambda snapshot: snapshot.repo(OrderRepository).get(cmd.orderId, merchant_id),
        )
        # a rerun of a request whose attempt paid the order goes on to payment-svc, which answers that attempt
        if order.status == OrderStatus.PAID and request_id is None:
            raise ApiError(409, ORDER_ALREADY_PAID, "the order is already paid")
        payment = await deps.payments.initiate(
            order.id,
            merchant_id,
            order.amount,
            order.currency,
            cmd.method_dict(),
            correlation_id,
            request_id,
            manual_capture=order.manual_capture,
        )
        # read-your-writes: the attempt is in our view before the client hears of it. A new attempt's
        # INITIATED tells merchants nothing, so one statement keeps it (the order's lock and the view's
        # row together); any other status (a rerun's attempt that moved on) is told, in a unit of work
        if payment.status == PaymentStatus.INITIATED:
            async with SingleWrite(deps.pool) as write:
                await write.repo(PaymentViewRepository).lock_order_and_upsert(payment)
        else:
            async with UnitOfWork(deps.pool) as uow:
                # the order row first, as the payment-event consumer takes it: inserting the view row alone
                # takes the order's key-share lock after the view row's, and deadlocks with that consumer
                # applying this very attempt's `payment.initiated` at the same moment
                locked = await uow.repo(OrderRepository).lock(order.id)
                # a rerun's attempt may have moved on already: what it moved to is told here if not yet told
                await _keep(uow, locked or order, payment)
        log.info("payment.initiated", payment_id=payment.id, gateway_payment_id=payment.gatewayPaymentId)
        return payment


async def capture_payment(
    deps: Deps, merchant_id: str, payment_id: str, amount: int, currency: str, correlation_id: str | None
) -> PaymentView:
    """Capture the merchant's AUTHORIZED attempt through payment-svc (which captures it at the gateway). The
    attempt's view shows the capture at once; the order becomes PAID as for any SUCCESS, when payment-svc's
    `payment.succeeded` arrives (the emails and the receipt with it)."""
    await merchant_payment(deps, merchant_id, payment_id)
    with bound(payment_id=payment_id):
        payment = await deps.payments.capture(payment_id, merchant_id, amount, currency, correlation_id)
        async with UnitOfWork(deps.pool) as uow:
            # the order row first, as the payment-event consumer takes it
            order = await uow.repo(OrderRepository).lock(payment.orderId)
            if order is None:
                raise not_found("payment")
            await _keep(uow, order, payment)
        log.info("payment.captured", amount=amount, currency=currency)
    return await merchant_payment(deps, merchant_id, payment_id)


@dataclass(frozen=True, slots=True)
class Kept:
    fresh: bool  # the snapshot was the newest and is now the view's
    told: merchant_events.PaymentRead | None  # the attempt as read for the merchant events recorded


async def _keep(uow: UnitOfWork, order: Order, payment: events.PaymentSnapshot) -> Kept:
    """Keep the snapshot if it is the newest, recording the merchant events of the attempt's move.
    Every writer of the view goes through here, under the order's lock: whichever of them applies a move
    (the consumer, or the answer of a capture or of a rerun) tells it, and the others find nothing new."""
    moved = await uow.repo(PaymentViewRepository).upsert(payment)
    if moved is None:
        return Kept(fresh=False, told=None)
    told = await merchant_events.payment_changed(uow, order, moved.before, payment.status, payment.id)
    return Kept(fresh=True, told=told)


async def _apply(uow: UnitOfWork, event: events.PaymentEvent, _: str | None) -> None:
    """Keep the newest snapshot of the attempt and move the order with it, in the unit's transaction."""
    payment = event.payment
    orders = uow.repo(OrderRepository)
    # the order row lock orders this against other events of the same order
    order = await orders.lock(payment.orderId)
    if order is None:
        raise PermanentError("no such order", reason="UNKNOWN_ORDER")
    kept = await _keep(uow, order, payment)
    target = order_moves_to(payment.status)
    if target is OrderStatus.PAID:
        changed = await orders.move(order.id, target)
        # told on every SUCCESS heard, not only the first: payment-svc's reconciler publishes the
        # SUCCESS again when it has not heard back, and this answer is what it waits for
        uow.emit(order_paid(order, payment))
        if changed:
            await merchant_events.order_paid(uow, replace(order, status=OrderStatus.PAID), payment.id, kept.told)
            await payment_links.order_paid(uow, replace(order, status=OrderStatus.PAID), payment.id)
        if changed and order.customer_email is not None:
            await request_email(uow, order.id, payment)
    elif not kept.fresh:
        log.info("payment_event.stale_ignored", version=payment.version)
        return
    else:
        # an older snapshot never moves the order back: only a fresh FAILED fails it
        changed = await orders.move(order.id, target) if target is not None else False
    log.info("payment_event.applied", payment_status=payment.status, order_changed=changed)


async def _duplicate(_: UnitOfWork, __: events.PaymentEvent) -> None:
    log.info("payment_event.duplicate_ignored")


def payment_event_step(deps: Deps) -> Step[events.PaymentEvent]:
    """The consumer's step for each of payment-svc's payment events: claimed once, applied once.

    A snapshot the view already holds (most `payment.initiated`: the initiate call's answer wrote it
    first) changes nothing, so it is claimed (the inbox records it handled, as every message is) after
    one read, two lone statements instead of a transaction of five. Versions only grow, so a snapshot
    found stale stays stale. A SUCCESS always goes the whole way: its `order.paid` answer is told on every
    SUCCESS heard (see `_apply`)."""
    apply = claim_once(deps.pool, PAYMENT_EVENTS_CONSUMER, _apply, on_duplicate=_duplicate)

    async def step(message_id: str, event: events.PaymentEvent, correlation_id: str | None) -> None:
        payment = event.payment
        if order_moves_to(payment.status) is not OrderStatus.PAID:
            async with SingleWrite(deps.pool) as write:
                held = await write.repo(PaymentViewRepository).holds(payment)
                if held:
                    await claim(write.conn, PAYMENT_EVENTS_CONSUMER, message_id)
            if held:
                log.info("payment_event.stale_ignored", version=payment.version)
                return
        await apply(message_id, event, correlation_id)

    return bound_to(
        step,
        lambda event: {"order_id": event.payment.orderId, "payment_id": event.payment.id, "event_type": event.type},
    )


async def apply_payment_event(deps: Deps, message_id: str, event: events.PaymentEvent) -> None:
    """One payment event, as the consumer takes it (for callers holding a decoded event)."""
    await payment_event_step(deps)(message_id, event, None)


async def verify_payment(deps: Deps, merchant_id: str, cmd: VerifyPayment) -> PaymentVerified:
    """`POST /payments/verify`: the merchant's frontend reports what the gateway handed it after checkout.

    It only reads. The callback and the gateway's webhook may arrive in either order, and the callback
    comes from a browser, so it cannot be trusted to settle anything: the webhook (or the reconciler)
    settles, and this answers whether the signature is genuine and what the attempt's status is now.
    """
    if not ids.is_valid(ids.ORDER, cmd.orderId):
        raise not_found("order")
    # one snapshot, so the order's status and the attempt's never disagree in one answer
    async with ReadSnapshot(deps.pool) as snapshot:
        order = await snapshot.repo(OrderRepository).get(cmd.orderId, merchant_id)
        if order is None:
            raise not_found("order")
        # the signature before the lookup, so a forged one learns nothing about which gateway ids exist
        if not verify_payment_signature(deps.signing_keys, cmd.orderId, cmd.gatewayPaymentId, cmd.signature):
            raise ApiError(400, INVALID_SIGNATURE, "the payment signature does not verify", field="signature")
        view = await snapshot.repo(PaymentViewRepository).by_gateway_id(order.id, cmd.gatewayPaymentId)
    if view is None:
        raise ApiError(404, NOT_FOUND, "no payment attempt of this order has that gatewayPaymentId")
    return PaymentVerified.model_validate(
        {
            "verified": True,
            "orderId": order.id,
            "paymentId": view.id,
            "gatewayPaymentId": cmd.gatewayPaymentId,
            "status": view.status,
            "orderStatus": order.status,
        }
    )


async def merchant_payment(deps: Deps, merchant_id: str, payment_id: str) -> PaymentView:
    """The merchant's attempt, or 404: for a malformed id, no such attempt, or another merchant's."""
    return await read_one_found(
        deps.pool,
        "payment",
        ids.PAYMENT,
        payment_id,
        lambda snapshot: snapshot.repo(PaymentViewRepository).merchant_payment(payment_id, merchant_id),
    )


async def payment_trail(deps: Deps, merchant_id: str, payment_id: str) -> list[PaymentLogEntry]:
    """A payment attempt's trail for its merchant: what happened to it, oldest first.

    payment-svc keeps the trail (`payment_events`) and order-svc never reads its schema, so the trail is
    fetched over payment-svc's internal API; the merchant check is made first, on order-svc's own view,
    so another merchant's attempt answers 404 without payment-svc ever being asked.
    """
    await merchant_payment(deps, merchant_id, payment_id)
    trail = await deps.payments.events(payment_id)
    try:
        return [PaymentLogEntry.model_validate({field: entry.get(field) for field in TRAIL_FIELDS}) for entry in trail]
    except ValidationError:
        # payment-svc answered something this API does not document: as unavailable as no answer
        raise unavailable() from None
