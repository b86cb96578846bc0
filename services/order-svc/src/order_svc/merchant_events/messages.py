"""What the merchant events feature emits: each `MerchantEvent` to `orders.events` under `merchant.<event>`,
where the merchant-webhooks process's queue takes every one of them."""

from __future__ import annotations

from payments_common import outbox
from payments_common.events import MERCHANT_EVENT_KEY_PREFIX, MERCHANT_EVENT_TYPE, MerchantEvent
from payments_common.outbox import OutboxEvent
from payments_common.topology import ORDER_EVENTS_EXCHANGE


def merchant_event_message(event: MerchantEvent, order_id: str) -> OutboxEvent:
    """An outbox event of the order the event is about."""
    return outbox.event(
        event,
        aggregate_type="order",
        aggregate_id=order_id,
        event_type=MERCHANT_EVENT_TYPE,
        exchange=ORDER_EVENTS_EXCHANGE,
        routing_key=MERCHANT_EVENT_KEY_PREFIX + event.event,
    )
