"""Queue consumers: decode the message, then hand it to the service layer."""

from __future__ import annotations

from aio_pika.abc import AbstractIncomingMessage

from payment_svc.handlers import Deps, apply_webhook
from payments_common.consumer import Handler, decode
from payments_common.events import WebhookEnvelope


def webhook_handler(deps: Deps) -> Handler:
    async def handle(message: AbstractIncomingMessage) -> None:
        message_id, envelope = decode(message, WebhookEnvelope)
        await apply_webhook(deps, message_id, envelope, message.correlation_id)

    return handle
