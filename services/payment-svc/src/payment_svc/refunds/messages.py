"""What payment-svc tells others about a refund: its snapshot and the events that carry it."""

from __future__ import annotations

from payment_svc.attempts.messages import published
from payment_svc.refunds.repository import Refund
from payments_common import events
from payments_common.outbox import OutboxEvent
from payments_common.records import model_of


def refund_snapshot(refund: Refund) -> events.RefundSnapshot:
    return model_of(events.RefundSnapshot, refund)


def refund_event(refund: Refund, event_type: str, correlation_id: str | None = None) -> OutboxEvent:
    """`refund.requested` goes to payment-svc's own sender; the others carry the snapshot to order-svc."""
    body = events.RefundEvent(type=event_type, refund=refund_snapshot(refund))
    return published(body, "refund", refund.id, correlation_id)
