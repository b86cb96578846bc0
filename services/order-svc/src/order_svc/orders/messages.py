"""What order-svc emits about an order: every event of the order aggregate goes to `orders.events`."""

from __future__ import annotations

from pydantic import BaseModel

from payments_common import outbox
from payments_common.outbox import OutboxEvent
from payments_common.topology import ORDER_EVENTS_EXCHANGE


def order_event(body: BaseModel, order_id: str, event_type: str) -> OutboxEvent:
    """An outbox event of the order, routed by its type."""
    return outbox.event(
        body, aggregate_type="order", aggregate_id=order_id, event_type=event_type, exchange=ORDER_EVENTS_EXCHANGE
    )
