"""What payment-svc tells others about a payment: its snapshot, and the outbox event that carries it."""

from __future__ import annotations

from payment_svc.attempts.repository import Payment
from payments_common import events, outbox
from payments_common.outbox import OutboxEvent
from payments_common.records import model_of
from payments_common.topology import EVENTS_EXCHANGE


def snapshot(payment: Payment) -> events.PaymentSnapshot:
    return model_of(events.PaymentSnapshot, payment)


def payment_event(payment: Payment, event_type: str, correlation_id: str | None = None) -> OutboxEvent:
    body = events.PaymentEvent(type=event_type, payment=snapshot(payment))
    return published(body, "payment", payment.id, correlation_id)


def published(
    body: events.PaymentEvent | events.RefundEvent, aggregate_type: str, aggregate_id: str, correlation_id: str | None
) -> OutboxEvent:
    """An event (`body`, whose `type` it is) of payment-svc's exchange, routed by its type; the request's
    correlation id travels with it."""
    return outbox.event(
        body,
        aggregate_type=aggregate_type,
        aggregate_id=aggregate_id,
        event_type=body.type,
        exchange=EVENTS_EXCHANGE,
        correlation_id=correlation_id,
    )


_SETTLED_EVENTS = {"SUCCESS": events.PAYMENT_SUCCEEDED, "AUTHORIZED": events.PAYMENT_AUTHORIZED}


def settled_event_type(payment: Payment) -> str:
    return _SETTLED_EVENTS.get(payment.status.value, events.PAYMENT_FAILED)
