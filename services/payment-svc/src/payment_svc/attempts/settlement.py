"""Applying a report of a payment's outcome, whoever makes it: a webhook, the reconciler, the expiry.

One function, so that every path obeys the same rules: a payment leaves INITIATED once (an AUTHORIZED one
is then captured or voided once, `attempts.capture`); a report that
contradicts a settled payment changes nothing and is kept as an anomaly; a SUCCESS for the wrong
amount or currency ends FAILED, also kept as an anomaly.
"""

from __future__ import annotations

from dataclasses import dataclass

from payment_svc.attempts.domain import (
    ReportedOutcome,
    Source,
    can_transition,
    conflict_kind,
    is_anomalous,
)
from payment_svc.attempts.domain import settle as decide
from payment_svc.attempts.messages import payment_event, settled_event_type
from payment_svc.attempts.repository import Payment, PaymentRepository, Trail
from payments_common.logging import get_logger
from payments_common.uow import UnitOfWork

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Applied:
    payment: Payment
    # False when the report repeated or contradicted a settled payment and changed nothing
    changed: bool
    anomaly: str | None = None


async def apply_report(
    uow: UnitOfWork,
    payment: Payment,
    reported: ReportedOutcome,
    *,
    source: Source,
    event_id: str | None,
    correlation_id: str | None = None,
) -> Applied:
    """The caller holds the order row lock and the payment row lock (`FOR UPDATE`), in that order."""
    repo = uow.repo(PaymentRepository)
    detail = {"reported": reported.status.value, "current": payment.status.value}
    if not can_transition(payment.status, reported.status):
        anomaly = conflict_kind(payment.status, reported.status, payment.error_code)
        kind = "conflict_ignored" if anomaly else "ignored_already_settled"
        await repo.record(payment.id, kind, source.value, event_id, detail)
        if anomaly:
            await repo.record_anomaly(
                payment, anomaly, source.value, event_id, {**detail, "settledBy": payment.settled_by}
            )
            log.warning("payment.anomaly", anomaly=anomaly, source=source.value, **detail)
        else:
            log.info("payment.report_ignored", reason=kind, source=source.value, **detail)
        return Applied(payment, changed=False, anomaly=anomaly)

    outcome = decide(payment.amount, payment.currency, reported)
    trail = Trail(
        "settled", source.value, event_id, {**detail, "to": outcome.status.value, "errorCode": outcome.error_code}
    )
    settled = await repo.settle(
        payment.id, outcome.status, outcome.error_code, outcome.error_description, source.value, trail=trail
    )
    # a SUCCESS also names the payment on its order's row, by the same statement
    assert settled is not None  # the row is locked and in a status that may move there
    anomaly = outcome.error_code if is_anomalous(outcome.error_code) else None
    if anomaly:
        await repo.record_anomaly(
            settled,
            anomaly,
            source.value,
            event_id,
            {**detail, "reportedAmount": reported.amount, "reportedCurrency": reported.currency},
        )
    uow.emit(payment_event(settled, settled_event_type(settled), correlation_id))
    log.info("payment.settled", status=outcome.status.value, error_code=outcome.error_code, source=source.value)
    return Applied(settled, changed=True, anomaly=anomaly)
