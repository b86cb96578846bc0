"""`POST /webhook/payment`: verify both signatures, validate, publish durably, then answer."""

from __future__ import annotations

from aiohttp import web

from payments_common import events
from payments_common.errors import INVALID_SIGNATURE, ApiError
from payments_common.signatures import verify_payment_signature
from payments_common.timeutil import utcnow
from webhook_gateway.ingress.http import VERIFICATION, receive, rejected
from webhook_gateway.payments.schemas import PaymentWebhook

PATH = "/webhook/payment"


def _payment_signature_matches(request: web.Request, webhook: PaymentWebhook) -> None:
    # this signature is also shown to the paying client: it binds the gateway payment to the order,
    # while the Standard Webhooks signature over the body is what vouches for `status`
    keys = request.app[VERIFICATION].payment_signing_keys
    if not verify_payment_signature(keys, webhook.orderId, webhook.gatewayPaymentId, webhook.signature):
        raise rejected(
            "payment_signature",
            ApiError(400, INVALID_SIGNATURE, "signature does not match orderId and gatewayPaymentId"),
        )


def _envelope(event_id: str, webhook: PaymentWebhook) -> events.WebhookEnvelope:
    return events.WebhookEnvelope(eventId=event_id, receivedAt=utcnow(), data=webhook)


async def receive_payment_webhook(request: web.Request) -> web.Response:
    return await receive(request, PaymentWebhook, _envelope, _payment_signature_matches)


def add_routes(app: web.Application) -> None:
    app.router.add_post(PATH, receive_payment_webhook)
