"""What payment-svc tells others about a refund: its snapshot and the events that carry it."""

from __future__ import annotations

from payment_svc.outgoing import published_event
from payment_svc.refund_repository import Refund
from payments_common import events
from payments_common.outbox import OutboxEvent


def refund_snapshot(refund: Refund) -> events.RefundSnapshot:
    return events.RefundSnapshot(
        id=refund.id,
        paymentId=refund.payment_id,
        orderId=refund.order_id,
        merchantId=refund.merchant_id,
        amount=refund.amount,
        currency=refund.currency,
        status=refund.status.value,
        notes=refund.notes,
        gatewayRefundId=refund.gateway_refund_id,
        errorCode=refund.error_code,
        errorDescription=refund.error_description,
        version=refund.version,
        createdAt=refund.created_at,
        updatedAt=refund.updated_at,
    )


def refund_event(refund: Refund, event_type: str, correlation_id: str | None = None) -> OutboxEvent:
    body = events.RefundEvent(type=event_type, refund=refund_snapshot(refund))
    return published_event("refund", refund.id, event_type, body, correlation_id)
