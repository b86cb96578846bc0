"""Queue consumers: decode the message, then hand it to the service layer."""

from __future__ import annotations

from aio_pika.abc import AbstractIncomingMessage

from payment_svc.handlers import Deps, apply_webhook, confirm_order_paid
from payments_common.consumer import Handler, decode
from payments_common.events import OrderPaidEvent, WebhookEnvelope


def webhook_handler(deps: Deps) -> Handler:
    async def handle(message: AbstractIncomingMessage) -> None:
        message_id, envelope = decode(message, WebhookEnvelope)
        await apply_webhook(deps, message_id, envelope, message.correlation_id)

    return handle


def order_events_handler(deps: Deps) -> Handler:
    async def handle(message: AbstractIncomingMessage) -> None:
        message_id, event = decode(message, OrderPaidEvent)
        await confirm_order_paid(deps, message_id, event)

    return handle
