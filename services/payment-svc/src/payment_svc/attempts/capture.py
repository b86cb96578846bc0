"""Authorise, then capture: the capture of an AUTHORIZED attempt (the merchant's), and its void (the
reconciler's, once nobody captured it in time).

The gateway decides a race between them: its record goes from `authorized` to `captured` or to `voided`
exactly once, and refuses the other. Whoever asked, payment-svc then applies what the gateway's record
says through `apply_report` (under the order row lock, then the payment row's), so both sides end the
same way and the loser's report is only a repeat. No gateway call is made inside a transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from payment_svc.attempts.domain import (
    NOT_CAPTURABLE,
    VOIDED,
    PaymentStatus,
    ReportedOutcome,
    Source,
    capture_refusal,
)
from payment_svc.attempts.repository import Payment, PaymentRepository
from payment_svc.attempts.service import Deps
from payment_svc.attempts.settlement import apply_report
from payment_svc.gateway.client import (
    GATEWAY_CAPTURED,
    GATEWAY_VOIDED,
    GatewayRecord,
    GatewayRejected,
    GatewayUnavailable,
)
from payments_common.errors import GATEWAY_ERROR, NOT_FOUND, ApiError
from payments_common.logging import bound, get_logger
from payments_common.signatures import verify_payment_signature
from payments_common.uow import UnitOfWork

log = get_logger(__name__)

VOIDED_DESCRIPTION = "the authorisation was voided: the payment was not captured"


@dataclass(frozen=True, slots=True)
class CapturePayment:
    payment_id: str
    merchant_id: str
    amount: int
    currency: str
    correlation_id: str | None = None


def _not_capturable(reason: str) -> ApiError:
    field = reason.split(":", 1)[0] if reason.startswith(("amount:", "currency:")) else None
    return ApiError(400, NOT_CAPTURABLE, reason, field)


async def capture_payment(deps: Deps, cmd: CapturePayment) -> Payment:
    """Capture the merchant's AUTHORIZED attempt for exactly its amount and currency. A capture that cannot
    be made (not authorised, captured already, failed or voided, another amount) is a 400 that changes
    nothing; one that lost to the void answers 400 too, with the attempt FAILED."""
    with bound(payment_id=cmd.payment_id):
        async with deps.pool.acquire() as conn:
            payment = await PaymentRepository(conn).get(cmd.payment_id)
        if payment is None or payment.merchant_id != cmd.merchant_id:
            raise ApiError(404, NOT_FOUND, "payment not found")
        refusal = capture_refusal(payment.status, payment.amount, payment.currency, cmd.amount, cmd.currency)
        if refusal is not None:
            raise _not_capturable(refusal)
        assert payment.gateway_payment_id is not None  # it was authorised by the gateway's report of it
        try:
            try:
                record = await deps.gateway.capture_payment(
                    payment.gateway_payment_id, payment.amount, payment.currency, cmd.correlation_id
                )
            except GatewayRejected:
                # refused: voided (or captured) meanwhile; what the gateway's record says is what happened
                record = await _record(deps, payment)
        except (GatewayUnavailable, GatewayRejected) as exc:
            log.warning("payment.capture_gateway_error", error=str(exc))
            raise ApiError(502, GATEWAY_ERROR, "the payment gateway could not capture the payment") from exc
        settled = await settle_from_record(deps, payment, record, Source.API, cmd.correlation_id)
        if settled.status is not PaymentStatus.SUCCESS:
            # the void won the race at the gateway (or the gateway still holds it authorised)
            now = f"{settled.status.value} ({settled.error_code})" if settled.error_code else settled.status.value
            raise _not_capturable(f"the payment could not be captured: it is {now}")
        log.info("payment.captured", gateway_payment_id=payment.gateway_payment_id)
        return settled


async def void_authorization(
    deps: Deps, payment: Payment, error_code: str, description: str, source: Source
) -> Payment:
    """Void an AUTHORIZED attempt at the gateway, then record what the gateway's record says: FAILED with
    `error_code`, or SUCCESS when a capture won the race. Raises GatewayUnavailable / GatewayRejected when
    the gateway cannot say."""
    assert payment.gateway_payment_id is not None
    with bound(payment_id=payment.id, order_id=payment.order_id):
        try:
            record = await deps.gateway.void_payment(payment.gateway_payment_id, error_code, description)
        except GatewayRejected:
            record = await _record(deps, payment)
        return await settle_from_record(deps, payment, record, source, None)


async def _record(deps: Deps, payment: Payment) -> GatewayRecord:
    record = await deps.gateway.find_payment(gateway_payment_id=payment.gateway_payment_id, payment_id=payment.id)
    if record is None:
        raise GatewayRejected("the gateway has no record of an authorised payment")
    return record


def _reported(record: GatewayRecord) -> ReportedOutcome | None:
    if record.status == GATEWAY_CAPTURED:
        return ReportedOutcome(PaymentStatus.SUCCESS, record.amount, record.currency)
    if record.status == GATEWAY_VOIDED:
        return ReportedOutcome(
            PaymentStatus.FAILED,
            None,
            None,
            record.error_code or VOIDED,
            record.error_description or VOIDED_DESCRIPTION,
        )
    return None  # still authorised: nothing to apply


async def settle_from_record(
    deps: Deps, payment: Payment, record: GatewayRecord, source: Source, correlation_id: str | None
) -> Payment:
    """Apply the gateway's record of an authorised attempt (captured or voided); the attempt as it is now."""
    genuine = (
        record.payment_id == payment.id
        and record.id == payment.gateway_payment_id
        and verify_payment_signature(deps.signing_secret, payment.order_id, record.id, record.signature)
    )
    if not genuine:
        raise GatewayRejected("the gateway's record does not match the payment")
    reported = _reported(record)
    async with UnitOfWork(deps.pool) as uow:
        repo = uow.repo(PaymentRepository)
        await repo.lock_existing_order(payment.order_id)
        current = await repo.get(payment.id, for_update=True)
        assert current is not None
        if reported is None:
            return current
        applied = await apply_report(
            uow, current, reported, source=source, event_id=None, correlation_id=correlation_id
        )
        return applied.payment
