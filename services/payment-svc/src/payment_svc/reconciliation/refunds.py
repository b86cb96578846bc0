"""Reconciliation of refunds: settle from the gateway's own record what a refund webhook did not.

A refund still PENDING past the reconciler's age threshold is looked up at the gateway, by the
gateway's id, or by ours when the answer to the send was lost before its id was stored:

- `processed` or `failed` there settles it through `refunds.service.settle_refund`, the webhook's own path, with
  source `reconciliation`: the payment row then the refund row locked, the refund re-checked under
  them. A webhook arriving meanwhile (or another reconciler) settles it first and this pass leaves it,
  or comes after and finds it settled (`refund_ignored_already_settled`); it is applied once either way.
- `pending` there is left to its webhook, and looked at again on the next pass.
- Unknown there, it is sent again (see `RefundReconciler._send_again` for why it is not failed).

A record that is not this refund's (another refund, payment, amount or currency) never settles it: it
is reported as an error for an operator, as the webhook path dead-letters such a report.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from payment_svc.attempts.domain import Source
from payment_svc.attempts.repository import Payment, PaymentRepository
from payment_svc.attempts.service import Deps
from payment_svc.gateway.client import (
    GATEWAY_REFUND_FAILED,
    GATEWAY_REFUND_PROCESSED,
    GatewayRefundRecord,
    GatewayRejected,
    GatewayUnavailable,
)
from payment_svc.refunds.domain import RefundStatus
from payment_svc.refunds.messages import refund_snapshot
from payment_svc.refunds.repository import Refund, RefundRepository
from payment_svc.refunds.service import send_refund, settle_refund
from payments_common import events, ids, metrics
from payments_common.errors import PermanentError, RetryableError
from payments_common.logging import bound, get_logger
from payments_common.uow import UnitOfWork

log = get_logger(__name__)

_REPORTED = {GATEWAY_REFUND_PROCESSED: RefundStatus.PROCESSED, GATEWAY_REFUND_FAILED: RefundStatus.FAILED}


@dataclass(slots=True)
class RefundReconcileReport:
    checked: int = 0
    settled: list[dict[str, Any]] = field(default_factory=list)
    still_pending: int = 0
    resent: list[dict[str, Any]] = field(default_factory=list)
    # each names the refund and its payment; the payment reconciler's report lists them with its own
    errors: list[dict[str, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "checked": self.checked,
            "settled": self.settled,
            "stillPending": self.still_pending,
            "resent": self.resent,
        }


def record_mismatch(refund: Refund, payment: Payment, record: GatewayRefundRecord) -> str | None:
    """Why the gateway's record is not this refund's, or None when it is."""
    if record.refund_id != refund.id:
        return "gateway refund record names another refund"
    if refund.gateway_refund_id is not None and record.id != refund.gateway_refund_id:
        return "gateway refund record has another gatewayRefundId"
    if record.gateway_payment_id != payment.gateway_payment_id:
        return "gateway refund record names another gateway payment"
    if (record.amount, record.currency) != (refund.amount, refund.currency):
        return "gateway refund record has another amount or currency"
    return None


class RefundReconciler:
    def __init__(self, deps: Deps, *, batch_size: int = 500, concurrency: int = 8) -> None:
        self._deps = deps
        self._batch_size = batch_size
        self._concurrency = concurrency

    async def run_once(self, cutoff: datetime) -> RefundReconcileReport:
        """One pass over the refunds still PENDING that were created before `cutoff`."""
        report = RefundReconcileReport()
        async with self._deps.pool.acquire() as conn:
            pending = await RefundRepository(conn).pending_before(cutoff, self._batch_size)
        gate = asyncio.Semaphore(self._concurrency)

        async def one(refund: Refund) -> None:
            async with gate:
                await self._reconcile(refund, report)

        await asyncio.gather(*(one(refund) for refund in pending))
        return report

    async def _reconcile(self, refund: Refund, report: RefundReconcileReport) -> None:
        report.checked += 1
        with bound(refund_id=refund.id, payment_id=refund.payment_id):
            try:
                record = await self._deps.gateway.find_refund(
                    gateway_refund_id=refund.gateway_refund_id, refund_id=refund.id
                )
            except (GatewayUnavailable, GatewayRejected) as exc:
                self._error(report, refund, str(exc))
                return
            if record is None:
                if refund.gateway_refund_id is not None:
                    # the gateway answered our send with this id: it did receive the refund, so sending
                    # it again would not be the same request; an operator looks at what happened there
                    self._error(report, refund, "the gateway has no record of the refund it accepted")
                    return
                await self._send_again(refund, report)
                return
            reported = _REPORTED.get(record.status)
            if reported is None:
                report.still_pending += 1
                return
            await self._settle(refund, record, reported, report)

    async def _settle(
        self, refund: Refund, record: GatewayRefundRecord, reported: RefundStatus, report: RefundReconcileReport
    ) -> None:
        async with UnitOfWork(self._deps.pool) as uow:
            repo = uow.repo(RefundRepository)
            # the webhook's lock order: the payment row, then the refund row
            payment = await uow.repo(PaymentRepository).get(refund.payment_id, for_update=True)
            current = await repo.get(refund.id, for_update=True)
            assert payment is not None and current is not None
            if current.status is not RefundStatus.PENDING:
                return  # settled meanwhile, by its webhook or another reconciler
            mismatch = record_mismatch(current, payment, record)
            if mismatch is not None:
                self._error(report, refund, mismatch)
                return
            await settle_refund(
                uow,
                payment,
                current,
                reported,
                gateway_refund_id=record.id,
                error_code=record.error_code,
                error_description=record.error_description,
                source=Source.RECONCILIATION,
                event_id=None,
                correlation_id=None,
            )
            settled = await repo.get(refund.id)
            assert settled is not None
        metrics.reconciliation_settled("refund", settled.status.value.lower())
        report.settled.append(self._settled_json(settled))

    async def _send_again(self, refund: Refund, report: RefundReconcileReport) -> None:
        """Send a refund the gateway never received, through the sender's own path.

        Not failed instead: the gateway not knowing the refund yet does not mean it never will. Its
        request may still be on its way (in a retry tier, or dead-lettered and about to be requeued by an
        operator); failing it would give its amount back while the gateway may still refund it, and the
        customer would be refunded twice if that amount were refunded again. Sending is safe where failing
        is not: the gateway is idempotent on our refund id, so this send and any late one make one refund
        there, and the request a merchant made is carried out rather than dropped. Only the gateway's own
        refusal (a payment not captured there, an over-refund) fails it, as it does for the first send.
        """
        request = events.RefundEvent(type=events.REFUND_REQUESTED, refund=refund_snapshot(refund))
        try:
            # a message id of its own: the inbox then tells this send apart from the request's deliveries
            await send_refund(self._deps, str(ids.new_uuid()), request, None, source=Source.RECONCILIATION)
        except (RetryableError, PermanentError) as exc:
            self._error(report, refund, str(exc))
            return
        async with self._deps.pool.acquire() as conn:
            sent = await RefundRepository(conn).get(refund.id)
        assert sent is not None
        if sent.status is RefundStatus.PENDING:
            report.resent.append(
                {"refundId": sent.id, "paymentId": sent.payment_id, "gatewayRefundId": sent.gateway_refund_id}
            )
            log.warning("refund_reconcile.resent", gateway_refund_id=sent.gateway_refund_id)
        else:
            metrics.reconciliation_settled("refund", sent.status.value.lower())
            report.settled.append(self._settled_json(sent))

    @staticmethod
    def _settled_json(refund: Refund) -> dict[str, Any]:
        return {
            "refundId": refund.id,
            "paymentId": refund.payment_id,
            "status": refund.status.value,
            "errorCode": refund.error_code,
            "source": Source.RECONCILIATION.value,
        }

    @staticmethod
    def _error(report: RefundReconcileReport, refund: Refund, error: str) -> None:
        report.errors.append({"paymentId": refund.payment_id, "refundId": refund.id, "error": error})
        log.warning("refund_reconcile.error", error=error)
