"""Reconciliation: settle what webhooks did not, from the gateway's own record.

- An attempt still INITIATED `after_seconds` after it started is looked up at the gateway (by the
  gateway's id, or by ours when the process died before it learned the gateway's). A captured or
  failed record settles it through `apply_report`, the webhook's own path, with source
  `reconciliation`. One the gateway has no record of, or still holds as created, past
  `expiry_seconds` ends FAILED `EXPIRED`, source `expiry`.
- An attempt AUTHORIZED (made for manual capture) that nobody captured within `void_after_seconds`
  (AUTHORIZATION_VOID_AFTER_SECONDS) is voided at the gateway and ends FAILED `AUTHORIZATION_EXPIRED`,
  source `expiry`; when a capture won the race at the gateway it ends SUCCESS instead (`attempts.capture`).
- A SUCCESS whose order the order service has not confirmed paid after `confirm_after_seconds` has
  its event published again (the order service's answer, `order.paid`, confirms it).
- A refund still PENDING `after_seconds` after it was created is settled from the gateway's record of
  it, or sent again when the gateway never received it (`reconciliation.refunds`).

Each attempt is settled in its own transaction under the same locks as a webhook (the order row,
then the payment row), and re-checked there: a webhook arriving meanwhile wins or is ignored, never
applied twice. Several reconcilers (a periodic one, an operator's) may run at once for that reason.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from payment_svc.attempts.capture import void_authorization
from payment_svc.attempts.domain import AUTHORIZATION_EXPIRED, EXPIRED, PaymentStatus, ReportedOutcome, Source
from payment_svc.attempts.messages import payment_event
from payment_svc.attempts.repository import Payment, PaymentRepository, Trail
from payment_svc.attempts.service import Deps
from payment_svc.attempts.settlement import apply_report
from payment_svc.gateway.client import (
    GATEWAY_AUTHORIZED,
    GATEWAY_CAPTURED,
    GATEWAY_FAILED,
    GATEWAY_VOIDED,
    GatewayClient,
    GatewayRecord,
    GatewayRejected,
    GatewayUnavailable,
)
from payment_svc.reconciliation.refunds import RefundReconciler, RefundReconcileReport
from payments_common import events, metrics
from payments_common.logging import bound, get_logger
from payments_common.signatures import verify_payment_signature
from payments_common.timeutil import iso, utcnow
from payments_common.uow import UnitOfWork

log = get_logger(__name__)

EXPIRED_DESCRIPTION = "the payment was not completed in time"
AUTHORIZATION_EXPIRED_DESCRIPTION = "the authorisation was not captured in time and was voided"


# what a reconciled attempt ended as, for `reconciliation_settlements`' outcome label
_OUTCOMES = {
    PaymentStatus.SUCCESS: "captured",
    PaymentStatus.FAILED: "failed",
    PaymentStatus.INITIATED: "pending",
    PaymentStatus.AUTHORIZED: "authorized",
}
# the gateway's records that settle an INITIATED attempt, and the status each reports
_REPORTS = {
    GATEWAY_CAPTURED: PaymentStatus.SUCCESS,
    GATEWAY_FAILED: PaymentStatus.FAILED,
    GATEWAY_AUTHORIZED: PaymentStatus.AUTHORIZED,
    GATEWAY_VOIDED: PaymentStatus.FAILED,
}


def _expired() -> ReportedOutcome:
    return ReportedOutcome(status=PaymentStatus.FAILED, error_code=EXPIRED, error_description=EXPIRED_DESCRIPTION)


@dataclass(frozen=True, slots=True)
class ReconcileConfig:
    after_seconds: float = 120.0
    expiry_seconds: float = 900.0
    confirm_after_seconds: float = 120.0
    # an authorisation nobody captured for this long is voided (5 days)
    void_after_seconds: float = 432000.0
    batch_size: int = 500
    concurrency: int = 8


@dataclass(slots=True)
class ReconcileReport:
    checked: int = 0
    settled: list[dict[str, Any]] = field(default_factory=list)
    still_pending: int = 0
    republished: list[str] = field(default_factory=list)
    voided: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)
    refunds: RefundReconcileReport = field(default_factory=RefundReconcileReport)
    started_at: datetime = field(default_factory=utcnow)
    finished_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "startedAt": iso(self.started_at),
            "finishedAt": iso(self.finished_at) if self.finished_at is not None else None,
            "checked": self.checked,
            "settled": self.settled,
            "stillPending": self.still_pending,
            "republished": self.republished,
            "voided": self.voided,
            "errors": self.errors,
            "refunds": self.refunds.to_json(),
        }


class Reconciler:
    def __init__(
        self,
        pool: asyncpg.Pool,
        gateway: GatewayClient,
        signing_secret: bytes | tuple[bytes, ...],
        config: ReconcileConfig,
    ) -> None:
        self._pool = pool
        self._gateway = gateway
        self._signing_secret = signing_secret
        self._config = config
        # the last pass that finished (timed or asked for), for `GET /admin/reconcile/last`
        self.last: ReconcileReport | None = None
        self._refunds = RefundReconciler(
            Deps(pool=pool, gateway=gateway, signing_secret=signing_secret),
            batch_size=config.batch_size,
            concurrency=config.concurrency,
        )

    async def run_once(self, *, older_than: float | None = None) -> ReconcileReport:
        """One pass; `older_than` overrides the age an open attempt, or a PENDING refund, must reach before
        it is checked."""
        report = ReconcileReport()
        now = utcnow()
        after = self._config.after_seconds if older_than is None else older_than
        async with self._pool.acquire() as conn:
            repo = PaymentRepository(conn)
            open_attempts = await repo.initiated_before(now - timedelta(seconds=after), self._config.batch_size)
            unconfirmed = await repo.unconfirmed_successes(
                now - timedelta(seconds=self._config.confirm_after_seconds), self._config.batch_size
            )
            unclaimed = await repo.authorized_before(
                now - timedelta(seconds=self._config.void_after_seconds), self._config.batch_size
            )
        gate = asyncio.Semaphore(self._config.concurrency)

        async def one(payment: Payment) -> None:
            async with gate:
                await self._reconcile(payment, now, report)

        async def void(payment: Payment) -> None:
            async with gate:
                await self._void(payment, report)

        await asyncio.gather(*(one(payment) for payment in open_attempts), *(void(p) for p in unclaimed))
        for payment in unconfirmed:
            await self._republish(payment, report)
        report.refunds = await self._refunds.run_once(now - timedelta(seconds=after))
        report.errors.extend(report.refunds.errors)
        report.finished_at = utcnow()
        self.last = report
        refunds = report.refunds
        if report.settled or report.republished or report.errors or refunds.settled or refunds.resent:
            log.info(
                "reconcile.pass",
                checked=report.checked,
                settled=len(report.settled),
                still_pending=report.still_pending,
                republished=len(report.republished),
                refunds_checked=refunds.checked,
                refunds_settled=len(refunds.settled),
                refunds_still_pending=refunds.still_pending,
                refunds_resent=len(refunds.resent),
                errors=len(report.errors),
            )
        return report

    async def run_forever(self, interval_seconds: float) -> None:
        while True:
            await asyncio.sleep(interval_seconds)
            try:
                await self.run_once()
            except Exception:
                # the next pass tries again; a reconciler that dies quietly would leave attempts open
                log.exception("reconcile.pass_failed")

    async def _reconcile(self, payment: Payment, now: datetime, report: ReconcileReport) -> None:
        report.checked += 1
        with bound(payment_id=payment.id, order_id=payment.order_id):
            try:
                record = await self._gateway.find_payment(
                    gateway_payment_id=payment.gateway_payment_id, payment_id=payment.id
                )
            except (GatewayUnavailable, GatewayRejected) as exc:
                report.errors.append({"paymentId": payment.id, "error": str(exc)})
                log.warning("reconcile.gateway_error", error=str(exc))
                return
            expired = (now - payment.created_at).total_seconds() >= self._config.expiry_seconds
            if record is not None and record.status in _REPORTS:
                if not self._record_matches(payment, record):
                    # never settled from a record we cannot trust; past the expiry it ends like an
                    # attempt the gateway never settled, instead of being looked up forever
                    report.errors.append({"paymentId": payment.id, "error": "gateway record does not match"})
                    if expired:
                        await self._settle(payment, _expired(), Source.EXPIRY, None, report)
                    return
                reported = ReportedOutcome(
                    status=_REPORTS[record.status],
                    amount=record.amount,
                    currency=record.currency,
                    error_code=record.error_code,
                    error_description=record.error_description,
                )
                await self._settle(payment, reported, Source.RECONCILIATION, record, report)
            elif expired:
                await self._settle(payment, _expired(), Source.EXPIRY, None, report)
            else:
                report.still_pending += 1

    async def _void(self, payment: Payment, report: ReconcileReport) -> None:
        """Void an authorisation nobody captured in time; a capture that won the race at the gateway stands."""
        deps = Deps(pool=self._pool, gateway=self._gateway, signing_secret=self._signing_secret)
        try:
            now = await void_authorization(
                deps, payment, AUTHORIZATION_EXPIRED, AUTHORIZATION_EXPIRED_DESCRIPTION, Source.EXPIRY
            )
        except (GatewayUnavailable, GatewayRejected) as exc:
            report.errors.append({"paymentId": payment.id, "error": str(exc)})
            log.warning("reconcile.void_error", payment_id=payment.id, error=str(exc))
            return
        if now.status is not PaymentStatus.AUTHORIZED:
            metrics.reconciliation_settled("expiry", _OUTCOMES[now.status])
        report.voided.append(
            {
                "paymentId": payment.id,
                "orderId": payment.order_id,
                "status": now.status.value,
                "errorCode": now.error_code,
            }
        )

    def _record_matches(self, payment: Payment, record: GatewayRecord) -> bool:
        """The record is the gateway's for this very attempt, and signed as the gateway signs."""
        if record.payment_id != payment.id or record.order_id != payment.order_id:
            return False
        if payment.gateway_payment_id is not None and payment.gateway_payment_id != record.id:
            return False
        return verify_payment_signature(self._signing_secret, payment.order_id, record.id, record.signature)

    async def _settle(
        self,
        payment: Payment,
        reported: ReportedOutcome,
        source: Source,
        record: GatewayRecord | None,
        report: ReconcileReport,
    ) -> None:
        async with UnitOfWork(self._pool) as uow:
            repo = uow.repo(PaymentRepository)
            await repo.lock_existing_order(payment.order_id)
            current = await repo.get(payment.id, for_update=True)
            if current is None or current.status is not PaymentStatus.INITIATED:
                return  # settled meanwhile, by a webhook or another reconciler
            if current.gateway_payment_id is None and record is not None:
                attached = await repo.attach_gateway_payment(
                    current.id,
                    record.id,
                    record.signature,
                    trail=Trail("attached_by_reconciliation", source.value, detail={"gatewayPaymentId": record.id}),
                )
                assert attached is not None  # locked and INITIATED
                current = attached
            applied = await apply_report(uow, current, reported, source=source, event_id=None)
        if applied.changed:
            kind = "expiry" if source is Source.EXPIRY else "payment"
            outcome = "expired" if source is Source.EXPIRY else _OUTCOMES[applied.payment.status]
            metrics.reconciliation_settled(kind, outcome)
        report.settled.append(
            {
                "paymentId": payment.id,
                "orderId": payment.order_id,
                "status": applied.payment.status.value,
                "errorCode": applied.payment.error_code,
                "source": source.value,
            }
        )

    async def _republish(self, payment: Payment, report: ReconcileReport) -> None:
        async with UnitOfWork(self._pool) as uow:
            repo = uow.repo(PaymentRepository)
            current = await repo.get(payment.id, for_update=True)
            if current is None or current.status is not PaymentStatus.SUCCESS:
                return
            await repo.mark_republished(current.id)
            await repo.record(
                current.id, "republished", Source.RECONCILIATION.value, detail={"reason": "order not confirmed paid"}
            )
            uow.emit(payment_event(current, events.PAYMENT_SUCCEEDED))
        report.republished.append(payment.id)
        log.warning("reconcile.republished", payment_id=payment.id, order_id=payment.order_id)
