"""The client API as an OpenAPI 3.1 document, served at `GET /openapi.json`.

Every route the service answers is a row of a feature's `ROUTES` (`order_svc/*/http.py`), the same rows
the router is given. Request bodies are the JSON Schemas of the models the views validate with, and each
success answer is the schema of the model its view renders (`Route.answer`), so the document cannot
describe an answer the views do not give; every error is the contract's error object with the statuses
the service really answers.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import BaseModel

from order_svc.checkout import http as checkout_http
from order_svc.lists import http as lists_http
from order_svc.lists import openapi as lists_openapi
from order_svc.orders import http as orders_http
from order_svc.orders.domain import MAX_NOTE_KEY, MAX_NOTES
from order_svc.orders.schemas import CreateOrder
from order_svc.payment_links import http as payment_links_http
from order_svc.payment_links import openapi as payment_links_openapi
from order_svc.payments import http as payments_http
from order_svc.payments.schemas import CapturePayment, InitiatePayment, VerifyPayment
from order_svc.receipts import http as receipts_http
from order_svc.refunds import http as refunds_http
from order_svc.refunds.schemas import CreateRefund
from order_svc.subscriptions import http as subscriptions_http
from order_svc.subscriptions import openapi as subscriptions_openapi
from order_svc.v1 import openapi as v1_openapi
from order_svc.v1.schemas import RazorpayError
from order_svc.webhook_endpoints import http as webhook_endpoints_http
from order_svc.webhook_endpoints import openapi as webhook_endpoints_openapi
from payments_common import openapi
from payments_common.money import SUPPORTED_CURRENCIES
from payments_common.openapi import Route

SECURITY_SCHEME = "basicAuth"
# a JSON Schema pattern: no NUL anywhere in the string
NO_NUL = "^[^\\u0000]*$"

# the client API's routes, in the order the router takes them
ROUTES: Sequence[Route] = (
    *orders_http.ROUTES,
    *payments_http.ROUTES,
    *receipts_http.ROUTES,
    *refunds_http.ROUTES,
    *lists_http.ROUTES,
    *webhook_endpoints_http.ROUTES,
    *subscriptions_http.ROUTES,
    *payment_links_http.NATIVE_ROUTES,
    # the Razorpay-compatible surface (order_svc.v1)
    *v1_openapi.ROUTES,
    # the hosted checkout pages (HTML, public; documented apart)
    *checkout_http.ROUTES,
)
# the request bodies the views validate
REQUESTS: Sequence[type[BaseModel]] = (
    CreateOrder,
    InitiatePayment,
    VerifyPayment,
    CapturePayment,
    CreateRefund,
    *webhook_endpoints_openapi.REQUESTS.values(),
    *subscriptions_openapi.REQUESTS.values(),
    *payment_links_openapi.REQUESTS.values(),
    *v1_openapi.REQUESTS.values(),
)

# the `method` of `POST /payments/initiate`: what each type takes, and the mock gateway's test values
# (mock_gateway/payments/domain.py; README, "Test values")
METHOD_DESCRIPTION = (
    "How the payment is made; without one, the gateway's default (it succeeds). `card`: `number` (12 to 19 digits, "
    "spaces allowed, Luhn-checked), `expiryMonth`, `expiryYear` (not expired: a card is good through its expiry "
    "month), `cvv` (3 digits, 4 for American Express), `name`; its number and CVV are never stored, logged or "
    "shown, the payment's `method` keeps only `last4`, `network` and the expiry. `upi`: `vpa`. `wallet`: "
    "`provider`. `netbanking`: `bank`. The mock gateway's test values: card `4111 1111 1111 1111` succeeds, "
    "`4000 0000 0000 0002` is declined (`CARD_DECLINED`), `4000 0000 0000 9995` has insufficient funds "
    "(`INSUFFICIENT_FUNDS`), any other valid card succeeds; vpa `success@razorpay` succeeds, `failure@razorpay` "
    "fails (`UPI_DECLINED`), `pending@razorpay` is never settled by a webhook; wallet `paytm` succeeds, "
    "`freecharge` is declined (`WALLET_DECLINED`), others succeed; bank `HDFC` succeeds, `YESB` is declined "
    "(`BANK_DECLINED`), others succeed. A decline's code and description are the payment's `errorCode` and "
    "`errorDescription`."
)


def _refine_create_order(schema: dict[str, Any]) -> None:
    """What `CreateOrder`'s validators check beyond its field types, taken from the same constants."""
    properties = schema["properties"]
    properties["currency"]["enum"] = sorted(SUPPORTED_CURRENCIES)
    notes = next(option for option in properties["notes"]["anyOf"] if option.get("type") == "object")
    notes["maxProperties"] = MAX_NOTES
    notes["propertyNames"] = {"maxLength": MAX_NOTE_KEY}


def _refine_notes(schema: dict[str, Any]) -> None:
    """A refund's notes are bounded as an order's, and hold no NUL (`CreateRefund`'s validator)."""
    notes = next(option for option in schema["properties"]["notes"]["anyOf"] if option.get("type") == "object")
    notes["maxProperties"] = MAX_NOTES
    notes["propertyNames"] = {"maxLength": MAX_NOTE_KEY, "pattern": NO_NUL}
    notes["additionalProperties"]["pattern"] = NO_NUL


def _receipt_pdf() -> dict[str, Any]:
    """`GET /orders/{order_id}/receipt.pdf` 200: the PDF itself, with the headers that let it be cached."""
    text = {"schema": {"type": "string"}, "required": True}
    return {
        "description": "the receipt: merchant, order and payment ids, amount, method, paid time, refunds",
        "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
        "headers": {
            "Content-Disposition": {**text, "description": 'inline; filename="receipt-<order id>.pdf"'},
            "ETag": {**text, "description": "strong; a hash of the PDF, which changes only when the receipt does"},
            "Cache-Control": {**text, "description": "`private`: the merchant's, never a shared cache's"},
        },
    }


def _errors(ref: openapi.Ref, *statuses: int) -> dict[str, Any]:
    meaning = {
        400: "invalid input: not JSON, not an object, or a field breaks a rule (`field` names it)",
        401: "missing or invalid API credentials",
        404: "no such order for this merchant",
        409: "`ORDER_ALREADY_PAID`, or `PAYMENT_IN_PROGRESS` while an attempt is still INITIATED",
        408: "`REQUEST_TIMEOUT`: the request body did not arrive in time",
        413: "request body over the size limit",
        429: "`RATE_LIMITED`: this API key's request rate, or this address's failed authentications; see `Retry-After`",
        502: "`GATEWAY_ERROR`: the payment gateway refused to start the payment",
        503: "`SERVICE_UNAVAILABLE`: payments cannot be started right now; retry",
    }
    answers = {str(status): openapi.json_body(ref, meaning[status]) for status in statuses}
    if 401 in statuses:
        answers["401"]["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"}}}
    if 429 in statuses:
        answers["429"]["headers"] = {"Retry-After": {"schema": {"type": "string"}, "description": "seconds"}}
    return answers


IDEMPOTENCY_KEY_PARAMETER: dict[str, Any] = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Makes the request safe to retry: kept 24 h per merchant (`IDEMPOTENCY_KEY_TTL_HOURS`). The same "
    "key with the same request (method, path, JSON body up to key order and whitespace) answers the first "
    "request's 2xx or 4xx again, byte for byte, with `Idempotent-Replayed: true`; a 5xx keeps nothing, so the key "
    "may be retried.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x20-\\x7E]+$"},
}


def _idempotent(paths: dict[str, Any], error: openapi.Ref) -> None:
    """Every client POST takes an `Idempotency-Key`: the middleware (`idempotency/http.py`) is on all of them."""
    for item in paths.values():
        operation = item.get("post")
        if operation is None:
            continue
        operation["parameters"] = [*operation.get("parameters", []), IDEMPOTENCY_KEY_PARAMETER]
        responses = operation["responses"]
        for code, answer in responses.items():
            if 200 <= int(code) < 300:
                answer["headers"] = {
                    **answer.get("headers", {}),
                    "Idempotent-Replayed": {
                        "schema": {"type": "string", "enum": ["true"]},
                        "description": "present on an answer replayed for a repeated `Idempotency-Key`",
                    },
                }
        bad_key = "`Idempotency-Key` is not 1 to 255 printable ASCII characters"
        if "400" in responses:
            responses["400"]["description"] += "; or " + bad_key
        else:  # an operation without a body has no other 400, but its key is checked all the same
            responses["400"] = openapi.json_body(error, bad_key)
        in_use = "`IDEMPOTENCY_KEY_IN_USE`: a request with this `Idempotency-Key` is still running; see `Retry-After`"
        if "409" in responses:
            responses["409"]["description"] += "; or " + in_use
        else:
            responses["409"] = openapi.json_body(error, in_use)
        responses["409"]["headers"] = {"Retry-After": {"schema": {"type": "string"}, "description": "seconds"}}
        responses["422"] = openapi.json_body(
            error, "`IDEMPOTENCY_KEY_REUSED`: this `Idempotency-Key` was used with another method, path or body"
        )


def _link(operation_id: str, path_parameter: str, answer_field: str) -> dict[str, Any]:
    """A link to `operation_id`, its path parameter taken from a field of this answer."""
    return {"operationId": operation_id, "parameters": {f"path.{path_parameter}": f"$response.body#/{answer_field}"}}


def _success(ref: Callable[[type[BaseModel]], openapi.Ref]) -> Callable[..., dict[str, Any]]:
    """`ok(method, path, description, links=None)`: the success answer of the route, as its `Route` says."""
    routes = {(route.method, route.path): route for route in ROUTES}

    def ok(method: str, path: str, description: str, links: dict[str, Any] | None = None) -> dict[str, Any]:
        route = routes[(method, path)]
        if route.answer is None:
            raise ValueError(f"{method} {path} answers no JSON model; document it apart")
        answer = openapi.json_body(ref(route.answer), description)
        return {str(route.status): {**answer, "links": links} if links else answer}

    return ok


@functools.cache
def document() -> dict[str, Any]:
    answers = [route.answer for route in ROUTES if route.answer is not None]
    ref, schemas = openapi.component_schemas(
        [
            *((model, "validation") for model in REQUESTS),
            *((model, "serialization") for model in answers),
            (openapi.ErrorResponse, "serialization"),
            (openapi.Health, "serialization"),
            (RazorpayError, "serialization"),
        ]
    )
    ok = _success(ref)
    _refine_create_order(schemas[CreateOrder.__name__])
    _refine_notes(schemas[CreateRefund.__name__])
    schemas[InitiatePayment.__name__]["properties"]["method"]["description"] = METHOD_DESCRIPTION
    error = ref(openapi.ErrorResponse)
    order_links = {
        "GetOrder": _link("getOrder", "order_id", "orderId"),
        "InitiatePayment": {"operationId": "initiatePayment", "requestBody": {"orderId": "$response.body#/orderId"}},
    }
    paths: dict[str, Any] = {
        "/orders": {
            "post": {
                "operationId": "createOrder",
                "summary": "Create an order",
                "requestBody": {"required": True, "content": {openapi.JSON: {"schema": ref(CreateOrder)}}},
                "responses": {
                    **ok("POST", "/orders", "the order, CREATED", links=order_links),
                    **_errors(error, 400, 401, 408, 413, 429),
                },
            }
        },
        "/orders/{order_id}": {
            "get": {
                "operationId": "getOrder",
                "summary": "An order with its payment attempts, read in one snapshot",
                "parameters": [{"name": "order_id", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {
                    **ok("GET", "/orders/{order_id}", "the order"),
                    **_errors(error, 401, 404, 429),
                },
            }
        },
        "/orders/{order_id}/receipt.pdf": {
            "get": {
                "operationId": "getOrderReceipt",
                "summary": "A PAID order's receipt as a PDF; the same order always gives the same bytes",
                "parameters": [{"name": "order_id", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {
                    "200": _receipt_pdf(),
                    **_errors(error, 401, 404, 429),
                    "409": openapi.json_body(error, "`ORDER_NOT_PAID`: the order is not PAID, so it has no receipt"),
                },
            }
        },
        "/payments/initiate": {
            "post": {
                "operationId": "initiatePayment",
                "summary": "Start a payment attempt for an order; the gateway settles it by webhook",
                "requestBody": {"required": True, "content": {openapi.JSON: {"schema": ref(InitiatePayment)}}},
                "responses": {
                    **ok(
                        "POST",
                        "/payments/initiate",
                        "the attempt, INITIATED",
                        links={
                            "GetOrder": _link("getOrder", "order_id", "orderId"),
                            "CreateRefund": _link("createRefund", "payment_id", "paymentId"),
                        },
                    ),
                    **_errors(error, 400, 401, 404, 408, 409, 413, 429, 502, 503),
                },
            }
        },
        "/payments/verify": {
            "post": {
                "operationId": "verifyPayment",
                "summary": "Check the signature the checkout handed the client; reads, never settles",
                "requestBody": {"required": True, "content": {openapi.JSON: {"schema": ref(VerifyPayment)}}},
                "responses": {
                    **ok("POST", "/payments/verify", "the signature verifies"),
                    **_errors(error, 400, 401, 404, 408, 413, 429),
                    "400": openapi.json_body(
                        error,
                        "`INVALID_SIGNATURE` (`field`: `signature`) when the signature does not verify with any "
                        "key; otherwise invalid input: not JSON, not an object, or a field breaks a rule",
                    ),
                    "404": openapi.json_body(
                        error, "no such order for this merchant, or no attempt of it with that `gatewayPaymentId`"
                    ),
                },
            }
        },
        "/payments/{payment_id}/events": {
            "get": {
                "operationId": "getPaymentEvents",
                "summary": "The payment attempt's trail, oldest first",
                "parameters": [{"name": "payment_id", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {
                    **ok("GET", "/payments/{payment_id}/events", "the trail"),
                    **_errors(error, 401, 429, 503),
                    "404": openapi.json_body(error, "no such payment attempt for this merchant"),
                },
            }
        },
        "/payments/{payment_id}/capture": {
            "post": {
                "operationId": "capturePayment",
                "summary": "Capture an AUTHORIZED attempt (an order created with `capture`: `manual`)",
                "description": "For exactly the authorised `amount` and `currency`, through the gateway; the attempt "
                "answers SUCCESS, and the order becomes PAID as its `payment.succeeded` is applied (moments later).",
                "parameters": [{"name": "payment_id", "in": "path", "required": True, "schema": {"type": "string"}}],
                "requestBody": {"required": True, "content": {openapi.JSON: {"schema": ref(CapturePayment)}}},
                "responses": {
                    **ok("POST", "/payments/{payment_id}/capture", "the attempt, SUCCESS"),
                    **_errors(error, 400, 401, 408, 413, 429, 502, 503),
                    "400": openapi.json_body(
                        error,
                        "invalid input, or `PAYMENT_NOT_CAPTURABLE`: the attempt is not AUTHORIZED (not authorised "
                        "yet, captured already, FAILED or voided), or `amount` / `currency` (`field`) is not the "
                        "authorised one; nothing changes",
                    ),
                    "404": openapi.json_body(error, "no such payment attempt for this merchant"),
                },
            }
        },
        "/payments/{payment_id}/refunds": {
            "post": {
                "operationId": "createRefund",
                "summary": "Refund a SUCCESS payment, in part or (without `amount`) all that is left",
                "description": "The refunds of a payment that have not failed never add up to more than its amount; "
                "concurrent refunds are decided one at a time. The order stays PAID.",
                "parameters": [{"name": "payment_id", "in": "path", "required": True, "schema": {"type": "string"}}],
                "requestBody": {"required": True, "content": {openapi.JSON: {"schema": ref(CreateRefund)}}},
                "responses": {
                    **ok(
                        "POST",
                        "/payments/{payment_id}/refunds",
                        "the refund, PENDING",
                        links={"GetRefund": _link("getRefund", "refund_id", "refundId")},
                    ),
                    **_errors(error, 400, 401, 408, 409, 413, 429, 503),
                    "400": openapi.json_body(
                        error,
                        "invalid input (not JSON, not an object, a field breaks a rule), or `amount` (`field`: "
                        "`amount`) more than what is left to refund, or nothing left to refund",
                    ),
                    "404": openapi.json_body(error, "no such payment attempt for this merchant"),
                    "409": openapi.json_body(
                        error, "`PAYMENT_NOT_REFUNDABLE`: the payment is not SUCCESS (still INITIATED, or FAILED)"
                    ),
                    "503": openapi.json_body(error, "`SERVICE_UNAVAILABLE`: refunds cannot be taken right now; retry"),
                },
            }
        },
        "/refunds/{refund_id}": {
            "get": {
                "operationId": "getRefund",
                "summary": "A refund and its status",
                "parameters": [{"name": "refund_id", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {
                    **ok("GET", "/refunds/{refund_id}", "the refund"),
                    **_errors(error, 401, 429),
                    "404": openapi.json_body(error, "no such refund for this merchant"),
                },
            }
        },
        # the failed-authentication guard answers any request that carries credentials
        **openapi.meta_paths(ref, public=True, refusals=_errors(error, 429)),
    }
    for feature in (webhook_endpoints_openapi, subscriptions_openapi, payment_links_openapi):
        for path, item in feature.paths(ref, error).items():
            paths.setdefault(path, {}).update(item)
    _idempotent(paths, error)
    # after the native POSTs' idempotency answers: /v1 documents its own, in Razorpay's error object
    paths.update(v1_openapi.paths(ref, IDEMPOTENCY_KEY_PARAMETER))
    paths.update(checkout_http.document_paths())
    for path, item in lists_openapi.paths(ref, error).items():
        paths.setdefault(path, {}).update(item)
    return {
        "openapi": openapi.OPENAPI_VERSION,
        "info": {
            "title": "Payments client API (order-svc)",
            "version": "1.0.0",
            "description": "Orders and payment attempts. HTTP Basic auth with `key_id:key_secret`; each key is "
            "one merchant, who sees only its own orders (another merchant's id answers 404).",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {SECURITY_SCHEME: {"type": "http", "scheme": "basic"}},
        },
        "security": [{SECURITY_SCHEME: []}],
    }
