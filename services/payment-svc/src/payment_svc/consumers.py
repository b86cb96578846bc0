"""Queue consumers: decode the message, then hand it to the service layer."""

from __future__ import annotations

from aio_pika.abc import AbstractIncomingMessage

from payment_svc.handlers import Deps, apply_webhook, confirm_order_paid
from payment_svc.refunds import apply_refund_webhook, send_refund
from payments_common.consumer import Handler, decode
from payments_common.events import (
    REFUND_WEBHOOK_TYPE,
    OrderPaidEvent,
    RefundEvent,
    RefundWebhookEnvelope,
    WebhookEnvelope,
)


def webhook_handler(deps: Deps) -> Handler:
    async def handle(message: AbstractIncomingMessage) -> None:
        # one queue for both reports: the message type, kept through retry tiers and dead-letter requeues
        # (unlike the routing key), says which one this is
        if message.type == REFUND_WEBHOOK_TYPE:
            message_id, refund_envelope = decode(message, RefundWebhookEnvelope)
            await apply_refund_webhook(deps, message_id, refund_envelope, message.correlation_id)
            return
        message_id, envelope = decode(message, WebhookEnvelope)
        await apply_webhook(deps, message_id, envelope, message.correlation_id)

    return handle


def refund_requests_handler(deps: Deps) -> Handler:
    async def handle(message: AbstractIncomingMessage) -> None:
        message_id, event = decode(message, RefundEvent)
        await send_refund(deps, message_id, event, message.correlation_id)

    return handle


def order_events_handler(deps: Deps) -> Handler:
    async def handle(message: AbstractIncomingMessage) -> None:
        message_id, event = decode(message, OrderPaidEvent)
        await confirm_order_paid(deps, message_id, event)

    return handle
