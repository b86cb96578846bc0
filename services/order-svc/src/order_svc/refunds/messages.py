"""What the refunds feature consumes over RabbitMQ: payment-svc's refund events (`refund.created`,
`refund.updated`), through one inbox consumer; it emits nothing."""

from __future__ import annotations

REFUND_EVENTS_CONSUMER = "order-svc.refund-events"
