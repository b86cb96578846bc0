"""`POST /webhook/payment`: verify both signatures, validate, publish durably, then answer."""

from __future__ import annotations

from dataclasses import dataclass

import orjson
from aiohttp import web

from payments_common.broker import PublishError
from payments_common.errors import INVALID_SIGNATURE, SERVICE_UNAVAILABLE, ApiError
from payments_common.http import CORRELATION_ID, json_response, parse_model, read_json_object
from payments_common.logging import bound, get_logger
from payments_common.signatures import WebhookVerificationError, verify_payment_signature, verify_webhook
from payments_common.timeutil import utcnow
from webhook_gateway import digest
from webhook_gateway.payload import PaymentWebhook, envelope
from webhook_gateway.publishing import EventSink, WebhookMessage

log = get_logger(__name__)


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


async def receive_payment_webhook(request: web.Request) -> web.Response:
    verification = request.app[VERIFICATION]
    # the Standard Webhooks signature covers the exact bytes received, so verify before parsing
    body = await request.read()
    try:
        event_id = verify_webhook(verification.webhook_keys, request.headers, body, verification.tolerance_seconds)
    except WebhookVerificationError as exc:
        raise _rejected("webhook_signature", ApiError(400, INVALID_SIGNATURE, str(exc))) from None

    with bound(event_id=event_id):
        digest.require_match(request, body)
        try:
            webhook = parse_model(PaymentWebhook, await read_json_object(request))
        except ApiError as error:
            raise _rejected("malformed_body", error) from None

        with bound(order_id=webhook.order_id, payment_id=webhook.payment_id):
            # this signature is also shown to the paying client: it binds the gateway payment to the
            # order, while the header signature above is what vouches for `status`
            if not verify_payment_signature(
                verification.payment_signing_keys, webhook.order_id, webhook.gateway_payment_id, webhook.signature
            ):
                raise _rejected(
                    "payment_signature",
                    ApiError(400, INVALID_SIGNATURE, "signature does not match orderId and gatewayPaymentId"),
                )

            correlation_id = request[CORRELATION_ID]
            message = WebhookMessage(
                event_id=event_id,
                body=orjson.dumps(envelope(event_id, webhook, utcnow())),
                correlation_id=correlation_id,
                webhook_timestamp=int(request.headers["webhook-timestamp"]),
            )
            try:
                await request.app[SINK].publish(message)
            except PublishError as exc:
                log.error("webhook.publish_failed", error=str(exc))
                raise ApiError(
                    503, SERVICE_UNAVAILABLE, "the event cannot be accepted durably right now; retry later"
                ) from None
            log.info("webhook.accepted", status=webhook.status, gateway_payment_id=webhook.gateway_payment_id)
    return json_response({"success": True})


def add_routes(app: web.Application) -> None:
    app.router.add_post("/webhook/payment", receive_payment_webhook)
