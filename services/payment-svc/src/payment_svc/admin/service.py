"""Resolving an anomaly: an operator marks it resolved with a note, or, where the gateway captured money for
a payment the system kept FAILED, refunds that money through the normal refund path (a PENDING refund the
outbox sends to the gateway, settled by its webhook or the reconciler) and marks it resolved. Who and when
are recorded with it.

The refund is created under a request id derived from the anomaly, so a resolution retried after a crash
between the refund's transaction and the anomaly's finds the refund it made rather than making another."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from payment_svc.admin import repository
from payment_svc.admin.repository import Anomaly
from payment_svc.attempts.domain import PaymentStatus
from payment_svc.attempts.repository import PaymentRepository
from payment_svc.attempts.service import Deps
from payment_svc.refunds.service import CreateRefund, create_refund
from payments_common.errors import NOT_FOUND, ApiError
from payments_common.logging import bound, get_logger
from payments_common.uow import UnitOfWork

log = get_logger(__name__)

RESOLVE, REFUND = "resolve", "refund"
# money captured at the gateway for a payment this system kept FAILED: the one kind a refund gives back
REFUNDABLE_KINDS = frozenset({"SUCCESS_AFTER_FAILED"})
CONFLICT = "ANOMALY_CONFLICT"
_REQUESTS = uuid.UUID("6d1c7e0a-4b55-4a53-9a8e-0d9c1b7e3f21")


@dataclass(frozen=True, slots=True)
class Resolved:
    anomaly: Anomaly
    refund_id: str | None


def _conflict(message: str) -> ApiError:
    return ApiError(409, CONFLICT, message)


async def resolve_anomaly(deps: Deps, anomaly_id: int, operator: str, action: str, note: str) -> Resolved:
    with bound(anomaly_id=anomaly_id, operator=operator, action=action):
        refund_id = None
        if action == REFUND:
            refund_id = await _refund(deps, anomaly_id)
        async with UnitOfWork(deps.pool) as uow:
            anomaly = await repository.get_anomaly(uow.conn, anomaly_id, for_update=True)
            if anomaly is None:
                raise ApiError(404, NOT_FOUND, "anomaly not found")
            if anomaly.resolved_at is not None:
                raise _conflict(f"the anomaly was resolved already, by {anomaly.resolved_by or 'the system'}")
            resolution = "refunded" if refund_id is not None else "resolved"
            resolved = await repository.mark_resolved(uow.conn, anomaly_id, operator, resolution, note, refund_id)
        log.info("anomaly.resolved", resolution=resolution, refund_id=refund_id)
        return Resolved(resolved, refund_id)


async def _refund(deps: Deps, anomaly_id: int) -> str:
    async with deps.pool.acquire() as conn:
        anomaly = await repository.get_anomaly(conn, anomaly_id)
        if anomaly is None:
            raise ApiError(404, NOT_FOUND, "anomaly not found")
        payment = await PaymentRepository(conn).get(anomaly.payment_id)
    if anomaly.resolved_at is not None:
        raise _conflict("the anomaly was resolved already")
    if anomaly.kind not in REFUNDABLE_KINDS or payment is None or payment.status is not PaymentStatus.FAILED:
        raise _conflict("only money captured for a payment the system kept FAILED is refunded from an anomaly")
    refund = await create_refund(
        deps,
        CreateRefund(
            payment_id=payment.id,
            merchant_id=payment.merchant_id,
            amount=None,
            notes={"anomaly": str(anomaly_id)},
            request_id=uuid.uuid5(_REQUESTS, f"anomaly:{anomaly_id}"),
            captured_while_failed=True,
        ),
    )
    return refund.id
