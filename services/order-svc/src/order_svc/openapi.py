"""The client API as an OpenAPI 3.1 document, served at `GET /openapi.json`.

Request bodies are the JSON Schemas of the models the views validate with (`order_svc.domain`);
answers are described by the models below, which the unit tests hold the views' output to, and
every error is the contract's error object with the statuses the service really answers.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict
from pydantic.json_schema import SkipJsonSchema

from order_svc.domain import MAX_NOTE_KEY, MAX_NOTES, CreateOrder, InitiatePayment
from payments_common import openapi
from payments_common.money import SUPPORTED_CURRENCIES

SECURITY_SCHEME = "basicAuth"


class PaymentAttempt(BaseModel):
    """One payment attempt of an order, as `GET /orders/{id}` shows it."""

    model_config = ConfigDict(extra="forbid")

    id: str
    orderId: str
    status: Literal["INITIATED", "SUCCESS", "FAILED"]
    amount: int
    currency: str
    signature: str | None
    gatewayPaymentId: str | None
    errorCode: str | None
    errorDescription: str | None
    createdAt: datetime
    updatedAt: datetime


class OrderResource(BaseModel):
    """`GET /orders/{id}`: the order, its latest attempt (`payment`) and every attempt, oldest first."""

    model_config = ConfigDict(extra="forbid")

    id: str
    amount: int
    currency: str
    status: Literal["CREATED", "PAID", "FAILED"]
    receipt: str | None
    notes: dict[str, str]
    createdAt: datetime
    updatedAt: datetime
    payment: PaymentAttempt | None
    payments: list[PaymentAttempt]


class OrderCreated(BaseModel):
    """`POST /orders` 201; `receipt` and `notes` only when the client gave them."""

    model_config = ConfigDict(extra="forbid")

    orderId: str
    amount: int
    currency: str
    status: Literal["CREATED"]
    receipt: str | SkipJsonSchema[None] = openapi.absent_when_none()
    notes: dict[str, str] | SkipJsonSchema[None] = openapi.absent_when_none()
    createdAt: datetime


class PaymentInitiated(BaseModel):
    """`POST /payments/initiate` 201; `signature` is hex(HMAC-SHA256(key, orderId|gatewayPaymentId))."""

    model_config = ConfigDict(extra="forbid")

    paymentId: str
    orderId: str
    gatewayPaymentId: str
    signature: str
    status: Literal["INITIATED"]


def _refine_create_order(schema: dict[str, Any]) -> None:
    """What `CreateOrder`'s validators check beyond its field types, taken from the same constants."""
    properties = schema["properties"]
    properties["currency"]["enum"] = sorted(SUPPORTED_CURRENCIES)
    notes = next(option for option in properties["notes"]["anyOf"] if option.get("type") == "object")
    notes["maxProperties"] = MAX_NOTES
    notes["propertyNames"] = {"maxLength": MAX_NOTE_KEY}


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


@functools.cache
def document() -> dict[str, Any]:
    ref, schemas = openapi.component_schemas(
        [
            (CreateOrder, "validation"),
            (InitiatePayment, "validation"),
            (OrderCreated, "serialization"),
            (OrderResource, "serialization"),
            (PaymentInitiated, "serialization"),
            (openapi.ErrorResponse, "serialization"),
            (openapi.Health, "serialization"),
        ]
    )
    _refine_create_order(schemas[CreateOrder.__name__])
    error = ref(openapi.ErrorResponse)
    order_links = {
        "GetOrder": {"operationId": "getOrder", "parameters": {"path.order_id": "$response.body#/orderId"}},
        "InitiatePayment": {"operationId": "initiatePayment", "requestBody": {"orderId": "$response.body#/orderId"}},
    }
    paths: dict[str, Any] = {
        "/orders": {
            "post": {
                "operationId": "createOrder",
                "summary": "Create an order",
                "requestBody": {"required": True, "content": {openapi.JSON: {"schema": ref(CreateOrder)}}},
                "responses": {
                    "201": {**openapi.json_body(ref(OrderCreated), "the order, CREATED"), "links": order_links},
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
                    "200": openapi.json_body(ref(OrderResource), "the order"),
                    **_errors(error, 401, 404, 429),
                },
            }
        },
        "/payments/initiate": {
            "post": {
                "operationId": "initiatePayment",
                "summary": "Start a payment attempt for an order; the gateway settles it by webhook",
                "requestBody": {"required": True, "content": {openapi.JSON: {"schema": ref(InitiatePayment)}}},
                "responses": {
                    "201": {
                        **openapi.json_body(ref(PaymentInitiated), "the attempt, INITIATED"),
                        "links": {
                            "GetOrder": {
                                "operationId": "getOrder",
                                "parameters": {"path.order_id": "$response.body#/orderId"},
                            }
                        },
                    },
                    **_errors(error, 400, 401, 404, 408, 409, 413, 429, 502, 503),
                },
            }
        },
        # the failed-authentication guard answers any request that carries credentials
        **openapi.meta_paths(ref, public=True, refusals=_errors(error, 429)),
    }
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


def add_route(app: web.Application) -> None:
    openapi.add_document_route(app, document)
