"""What the delivery side consumes and emits over RabbitMQ: it consumes `merchant.event` (order-svc's
outbox, `topology.MERCHANT_WEBHOOKS_EVENTS`) and emits `email.webhook_endpoint_disabled` through its own
outbox onto `orders.events`, which order-svc's mailer turns into the merchant's alert email."""

from __future__ import annotations

from datetime import datetime

from merchant_webhooks.endpoints.repository import EndpointRecord
from payments_common import outbox
from payments_common.events import WEBHOOK_ENDPOINT_DISABLED_TYPE, WebhookEndpointDisabled
from payments_common.ids import new_uuid
from payments_common.outbox import OutboxEvent
from payments_common.topology import ORDER_EVENTS_EXCHANGE

EVENTS_CONSUMER = "merchant-webhooks.events"


def endpoint_disabled(endpoint: EndpointRecord, disabled_at: datetime) -> OutboxEvent:
    """The one message of one disabling: its id (the mailer's inbox key) is the outbox row's id."""
    message_id = new_uuid()
    body = WebhookEndpointDisabled(
        id=str(message_id),
        merchant_id=endpoint.merchant_id,
        endpoint_id=endpoint.id,
        url=endpoint.url,
        failing_since=endpoint.failing_since or disabled_at,
        disabled_at=disabled_at,
        last_error=endpoint.last_error,
    )
    event = outbox.event(
        body,
        aggregate_type="webhook_endpoint",
        aggregate_id=endpoint.id,
        event_type=WEBHOOK_ENDPOINT_DISABLED_TYPE,
        exchange=ORDER_EVENTS_EXCHANGE,
    )
    event.id = message_id
    return event
