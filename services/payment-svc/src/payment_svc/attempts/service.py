"""The payment attempts' use cases: plain async functions over a unit of work. Views and consumers call these."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from payment_svc.attempts.domain import PaymentStatus, ReportedOutcome, Source
from payment_svc.attempts.messages import payment_event
from payment_svc.attempts.repository import (
    OPEN_ATTEMPT_INDEXES,
    OrderPayments,
    Payment,
    PaymentEventRow,
    PaymentRepository,
    Trail,
)
from payment_svc.attempts.settlement import apply_report
from payment_svc.gateway.client import GatewayClient, GatewayRejected, GatewayUnavailable
from payments_common import events, ids
from payments_common.errors import (
    GATEWAY_ERROR,
    NOT_FOUND,
    ORDER_ALREADY_PAID,
    PAYMENT_IN_PROGRESS,
    ApiError,
    PermanentError,
    RetryableError,
)
from payments_common.inbox import claim_once
from payments_common.logging import bound, get_logger
from payments_common.methods import summary_or_none
from payments_common.signatures import verify_payment_signature
from payments_common.uow import SingleWrite, UnitOfWork

log = get_logger(__name__)

WEBHOOK_CONSUMER = "payment-svc.webhooks"
# the trail's kind for a redelivered webhook that the inbox claim turned away
DUPLICATE_IGNORED = "duplicate_ignored"


@dataclass(frozen=True, slots=True)
class Deps:
    pool: asyncpg.Pool
    gateway: GatewayClient
    # every key of PAYMENT_SIGNING_SECRET: the gateway may sign with any of them during a rotation
    signing_secret: bytes | tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class InitiatePayment:
    order_id: str
    merchant_id: str
    amount: int
    currency: str
    # the whole method, for the gateway alone: a card's number and CVV are in it, so it is never stored,
    # published or shown (not even in a repr); everything else has its summary
    method: dict[str, Any] | None = field(repr=False)
    correlation_id: str | None = None
    # the client's request as one logical request (its idempotency key): a rerun answers what it created
    request_id: uuid.UUID | None = None
    # the gateway authorises the payment and it waits AUTHORIZED for a capture (`attempts.capture`)
    manual_capture: bool = False


async def initiate_payment(deps: Deps, cmd: InitiatePayment) -> Payment:
    """Reserve the attempt, ask the gateway for its payment, then attach it.

    The attempt is committed before the gateway call so that no HTTP round trip happens inside a
    transaction; the partial unique index and the order row lock keep one attempt in flight.
    """
    payment_id = ids.new_id(ids.PAYMENT)
    with bound(order_id=cmd.order_id, payment_id=payment_id):
        payment, reserved = await _reserve(deps, payment_id, cmd)
        if not reserved:
            return payment

        try:
            gateway_payment = await deps.gateway.create_payment(
                payment_id,
                cmd.order_id,
                cmd.amount,
                cmd.currency,
                cmd.method,
                cmd.correlation_id,
                manual_capture=cmd.manual_capture,
            )
            if not verify_payment_signature(
                deps.signing_secret, cmd.order_id, gateway_payment.id, gateway_payment.signature
            ):
                raise GatewayRejected("gateway signature does not verify with any of our signing secrets")
        except (GatewayUnavailable, GatewayRejected) as exc:
            await _fail_unstarted(deps, payment, str(exc), cmd.correlation_id)
            raise ApiError(502, GATEWAY_ERROR, "the payment gateway could not start the payment") from exc

        async with UnitOfWork(deps.pool) as uow:
            repo = uow.repo(PaymentRepository)
            attached = await repo.attach_gateway_payment(
                payment_id,
                gateway_payment.id,
                gateway_payment.signature,
                trail=Trail("sent_to_gateway", "api", detail={"gatewayPaymentId": gateway_payment.id}),
            )
            if attached is None:  # settled meanwhile by some other path; answer what it is now
                current = await repo.get(payment_id)
                assert current is not None
                return current
            uow.emit(payment_event(attached, events.PAYMENT_INITIATED, cmd.correlation_id))
        log.info("payment.initiated", gateway_payment_id=gateway_payment.id)
        return attached


async def _reserve(deps: Deps, payment_id: str, cmd: InitiatePayment) -> tuple[Payment, bool]:
    """The attempt reserved for the gateway call, and True; or, for a rerun of the client's request that got
    that far before, the attempt its first run made, as it is now, and False.

    Without a request id, one statement does it (the order's row created or locked, the attempt inserted):
    no BEGIN and COMMIT around it. With one, the order's row is locked first and the earlier attempt looked
    up under that lock, in a fresh snapshot, so that a rerun racing its first run finds what that made."""
    order = OrderPayments(cmd.order_id, cmd.merchant_id, cmd.amount, cmd.currency, paid_payment_id=None)
    method = summary_or_none(cmd.method)
    trail = Trail("created", "api", detail={"amount": cmd.amount, "currency": cmd.currency})
    try:
        if cmd.request_id is None:
            async with SingleWrite(deps.pool) as write:
                locked, started = await write.repo(PaymentRepository).start(
                    payment_id, order, method, cmd.manual_capture, trail
                )
            _check_can_start(locked, cmd)
            assert started is not None  # inserted whenever the order may start an attempt
            return started, True
        async with UnitOfWork(deps.pool) as uow:
            repo = uow.repo(PaymentRepository)
            locked = await repo.lock_order(cmd.order_id, cmd.merchant_id, cmd.amount, cmd.currency)
            if locked.merchant_id == cmd.merchant_id:
                # before the state checks: the attempt this request made may have paid the order since
                earlier = await repo.by_request(cmd.order_id, cmd.request_id)
                if earlier is not None:
                    log.info("payment.found_for_request", found_payment_id=earlier.id)
                    return earlier, False
            _check_can_start(locked, cmd)
            inserted = await repo.insert(
                payment_id, locked, method, cmd.request_id, manual_capture=cmd.manual_capture, trail=trail
            )
            return inserted, True
    except asyncpg.UniqueViolationError as exc:
        # one open attempt per order, kept by a partial unique index: asking it by inserting saves the
        # look-up before every insert (the statement, or the unit, rolls back with the error)
        if exc.constraint_name not in OPEN_ATTEMPT_INDEXES:
            raise
        raise ApiError(409, PAYMENT_IN_PROGRESS, "a payment attempt for this order is still in progress") from None


def _check_can_start(order: OrderPayments, cmd: InitiatePayment) -> None:
    if order.merchant_id != cmd.merchant_id:
        raise ApiError(404, NOT_FOUND, "order not found")
    if order.paid_payment_id is not None:
        raise ApiError(409, ORDER_ALREADY_PAID, "the order is already paid")


async def _fail_unstarted(deps: Deps, payment: Payment, reason: str, correlation_id: str | None) -> None:
    async with UnitOfWork(deps.pool) as uow:
        repo = uow.repo(PaymentRepository)
        trail = Trail("gateway_error", Source.API.value, detail={"error": reason})
        failed = await repo.settle(
            payment.id,
            PaymentStatus.FAILED,
            GATEWAY_ERROR,
            "the payment gateway could not start the payment",
            Source.API.value,
            trail=trail,
        )
        if failed is not None:
            uow.emit(payment_event(failed, events.PAYMENT_FAILED, correlation_id))
        else:  # settled meanwhile: the error is told all the same
            await repo.record(payment.id, *trail.args())
    log.warning("payment.gateway_error", error=reason)


async def get_payment(deps: Deps, payment_id: str) -> Payment | None:
    async with deps.pool.acquire() as conn:
        return await PaymentRepository(conn).get(payment_id)


async def get_payment_events(deps: Deps, payment_id: str) -> list[PaymentEventRow] | None:
    """The payment's trail oldest first; None when there is no such payment."""
    async with deps.pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        repo = PaymentRepository(conn)
        if await repo.order_of(payment_id) is None:
            return None
        return await repo.events_of(payment_id)


async def record_duplicate(uow: UnitOfWork, payment_id: str, event_id: str, detail: dict[str, Any]) -> None:
    """A redelivered report the inbox claim turned away, kept in the payment's trail so an operator sees it; its
    own kind, because it applies nothing (exactly-once checks count only the kinds that apply an event)."""
    await uow.repo(PaymentRepository).record(payment_id, DUPLICATE_IGNORED, Source.WEBHOOK.value, event_id, detail)


async def _webhook_duplicate(uow: UnitOfWork, envelope: events.WebhookEnvelope) -> None:
    await record_duplicate(uow, envelope.data.paymentId, envelope.eventId, {"reported": envelope.data.status})
    log.info("webhook.duplicate_ignored")


async def apply_webhook(
    deps: Deps, message_id: str, envelope: events.WebhookEnvelope, correlation_id: str | None
) -> None:
    """Apply a verified gateway report once (the webhook queue's step for a payment's report)."""
    data = envelope.data
    with bound(order_id=data.orderId, payment_id=data.paymentId, event_id=envelope.eventId):
        step = claim_once(deps.pool, WEBHOOK_CONSUMER, _settle_from_webhook, on_duplicate=_webhook_duplicate)
        await step(message_id, envelope, correlation_id)


async def _settle_from_webhook(uow: UnitOfWork, envelope: events.WebhookEnvelope, correlation_id: str | None) -> None:
    """Order of locks: the order row, then the payment row, as `initiate_payment` does, so the two
    never deadlock. Anything that may pass (the attempt is not there yet) raises RetryableError and
    rolls back the inbox claim with it; a report that can never apply raises PermanentError.
    """
    data = envelope.data
    repo = uow.repo(PaymentRepository)
    # the order the report names is locked without first looking up the payment's own (a round trip
    # saved); the payment's order is checked once it is read, and a report naming another order only
    # held that order's row until it rolls back
    await repo.lock_existing_order(data.orderId)
    payment = await repo.get(data.paymentId, for_update=True)
    if payment is None:
        raise RetryableError("no such payment (yet)", reason="UNKNOWN_PAYMENT")
    if payment.order_id != data.orderId:
        raise PermanentError("the payment belongs to another order", reason="ORDER_MISMATCH")
    if payment.gateway_payment_id is None and payment.status is PaymentStatus.INITIATED:
        raise RetryableError("the payment is not attached to the gateway yet", reason="PAYMENT_NOT_READY")
    # a payment failed before we learned its gateway id has none to compare; the report then
    # only counts as a conflict (the gateway may have gone on to settle what we gave up on)
    if payment.gateway_payment_id not in (None, data.gatewayPaymentId):
        raise PermanentError("gatewayPaymentId does not match the payment", reason="GATEWAY_PAYMENT_MISMATCH")
    reported = ReportedOutcome(
        status=PaymentStatus(data.status),
        amount=data.amount,
        currency=data.currency,
        error_code=data.errorCode,
        error_description=data.errorDescription,
    )
    await apply_report(
        uow, payment, reported, source=Source.WEBHOOK, event_id=envelope.eventId, correlation_id=correlation_id
    )


async def confirm_order_paid(deps: Deps, message_id: str, event: events.OrderPaidEvent) -> None:
    """The order service has the order paid by this payment: the reconciler stops watching it.

    One statement outside a transaction, and no inbox: the moment is set only the first time, so applying
    the event again changes nothing, and it tells no one (`message_id` is not needed to apply it once)."""
    with bound(order_id=event.orderId, payment_id=event.paymentId):
        async with SingleWrite(deps.pool) as write:
            confirmed = await write.repo(PaymentRepository).confirm_order_paid(event.paymentId)
        if not confirmed:
            raise PermanentError("order paid by a payment that is not a SUCCESS here", reason="UNKNOWN_PAYMENT")
