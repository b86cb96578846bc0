"""What payment-svc tells others: the payment snapshot, and the outbox event that carries it or a refund's."""

from __future__ import annotations

from pydantic import BaseModel

from payment_svc.repository import Payment
from payments_common import events
from payments_common.outbox import OutboxEvent
from payments_common.topology import EVENTS_EXCHANGE


def snapshot(payment: Payment) -> events.PaymentSnapshot:
    return events.PaymentSnapshot(
        id=payment.id,
        orderId=payment.order_id,
        merchantId=payment.merchant_id,
        amount=payment.amount,
        currency=payment.currency,
        status=payment.status.value,
        gatewayPaymentId=payment.gateway_payment_id,
        signature=payment.signature,
        method=payment.method,
        errorCode=payment.error_code,
        errorDescription=payment.error_description,
        version=payment.version,
        createdAt=payment.created_at,
        updatedAt=payment.updated_at,
    )


def payment_event(payment: Payment, event_type: str, correlation_id: str | None = None) -> OutboxEvent:
    body = events.PaymentEvent(type=event_type, payment=snapshot(payment))
    return published_event("payment", payment.id, event_type, body, correlation_id)


def published_event(
    aggregate_type: str, aggregate_id: str, event_type: str, body: BaseModel, correlation_id: str | None
) -> OutboxEvent:
    """An event of payment-svc's exchange, routed by its type; the request's correlation id travels with it."""
    headers = {"correlation-id": correlation_id} if correlation_id else {}
    return OutboxEvent(
        aggregate_type=aggregate_type,
        aggregate_id=aggregate_id,
        event_type=event_type,
        exchange=EVENTS_EXCHANGE,
        routing_key=event_type,
        payload=body.model_dump(mode="json"),
        headers=headers,
    )


def settled_event_type(payment: Payment) -> str:
    return events.PAYMENT_SUCCEEDED if payment.status.value == "SUCCESS" else events.PAYMENT_FAILED
