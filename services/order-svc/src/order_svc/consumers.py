"""Queue consumers: decode the message, then hand it to the service layer."""

from __future__ import annotations

from aio_pika.abc import AbstractIncomingMessage
from pydantic import ValidationError

from order_svc.handlers import Deps, apply_payment_event
from payments_common.consumer import Handler
from payments_common.errors import PermanentError
from payments_common.events import PaymentEvent


def payment_events_handler(deps: Deps) -> Handler:
    async def handle(message: AbstractIncomingMessage) -> None:
        if not message.message_id:
            raise PermanentError("message has no message_id", reason="MALFORMED_EVENT")
        try:
            event = PaymentEvent.model_validate_json(message.body)
        except ValidationError as exc:
            raise PermanentError(f"not a payment event: {exc.error_count()} errors", reason="MALFORMED_EVENT") from None
        await apply_payment_event(deps, message.message_id, event)

    return handle
