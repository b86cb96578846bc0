"""`POST /webhook/payment` and `POST /webhook/refund`: verify the signatures, validate, publish durably, then
answer. Both go through the one ingress (`ingress.py`: allowlist, rate limits) and the same steps here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

import orjson
from aiohttp import web
from pydantic import BaseModel

from payments_common.broker import PublishError
from payments_common.errors import INVALID_SIGNATURE, SERVICE_UNAVAILABLE, ApiError
from payments_common.http import CORRELATION_ID, json_response, parse_model, read_json_object
from payments_common.logging import bound, get_logger
from payments_common.signatures import WebhookVerificationError, verify_payment_signature, verify_webhook
from payments_common.timeutil import utcnow
from webhook_gateway import digest
from webhook_gateway.payload import PaymentWebhook, envelope
from webhook_gateway.publishing import MESSAGE_TYPE, REFUND_MESSAGE_TYPE, EventSink, WebhookMessage
from webhook_gateway.refund_payload import RefundWebhook, refund_envelope

log = get_logger(__name__)

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class Verification:
    webhook_keys: tuple[bytes, ...]
    payment_signing_keys: tuple[bytes, ...]
    tolerance_seconds: int

    def __repr__(self) -> str:  # keys stay out of any repr that might be logged
        return (
            f"Verification(keys={len(self.webhook_keys)}, payment_keys={len(self.payment_signing_keys)}, "
            f"tolerance_seconds={self.tolerance_seconds})"
        )


VERIFICATION = web.AppKey("verification", Verification)
SINK = web.AppKey("sink", EventSink)


def _rejected(reason: str, error: ApiError) -> ApiError:
    log.warning("webhook.rejected", reason=reason, code=error.code, detail=error.description, field=error.field)
    return error


async def _verified_event(request: web.Request) -> tuple[str, bytes]:
    """The event id of a request whose Standard Webhooks signature verifies, and the exact body it covers."""
    verification = request.app[VERIFICATION]
    # the Standard Webhooks signature covers the exact bytes received, so verify before parsing
    body = await request.read()
    try:
        event_id = verify_webhook(verification.webhook_keys, request.headers, body, verification.tolerance_seconds)
    except WebhookVerificationError as exc:
        raise _rejected("webhook_signature", ApiError(400, INVALID_SIGNATURE, str(exc))) from None
    return event_id, body


async def _parsed(request: web.Request, body: bytes, model: type[M]) -> M:
    digest.require_match(request, body)
    try:
        return parse_model(model, await read_json_object(request))
    except ApiError as error:
        raise _rejected("malformed_body", error) from None


async def _publish(request: web.Request, event_id: str, envelope_body: dict[str, Any], message_type: str) -> None:
    """Hand the event to the broker; 503 unless it is durable (the gateway retries)."""
    message = WebhookMessage(
        event_id=event_id,
        body=orjson.dumps(envelope_body),
        correlation_id=request[CORRELATION_ID],
        webhook_timestamp=int(request.headers["webhook-timestamp"]),
        message_type=message_type,
    )
    try:
        await request.app[SINK].publish(message)
    except PublishError as exc:
        log.error("webhook.publish_failed", error=str(exc))
        raise ApiError(
            503, SERVICE_UNAVAILABLE, "the event cannot be accepted durably right now; retry later"
        ) from None


async def receive_payment_webhook(request: web.Request) -> web.Response:
    event_id, body = await _verified_event(request)
    with bound(event_id=event_id):
        webhook = await _parsed(request, body, PaymentWebhook)
        with bound(order_id=webhook.order_id, payment_id=webhook.payment_id):
            # this signature is also shown to the paying client: it binds the gateway payment to the
            # order, while the header signature above is what vouches for `status`
            verification = request.app[VERIFICATION]
            if not verify_payment_signature(
                verification.payment_signing_keys, webhook.order_id, webhook.gateway_payment_id, webhook.signature
            ):
                raise _rejected(
                    "payment_signature",
                    ApiError(400, INVALID_SIGNATURE, "signature does not match orderId and gatewayPaymentId"),
                )
            await _publish(request, event_id, envelope(event_id, webhook, utcnow()), MESSAGE_TYPE)
            log.info("webhook.accepted", status=webhook.status, gateway_payment_id=webhook.gateway_payment_id)
    return json_response({"success": True})


async def receive_refund_webhook(request: web.Request) -> web.Response:
    """A refund's outcome: the same verification, limits and durable publish as a payment's report."""
    event_id, body = await _verified_event(request)
    with bound(event_id=event_id):
        webhook = await _parsed(request, body, RefundWebhook)
        with bound(refund_id=webhook.refund_id, payment_id=webhook.payment_id):
            await _publish(request, event_id, refund_envelope(event_id, webhook, utcnow()), REFUND_MESSAGE_TYPE)
            log.info("webhook.accepted", status=webhook.status, gateway_refund_id=webhook.gateway_refund_id)
    return json_response({"success": True})


def add_routes(app: web.Application) -> None:
    app.router.add_post("/webhook/payment", receive_payment_webhook)
    app.router.add_post("/webhook/refund", receive_refund_webhook)
