"""Queue consumers: decode the message, then hand it to the service layer."""

from __future__ import annotations

from aio_pika.abc import AbstractIncomingMessage

from order_svc.handlers import Deps, apply_payment_event
from order_svc.refunds import apply_refund_event
from payments_common.consumer import Handler, decode
from payments_common.events import PaymentEvent, RefundEvent


def payment_events_handler(deps: Deps) -> Handler:
    async def handle(message: AbstractIncomingMessage) -> None:
        message_id, event = decode(message, PaymentEvent)
        await apply_payment_event(deps, message_id, event)

    return handle


def refund_events_handler(deps: Deps) -> Handler:
    async def handle(message: AbstractIncomingMessage) -> None:
        message_id, event = decode(message, RefundEvent)
        await apply_refund_event(deps, message_id, event)

    return handle
