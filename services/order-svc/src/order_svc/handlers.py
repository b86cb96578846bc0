"""The service layer: plain async functions over a unit of work. Views and consumers call these."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg

from order_svc.domain import CreateOrder, InitiatePayment
from order_svc.mailer import payment_email_event
from order_svc.payment_emails import PaymentEmailRepository
from order_svc.payments_client import PaymentsClient
from order_svc.repository import Order, OrderRepository, PaymentView
from payments_common import events, ids, inbox
from payments_common.errors import NOT_FOUND, ORDER_ALREADY_PAID, ApiError, PermanentError
from payments_common.logging import bound, get_logger
from payments_common.outbox import OutboxEvent
from payments_common.timeutil import utcnow
from payments_common.topology import ORDER_EVENTS_EXCHANGE
from payments_common.uow import UnitOfWork

log = get_logger(__name__)

PAYMENT_EVENTS_CONSUMER = "order-svc.payment-events"


@dataclass(frozen=True, slots=True)
class Deps:
    pool: asyncpg.Pool
    payments: PaymentsClient
    # every key of PAYMENT_SIGNING_SECRET, for `POST /payments/verify`; with none, no signature verifies
    signing_keys: tuple[bytes, ...] = ()


def _not_found() -> ApiError:
    return ApiError(404, NOT_FOUND, "order not found")


async def create_order(deps: Deps, merchant_id: str, cmd: CreateOrder, request_id: uuid.UUID | None = None) -> Order:
    """`request_id`, from the request's idempotency key, makes a rerun of the same request (after its
    first process died) answer the order that run created instead of creating a second one."""
    order_id = ids.new_id(ids.ORDER)
    async with UnitOfWork(deps.pool) as uow:
        order = await OrderRepository(uow.conn).insert(
            order_id,
            merchant_id,
            cmd.amount,
            cmd.currency,
            cmd.receipt,
            cmd.notes,
            cmd.customer.email if cmd.customer else None,
            cmd.customer.name if cmd.customer else None,
            request_id,
        )
    if order.id != order_id:
        log.info("order.found_for_request", order_id=order.id)
        return order
    log.info("order.created", order_id=order_id, amount=cmd.amount, currency=cmd.currency)
    return order


async def get_order(deps: Deps, merchant_id: str, order_id: str) -> tuple[Order, list[PaymentView]]:
    if not ids.is_valid(ids.ORDER, order_id):
        raise _not_found()
    async with deps.pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        # one snapshot for the order and its attempts, so the two never disagree in one answer
        repo = OrderRepository(conn)
        order = await repo.get(order_id, merchant_id)
        if order is None:
            raise _not_found()
        return order, await repo.payments(order_id)


async def initiate_payment(
    deps: Deps,
    merchant_id: str,
    cmd: InitiatePayment,
    correlation_id: str | None,
    request_id: uuid.UUID | None = None,
) -> events.PaymentSnapshot:
    """`request_id`, from the request's idempotency key, lets payment-svc answer the attempt an earlier
    run of this very request created (its process died before answering) instead of starting another."""
    if not ids.is_valid(ids.ORDER, cmd.orderId):
        raise _not_found()
    with bound(order_id=cmd.orderId):
        async with deps.pool.acquire() as conn:
            order = await OrderRepository(conn).get(cmd.orderId, merchant_id)
        if order is None:
            raise _not_found()
        # a rerun of a request whose attempt paid the order goes on to payment-svc, which answers that attempt
        if order.status == "PAID" and request_id is None:
            raise ApiError(409, ORDER_ALREADY_PAID, "the order is already paid")
        payment = await deps.payments.initiate(
            order.id, merchant_id, order.amount, order.currency, cmd.method_dict(), correlation_id, request_id
        )
        # read-your-writes: the attempt is in our view before the client hears of it
        async with UnitOfWork(deps.pool) as uow:
            repo = OrderRepository(uow.conn)
            # the order row first, as the payment-event consumer takes it: inserting the view row alone
            # takes the order's key-share lock after the view row's, and deadlocks with that consumer
            # applying this very attempt's `payment.initiated` at the same moment
            await repo.lock(order.id)
            await repo.upsert_payment(payment)
        log.info("payment.initiated", payment_id=payment.id, gateway_payment_id=payment.gatewayPaymentId)
        return payment


def _order_paid(order: Order, payment: events.PaymentSnapshot) -> OutboxEvent:
    body = events.OrderPaidEvent(orderId=order.id, paymentId=payment.id, merchantId=order.merchant_id, paidAt=utcnow())
    return OutboxEvent(
        aggregate_type="order",
        aggregate_id=order.id,
        event_type=events.ORDER_PAID,
        exchange=ORDER_EVENTS_EXCHANGE,
        routing_key=events.ORDER_PAID,
        payload=body.model_dump(mode="json"),
    )


async def _email_once(uow: UnitOfWork, order: Order, payment: events.PaymentSnapshot) -> None:
    """The customer's email, asked for by the SUCCESS that marks the order PAID; a SUCCESS heard again
    (redelivered, republished by the reconciler, replayed) finds the order PAID, and the row's primary
    key (the payment id) would refuse it anyway."""
    if await PaymentEmailRepository(uow.conn).add(payment.id, order.id):
        uow.emit(payment_email_event(order.id, payment.id, payment.method))


async def apply_payment_event(deps: Deps, message_id: str, event: events.PaymentEvent) -> None:
    """Keep the newest snapshot of the attempt and move the order with it, in one transaction."""
    payment = event.payment
    with bound(order_id=payment.orderId, payment_id=payment.id, event_type=event.type):
        async with UnitOfWork(deps.pool) as uow:
            if not await inbox.claim(uow.conn, PAYMENT_EVENTS_CONSUMER, message_id):
                log.info("payment_event.duplicate_ignored")
                return
            repo = OrderRepository(uow.conn)
            # the order row lock orders this against other events of the same order
            order = await repo.lock(payment.orderId)
            if order is None:
                raise PermanentError("no such order", reason="UNKNOWN_ORDER")
            fresh = await repo.upsert_payment(payment)
            if payment.status == "SUCCESS":
                changed = await repo.mark_paid(order.id)
                # told on every SUCCESS heard, not only the first: payment-svc's reconciler publishes the
                # SUCCESS again when it has not heard back, and this answer is what it waits for
                uow.emit(_order_paid(order, payment))
                if changed and order.customer_email is not None:
                    await _email_once(uow, order, payment)
            elif not fresh:
                log.info("payment_event.stale_ignored", version=payment.version)
                return
            elif payment.status == "FAILED":
                changed = await repo.mark_failed(order.id)
            else:
                changed = False
        log.info("payment_event.applied", payment_status=payment.status, order_changed=changed)
