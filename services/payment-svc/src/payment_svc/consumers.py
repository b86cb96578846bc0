"""Queue consumers: decode the message, then hand it to the service layer."""

from __future__ import annotations

from aio_pika.abc import AbstractIncomingMessage
from pydantic import ValidationError

from payment_svc.handlers import Deps, apply_webhook
from payments_common.consumer import Handler
from payments_common.errors import PermanentError
from payments_common.events import WebhookEnvelope


def webhook_handler(deps: Deps) -> Handler:
    async def handle(message: AbstractIncomingMessage) -> None:
        if not message.message_id:
            raise PermanentError("message has no message_id", reason="MALFORMED_EVENT")
        try:
            envelope = WebhookEnvelope.model_validate_json(message.body)
        except ValidationError as exc:
            raise PermanentError(
                f"not a webhook envelope: {exc.error_count()} errors", reason="MALFORMED_EVENT"
            ) from None
        await apply_webhook(deps, message.message_id, envelope, message.correlation_id)

    return handle
