"""`POST /webhook/refund`: a refund's outcome, with the same verification, limits and durable publish as
a payment's report (there is no payment signature to check)."""

from __future__ import annotations

from aiohttp import web

from payments_common import events
from payments_common.timeutil import utcnow
from webhook_gateway.ingress.http import receive
from webhook_gateway.refunds.schemas import RefundWebhook

PATH = "/webhook/refund"


def _envelope(event_id: str, webhook: RefundWebhook) -> events.RefundWebhookEnvelope:
    return events.RefundWebhookEnvelope(eventId=event_id, receivedAt=utcnow(), data=webhook)


async def receive_refund_webhook(request: web.Request) -> web.Response:
    return await receive(request, RefundWebhook, _envelope)


def add_routes(app: web.Application) -> None:
    app.router.add_post(PATH, receive_refund_webhook)
