"""Refunds, payment-svc's side: created against a SUCCESS payment in one transaction, taken to the
gateway from the outbox (never inside the client's request), settled by the gateway's refund webhook.

Every path locks the payment row before the refund row, so two of them never deadlock; none takes the
order row, which belongs to the payment's own settlement. The payment's `amount_refunded` is the sum of
the refunds that have not failed: a refund reserves its amount when it is created, and a FAILED refund
gives it back in the transaction that marks it FAILED.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg

from payment_svc.attempts.domain import PaymentStatus, Source
from payment_svc.attempts.repository import Payment, PaymentRepository
from payment_svc.attempts.service import Deps, record_duplicate
from payment_svc.gateway.client import GatewayRejected, GatewayUnavailable
from payment_svc.refunds.domain import (
    GATEWAY_REJECTED,
    AmountRefused,
    RefundStatus,
    RefundTrail,
    can_transition,
    conflict_kind,
    is_refundable,
    refund_amount,
    released_amount,
)
from payment_svc.refunds.messages import refund_event
from payment_svc.refunds.repository import Refund, RefundRepository
from payments_common import events, ids
from payments_common.errors import (
    NOT_FOUND,
    PAYMENT_NOT_REFUNDABLE,
    ApiError,
    PermanentError,
    RetryableError,
    bad_request,
)
from payments_common.inbox import claim_once
from payments_common.logging import bound, get_logger
from payments_common.uow import UnitOfWork

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class CreateRefund:
    payment_id: str
    merchant_id: str
    # None: everything not refunded yet
    amount: int | None
    notes: dict[str, Any] | None
    correlation_id: str | None = None
    # the client's request as one logical request (its idempotency key): a rerun answers what it created
    request_id: uuid.UUID | None = None
    # an operator's refund of money the gateway captured for a payment the system kept FAILED (an anomaly's
    # resolution, payment_svc.admin): the one case a FAILED payment has money to give back
    captured_while_failed: bool = False


def _not_found() -> ApiError:
    return ApiError(404, NOT_FOUND, "payment not found")


async def create_refund(deps: Deps, cmd: CreateRefund) -> Refund:
    """Reserve the amount on the payment and record the refund PENDING, with its events, in one transaction.

    The payment row lock serialises concurrent refunds of one payment; the CHECK on `amount_refunded`
    refuses whatever would overshoot even if the code above it were wrong.
    """
    refund_id = ids.new_id(ids.REFUND)
    with bound(payment_id=cmd.payment_id, refund_id=refund_id):
        async with UnitOfWork(deps.pool) as uow:
            payments = uow.repo(PaymentRepository)
            payment = await payments.get(cmd.payment_id, for_update=True)
            if payment is None or payment.merchant_id != cmd.merchant_id:
                raise _not_found()
            repo = uow.repo(RefundRepository)
            if cmd.request_id is not None:
                # before the amount rules: with no amount given, the refund this request made left nothing
                earlier = await repo.by_request(payment.id, cmd.request_id)
                if earlier is not None:
                    log.info("refund.found_for_request", found_refund_id=earlier.id)
                    return earlier
            if not is_refundable(payment.status) and not (
                cmd.captured_while_failed and payment.status is PaymentStatus.FAILED
            ):
                raise ApiError(
                    409,
                    PAYMENT_NOT_REFUNDABLE,
                    f"only a SUCCESS payment can be refunded; this one is {payment.status.value}",
                )
            try:
                amount = refund_amount(cmd.amount, payment.amount, await repo.amount_refunded(payment.id))
                refunded = await repo.reserve(payment.id, amount)
            except AmountRefused as exc:
                raise bad_request(str(exc), "amount") from None
            except asyncpg.CheckViolationError:
                raise bad_request("amount exceeds what is left to refund", "amount") from None
            refund = await repo.insert(
                refund_id,
                payment.id,
                payment.order_id,
                payment.merchant_id,
                amount,
                payment.currency,
                cmd.notes,
                cmd.request_id,
            )
            await payments.record(
                payment.id,
                RefundTrail.REQUESTED,
                Source.API.value,
                detail={
                    "refundId": refund_id,
                    "amount": amount,
                    "currency": payment.currency,
                    "amountRefunded": refunded,
                },
            )
            # one to send it to the gateway, one with the snapshot for order-svc's view
            uow.emit(refund_event(refund, events.REFUND_REQUESTED, cmd.correlation_id))
            uow.emit(refund_event(refund, events.REFUND_CREATED, cmd.correlation_id))
        log.info("refund.requested", amount=amount, amount_refunded=refunded)
        return refund


async def get_refund(deps: Deps, refund_id: str) -> Refund | None:
    async with deps.pool.acquire() as conn:
        return await RefundRepository(conn).get(refund_id)


REFUND_REQUESTS_CONSUMER = "payment-svc.refund-requests"


async def send_refund(
    deps: Deps,
    message_id: str,
    event: events.RefundEvent,
    correlation_id: str | None,
    *,
    source: Source = Source.API,
) -> None:
    """Take a requested refund to the gateway, then note where it went (`source` says who asked: the
    request's own consumer, or the reconciler sending again a refund the gateway never received).

    The gateway call happens outside any transaction and is idempotent on the refund id, so a
    redelivered request (or a crash before the inbox claim committed) asks again and gets the same
    refund back, never a second one. A refusal (the gateway says the payment cannot be refunded by
    that much) is final: the refund is FAILED and its amount given back.
    """
    with bound(refund_id=event.refund.id, payment_id=event.refund.paymentId):
        async with deps.pool.acquire() as conn:
            refund = await RefundRepository(conn).get(event.refund.id)
            payment = await PaymentRepository(conn).get(refund.payment_id) if refund else None
        if refund is None or payment is None:
            raise PermanentError("no such refund", reason="UNKNOWN_REFUND")
        if refund.status is not RefundStatus.PENDING or refund.gateway_refund_id is not None:
            log.info("refund.already_sent", status=refund.status.value)
            return
        if payment.gateway_payment_id is None:
            raise PermanentError("the payment has no gateway payment to refund", reason="PAYMENT_NOT_AT_GATEWAY")
        rejected: GatewayRejected | None = None
        try:
            sent = await deps.gateway.create_refund(
                refund.id, payment.gateway_payment_id, refund.amount, refund.currency, correlation_id
            )
        except GatewayUnavailable as exc:
            raise RetryableError(str(exc), reason="GATEWAY_UNAVAILABLE") from None
        except GatewayRejected as exc:
            rejected = exc

        async def record(uow: UnitOfWork, _: events.RefundEvent, __: str | None) -> None:
            locked = await uow.repo(PaymentRepository).get(payment.id, for_update=True)
            current = await uow.repo(RefundRepository).get(refund.id, for_update=True)
            assert locked is not None and current is not None
            if rejected is not None:
                log.warning("refund.gateway_rejected", error=str(rejected))
                await settle_refund(
                    uow,
                    locked,
                    current,
                    RefundStatus.FAILED,
                    gateway_refund_id=None,
                    error_code=GATEWAY_REJECTED,
                    error_description=str(rejected),
                    source=source,
                    event_id=None,
                    correlation_id=correlation_id,
                )
                return
            # the webhook may have come first and attached the id already: the refund was sent all the same
            await uow.repo(RefundRepository).attach_gateway_refund(refund.id, sent.id)
            await uow.repo(PaymentRepository).record(
                payment.id, RefundTrail.SENT, source.value, detail={"refundId": refund.id, "gatewayRefundId": sent.id}
            )
            log.info("refund.sent", gateway_refund_id=sent.id)

        # the claim comes after the gateway call, so that no HTTP round trip happens inside a transaction
        await claim_once(deps.pool, REFUND_REQUESTS_CONSUMER, record)(message_id, event, correlation_id)


REFUND_WEBHOOK_CONSUMER = "payment-svc.refund-webhooks"


async def _refund_webhook_duplicate(uow: UnitOfWork, envelope: events.RefundWebhookEnvelope) -> None:
    data = envelope.data
    await record_duplicate(uow, data.paymentId, envelope.eventId, {"refundId": data.refundId, "reported": data.status})
    log.info("refund_webhook.duplicate_ignored")


async def apply_refund_webhook(
    deps: Deps, message_id: str, envelope: events.RefundWebhookEnvelope, correlation_id: str | None
) -> None:
    """Apply a verified gateway report of a refund once; a report that can never apply is dead-lettered."""
    data = envelope.data
    with bound(refund_id=data.refundId, payment_id=data.paymentId, event_id=envelope.eventId):
        step = claim_once(
            deps.pool, REFUND_WEBHOOK_CONSUMER, _settle_from_webhook, on_duplicate=_refund_webhook_duplicate
        )
        await step(message_id, envelope, correlation_id)


async def _settle_from_webhook(
    uow: UnitOfWork, envelope: events.RefundWebhookEnvelope, correlation_id: str | None
) -> None:
    data = envelope.data
    payments, repo = uow.repo(PaymentRepository), uow.repo(RefundRepository)
    found = await repo.get(data.refundId)
    # refunds are committed before the gateway ever hears of them: an unknown one will not appear later
    if found is None:
        raise PermanentError("no such refund", reason="UNKNOWN_REFUND")
    if found.payment_id != data.paymentId:
        raise PermanentError("the refund belongs to another payment", reason="REFUND_PAYMENT_MISMATCH")
    payment = await payments.get(found.payment_id, for_update=True)
    refund = await repo.get(found.id, for_update=True)
    assert payment is not None and refund is not None
    if payment.gateway_payment_id != data.gatewayPaymentId:
        raise PermanentError("gatewayPaymentId does not match the payment", reason="GATEWAY_PAYMENT_MISMATCH")
    if refund.gateway_refund_id not in (None, data.gatewayRefundId):
        raise PermanentError("gatewayRefundId does not match the refund", reason="GATEWAY_REFUND_MISMATCH")
    if (data.amount, data.currency) != (refund.amount, refund.currency):
        # money may have moved otherwise than we asked: an operator decides, from the dead letter
        raise PermanentError("the reported amount or currency is not the refund's", reason="REFUND_MISMATCH")
    await settle_refund(
        uow,
        payment,
        refund,
        RefundStatus(data.status),
        gateway_refund_id=data.gatewayRefundId,
        error_code=data.errorCode,
        error_description=data.errorDescription,
        source=Source.WEBHOOK,
        event_id=envelope.eventId,
        correlation_id=correlation_id,
    )


async def settle_refund(
    uow: UnitOfWork,
    payment: Payment,
    refund: Refund,
    reported: RefundStatus,
    *,
    gateway_refund_id: str | None,
    error_code: str | None,
    error_description: str | None,
    source: Source,
    event_id: str | None,
    correlation_id: str | None,
) -> None:
    """Apply a report of a refund's outcome, whoever makes it (its webhook, the reconciler, the gateway's
    refusal of the send). The caller holds the payment row lock, then the refund row lock."""
    payments, repo = uow.repo(PaymentRepository), uow.repo(RefundRepository)
    detail: dict[str, Any] = {"refundId": refund.id, "reported": reported.value, "current": refund.status.value}
    if not can_transition(refund.status, reported):
        anomaly = conflict_kind(refund.status, reported)
        kind = RefundTrail.CONFLICT_IGNORED if anomaly else RefundTrail.IGNORED_ALREADY_SETTLED
        await payments.record(payment.id, kind, source.value, event_id, detail)
        if anomaly:
            # a refund reported PROCESSED after we gave its amount back: money may have moved twice
            await payments.record_anomaly(payment, anomaly, source.value, event_id, {**detail, "amount": refund.amount})
            log.warning("refund.anomaly", anomaly=anomaly, **detail)
        else:
            log.info("refund.report_ignored", reason=kind, **detail)
        return
    if reported is RefundStatus.FAILED:
        error_code = error_code or "REFUND_FAILED"
        error_description = error_description or "the gateway reported the refund as failed"
    settled = await repo.settle(refund.id, reported, gateway_refund_id, error_code, error_description)
    assert settled is not None  # the row is locked and was PENDING
    released = released_amount(reported, refund.amount)
    refunded = await repo.release(payment.id, released) if released else await repo.amount_refunded(payment.id)
    kind = RefundTrail.PROCESSED if reported is RefundStatus.PROCESSED else RefundTrail.FAILED
    await payments.record(
        payment.id,
        kind,
        source.value,
        event_id,
        {
            "refundId": refund.id,
            "current": refund.status.value,
            "to": reported.value,
            "errorCode": settled.error_code,
            "amountRefunded": refunded,
        },
    )
    uow.emit(refund_event(settled, events.REFUND_UPDATED, correlation_id))
    log.info("refund.settled", status=reported.value, error_code=settled.error_code, amount_refunded=refunded)
