"""The webhook endpoints as an OpenAPI 3.1 document, served at `GET /openapi.json`.

The bodies are the JSON Schemas of `PaymentWebhook` and `RefundWebhook`, the models the views validate
with; the Standard Webhooks headers are required header parameters (the signature itself cannot be expressed in a
schema: a wrong one is a 400). Every refusal is `{"success": false, "error": {...}}`.
"""

from __future__ import annotations

import functools
from typing import Any

from aiohttp import web

from payments_common import ids, openapi
from payments_common.signatures import MAX_WEBHOOK_ID_LENGTH
from webhook_gateway.ingress.schemas import WebhookAccepted, WebhookRefused
from webhook_gateway.payments.http import PATH as WEBHOOK_PATH
from webhook_gateway.payments.schemas import PaymentWebhook
from webhook_gateway.refunds.http import PATH as REFUND_WEBHOOK_PATH
from webhook_gateway.refunds.schemas import RefundWebhook

# the id fields are checked by `payments_common.ids` validators, which a JSON Schema does not show; the
# patterns are those very regular expressions
_ID_FIELDS = {"orderId": ids.ORDER, "paymentId": ids.PAYMENT, "gatewayPaymentId": ids.GATEWAY_PAYMENT}
_REFUND_ID_FIELDS = {
    "refundId": ids.REFUND,
    "paymentId": ids.PAYMENT,
    "gatewayPaymentId": ids.GATEWAY_PAYMENT,
    "gatewayRefundId": ids.GATEWAY_REFUND,
}


def _refine_webhook(schema: dict[str, Any], fields: dict[str, str] = _ID_FIELDS) -> None:
    for name, prefix in fields.items():
        schema["properties"][name]["pattern"] = ids._PATTERNS[prefix].pattern


def _header(name: str, required: bool, description: str, **schema: Any) -> dict[str, Any]:
    return {
        "name": name,
        "in": "header",
        "required": required,
        "description": description,
        "schema": {"type": "string", **schema},
    }


_HEADERS = [
    _header(
        "webhook-id",
        True,
        "the event id; a retry of the same event carries the same one",
        minLength=1,
        maxLength=MAX_WEBHOOK_ID_LENGTH,
    ),
    _header("webhook-timestamp", True, "unix seconds, within WEBHOOK_TOLERANCE_SECONDS of now", pattern="^[0-9]+$"),
    _header(
        "webhook-signature",
        True,
        "`v1,<base64(HMAC-SHA256(key, id.timestamp.body))>`, several space-separated allowed",
        minLength=1,
    ),
    _header("Content-Digest", False, "RFC 9530 digest of the body (`sha-256=:<base64>:`); checked when present"),
]

_REFUSALS = {
    400: "`INVALID_SIGNATURE` (either signature wrong or missing, timestamp outside the tolerance), or "
    "`BAD_REQUEST_ERROR` (not JSON, not an object, a field missing or invalid, a `Content-Digest` that "
    "does not match the body); nothing changes",
    403: "`FORBIDDEN`: the sender's address is not in `WEBHOOK_ALLOWED_CIDRS`",
    408: "`REQUEST_TIMEOUT`: the request body did not arrive in time",
    413: "request body over the size limit",
    429: "`RATE_LIMITED`: too many requests from this address (verified, or far fewer unverified); see `Retry-After`",
    503: "`SERVICE_UNAVAILABLE`: the event cannot be made durable now (broker down); retry",
}


def _refusals(refused: openapi.Ref, *, refund: bool = False) -> dict[str, Any]:
    meanings = dict(_REFUSALS)
    if refund:
        meanings[400] = (
            "`INVALID_SIGNATURE` (the Standard Webhooks signature wrong or missing, timestamp outside the "
            "tolerance), or `BAD_REQUEST_ERROR` (not JSON, not an object, a field missing or invalid, a "
            "`Content-Digest` that does not match the body); nothing changes"
        )
    answers = {str(status): openapi.json_body(refused, meaning) for status, meaning in meanings.items()}
    answers["429"]["headers"] = {"Retry-After": {"schema": {"type": "string"}, "description": "seconds"}}
    return answers


@functools.cache
def document() -> dict[str, Any]:
    ref, schemas = openapi.component_schemas(
        [
            (PaymentWebhook, "validation"),
            (RefundWebhook, "validation"),
            (WebhookAccepted, "serialization"),
            (WebhookRefused, "serialization"),
            (openapi.Health, "serialization"),
        ]
    )
    _refine_webhook(schemas[PaymentWebhook.__name__])
    _refine_webhook(schemas[RefundWebhook.__name__], _REFUND_ID_FIELDS)
    refused = ref(WebhookRefused)
    paths: dict[str, Any] = {
        WEBHOOK_PATH: {
            "post": {
                "operationId": "receivePaymentWebhook",
                "summary": "The gateway reports a payment's outcome",
                "parameters": _HEADERS,
                "requestBody": {"required": True, "content": {openapi.JSON: {"schema": ref(PaymentWebhook)}}},
                "responses": {
                    "200": openapi.json_body(ref(WebhookAccepted), "accepted durably (also for a repeated event)"),
                    **_refusals(refused),
                },
            }
        },
        REFUND_WEBHOOK_PATH: {
            "post": {
                "operationId": "receiveRefundWebhook",
                "summary": "The gateway reports a refund's outcome (PROCESSED or FAILED)",
                "description": "Verified, limited and published as a payment's report is; there is no payment "
                "signature in the body, the Standard Webhooks signature vouches for all of it.",
                "parameters": _HEADERS,
                "requestBody": {"required": True, "content": {openapi.JSON: {"schema": ref(RefundWebhook)}}},
                "responses": {
                    "200": openapi.json_body(ref(WebhookAccepted), "accepted durably (also for a repeated event)"),
                    **_refusals(refused, refund=True),
                },
            }
        },
        **openapi.meta_paths(ref, public=False),
    }
    return {
        "openapi": openapi.OPENAPI_VERSION,
        "info": {
            "title": "Payments webhook ingress (webhook-gateway)",
            "version": "1.0.0",
            "description": "Payment outcomes from the gateway, signed twice: the Standard Webhooks headers "
            "over the raw body, and the payment signature over `orderId|gatewayPaymentId` in the body; refund "
            "outcomes, signed with the Standard Webhooks headers.",
        },
        "paths": paths,
        "components": {"schemas": schemas},
    }


def add_route(app: web.Application) -> None:
    openapi.add_document_route(app, document)
