"""The /v1 routes and their part of order-svc's OpenAPI document (`order_svc.openapi` merges it): every
answer the model its view renders, every error Razorpay's error object."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import BaseModel

from order_svc.lists.domain import DEFAULT_PAGE, MAX_PAGE
from order_svc.payment_links import http as payment_links_http
from order_svc.v1 import http as v1_http
from order_svc.v1.orders import http as orders_http
from order_svc.v1.orders.schemas import CreateOrderV1
from order_svc.v1.payments import http as payments_http
from order_svc.v1.payments.schemas import CapturePaymentV1, CreatePaymentJson, EditPayment
from order_svc.v1.refunds import http as refunds_http
from order_svc.v1.refunds.schemas import CreateRefundV1
from order_svc.v1.schemas import MAX_UNIX, RazorpayError
from order_svc.v1.subscriptions import http as subscriptions_http
from order_svc.v1.webhooks import http as webhooks_http
from order_svc.v1.webhooks.schemas import CreateWebhookV1, EditWebhookV1
from order_svc.webhook_endpoints.schemas import DEFAULT_DELIVERIES, MAX_DELIVERIES
from payments_common import openapi
from payments_common.openapi import Route

ROUTES: Sequence[Route] = (
    *orders_http.ROUTES,
    *payments_http.ROUTES,
    *refunds_http.ROUTES,
    *webhooks_http.ROUTES,
    *payment_links_http.ROUTES,
    *subscriptions_http.ROUTES,
    *v1_http.ROUTES,
)
# the request body of each route that takes one
REQUESTS: dict[tuple[str, str], type[BaseModel]] = {
    ("POST", "/v1/orders"): CreateOrderV1,
    ("POST", "/v1/payments/create/json"): CreatePaymentJson,
    ("PATCH", "/v1/payments/{payment_id}"): EditPayment,
    ("POST", "/v1/payments/{payment_id}/refund"): CreateRefundV1,
    ("POST", "/v1/payments/{payment_id}/capture"): CapturePaymentV1,
    ("POST", "/v1/webhooks"): CreateWebhookV1,
    ("PATCH", "/v1/webhooks/{webhook_id}"): EditWebhookV1,
    **payment_links_http.REQUESTS,
    **subscriptions_http.REQUESTS,
}
# routes that call payment-svc (and through it the gateway)
_UPSTREAM = frozenset(
    {
        ("POST", "/v1/payments/create/json"),
        ("POST", "/v1/payments/{payment_id}/refund"),
        ("POST", "/v1/payments/{payment_id}/capture"),
    }
)
# routes that call merchant-webhooks, which keeps the endpoints and their deliveries
_WEBHOOKS = frozenset((route.method, route.path) for route in webhooks_http.ROUTES)
# routes that sign with the merchant's key secret, which may not be available (merchants.signing)
_SIGNED = frozenset({("GET", "/v1/subscriptions/{sub_id}/checkout")})
# the collections that are not pages of `count`, `skip`, `from` and `to`
_COLLECTION_QUERIES: dict[tuple[str, str], list[dict[str, Any]]] = {
    ("GET", "/v1/webhooks"): [],
    ("GET", "/v1/payment_links"): [
        openapi.query_parameter("count", "1 to 100, 10 by default", {"type": "integer", "minimum": 1, "maximum": 100}),
        openapi.query_parameter(
            "skip", "how many of the newest to pass over", {"type": "integer", "minimum": 0, "maximum": 1_000_000}
        ),
        openapi.query_parameter("reference_id", "only the link with this reference id", {"type": "string"}),
    ],
    ("GET", "/v1/webhooks/{webhook_id}/deliveries"): [
        openapi.query_parameter(
            "count",
            f"the newest 1 to {MAX_DELIVERIES}, {DEFAULT_DELIVERIES} by default",
            {"type": "integer", "minimum": 1, "maximum": MAX_DELIVERIES},
        )
    ],
}
_UNIX = {"type": "integer", "minimum": 0, "maximum": MAX_UNIX}
_PAGE = [
    openapi.query_parameter(
        "count", f"1 to {MAX_PAGE}, {DEFAULT_PAGE} by default", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE}
    ),
    openapi.query_parameter(
        "skip", "how many of the newest to pass over", {"type": "integer", "minimum": 0, "maximum": 1_000_000}
    ),
    openapi.query_parameter("from", "created at or after (Unix seconds)", _UNIX),
    openapi.query_parameter("to", "created at or before (Unix seconds)", _UNIX),
]
_ORDER_FILTERS = [
    {"name": "receipt", "in": "query", "required": False, "schema": {"type": "string", "maxLength": 40}},
    {
        "name": "authorized",
        "in": "query",
        "required": False,
        "description": "1: with an authorised payment",
        "schema": {"type": "string", "enum": ["0", "1", "true", "false"]},
    },
]
_REPLAYED = {
    "schema": {"type": "string", "enum": ["true"]},
    "description": "present on an answer replayed for a repeated `Idempotency-Key`",
}
_MEANING = {
    400: "`BAD_REQUEST_ERROR`: invalid input (`field` names it), an id that does not exist for this merchant, or a "
    "request the payment's state refuses",
    401: "`BAD_REQUEST_ERROR`: missing or invalid API credentials",
    408: "`BAD_REQUEST_ERROR`: the request body did not arrive in time",
    413: "`BAD_REQUEST_ERROR`: request body over the size limit",
    429: "`BAD_REQUEST_ERROR`: this API key's request rate, or this address's failed authentications",
    502: "`GATEWAY_ERROR`: the payment gateway refused or failed",
    503: "`SERVER_ERROR`: payments (or, on /v1/webhooks, webhook endpoints) cannot be reached right now; retry. On a "
    "subscription's checkout: the merchant's key secret is not available to sign with",
}


def _errors(error: openapi.Ref, statuses: Sequence[int]) -> dict[str, Any]:
    answers = {str(status): openapi.json_body(error, _MEANING[status]) for status in statuses}
    answers["401"]["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"}}}
    answers["429"]["headers"] = {"Retry-After": {"schema": {"type": "string"}, "description": "seconds"}}
    return answers


def _operation(
    route: Route, ref: Callable[[type[BaseModel]], openapi.Ref], error: openapi.Ref, idempotency: dict[str, Any]
) -> dict[str, Any]:
    key = (route.method, route.path)
    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in re.findall(r"\{(\w+)\}", route.path)
    ]
    if key in _COLLECTION_QUERIES:
        parameters += _COLLECTION_QUERIES[key]
    elif route.method == "GET" and route.answer is not None and route.answer.__name__.endswith("Collection"):
        parameters += _PAGE + (_ORDER_FILTERS if route.path == "/v1/orders" else [])
    statuses = [400, 401, 429]
    operation: dict[str, Any] = {
        "operationId": "v1" + re.sub(r"\W+", "_", f"{route.method.lower()}{route.path}").title().replace("_", ""),
        "summary": (route.view.__doc__ or route.view.__name__.replace("_", " ")).strip(),
    }
    if key in REQUESTS:
        operation["requestBody"] = {"required": True, "content": {openapi.JSON: {"schema": ref(REQUESTS[key])}}}
        statuses += [408, 413]
    idempotent = route.method == "POST"
    if idempotent:
        parameters.append(idempotency)
    if key in _UPSTREAM:
        statuses += [502, 503]
    if key in _WEBHOOKS or key in _SIGNED:
        statuses += [503]
    assert route.answer is not None
    operation["parameters"] = parameters
    ok = openapi.json_body(ref(route.answer), f"the {route.answer.__name__}")
    operation["responses"] = {str(route.status): ok, **_errors(error, sorted(statuses))}
    if idempotent:
        ok["headers"] = {"Idempotent-Replayed": _REPLAYED}
        operation["responses"]["409"] = openapi.json_body(
            error,
            "`BAD_REQUEST_ERROR` (`reason` `idempotency_key_in_use`): IDEMPOTENCY_KEY_IN_USE, a request with "
            "this `Idempotency-Key` is still running; see `Retry-After`",
        )
        operation["responses"]["409"]["headers"] = {"Retry-After": {"schema": {"type": "string"}}}
        operation["responses"]["422"] = openapi.json_body(
            error,
            "`BAD_REQUEST_ERROR` (`reason` `idempotency_key_reused`): IDEMPOTENCY_KEY_REUSED, this "
            "`Idempotency-Key` was used with another method, path or body",
        )
    return operation


def paths(ref: Callable[[type[BaseModel]], openapi.Ref], idempotency: dict[str, Any]) -> dict[str, Any]:
    """The /v1 path items, with `ref` giving the components' `$ref` of each model (RazorpayError included)
    and `idempotency` the `Idempotency-Key` parameter every POST takes."""
    error = ref(RazorpayError)
    items: dict[str, Any] = {}
    for route in ROUTES:
        items.setdefault(route.path, {})[route.method.lower()] = _operation(route, ref, error, idempotency)
    return items
