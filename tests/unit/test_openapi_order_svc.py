"""order-svc's OpenAPI document: valid OpenAPI 3.1, the same operations as the router, served without
auth, and describing what the views and the models really do."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import OpenAPIV31SpecValidator
from pydantic import SecretStr, ValidationError

from order_svc.access import http, limits
from order_svc.access.keyring import KeyRing
from order_svc.app import create_app, install_routes
from order_svc.openapi import document
from order_svc.orders.domain import MAX_NOTE_KEY, MAX_NOTES, Order
from order_svc.orders.schemas import CreateOrder, OrderResource
from order_svc.payments.domain import PaymentView
from order_svc.settings import Settings
from order_svc.v1.domain import on_surface
from payments_common import ids
from payments_common.errors import ApiError
from payments_common.http import base_app
from payments_common.money import SUPPORTED_CURRENCIES
from payments_common.openapi import dump

API_KEYS = "rzp_a:secret-a-123456"
NOW = datetime(2026, 11, 28, 7, 0, tzinfo=UTC)


def routes_of(app: web.Application) -> set[tuple[str, str]]:
    # aiohttp answers HEAD for every GET route by itself; HTTP defines HEAD by GET, so it is not listed. The
    # admin API (order_svc.admin, the operators' console's, behind ADMIN_TOKEN) is not the client API
    routes = {(route.method, route.resource.canonical) for route in app.router.routes() if route.method != "HEAD"}
    return {(method, path) for method, path in routes if not path.startswith("/admin/")}


def documented(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, item in doc["paths"].items() for method in item}


def schema_validator(doc: dict[str, Any], ref: dict[str, Any]) -> OAS31Validator:
    """A validator of one schema of the document, `$ref`s resolved inside the document."""
    return OAS31Validator({**ref, "components": doc["components"]})


def response_schema(doc: dict[str, Any], path: str, method: str, status: int) -> dict[str, Any]:
    return dict(doc["paths"][path][method]["responses"][str(status)]["content"]["application/json"]["schema"])


def test_the_document_is_valid_openapi_3_1() -> None:
    doc = document()
    assert doc["openapi"].startswith("3.1.")
    OpenAPIV31SpecValidator(doc).validate()


async def test_every_route_is_documented_and_every_operation_routed() -> None:
    settings = Settings(
        API_KEYS=SecretStr(API_KEYS),
        PAYMENT_SIGNING_SECRET=SecretStr("ab" * 32),
        INTERNAL_API_TOKEN=SecretStr("internal-token-0123456789abcdef"),
    )
    app = await create_app(settings)  # no I/O until the app starts
    routes = routes_of(app)
    assert ("POST", "/orders") in routes
    assert ("GET", "/openapi.json") in routes
    assert routes == documented(document())


def test_the_client_operations_need_basic_auth_and_the_meta_routes_do_not() -> None:
    doc = document()
    assert doc["components"]["securitySchemes"]["basicAuth"] == {"type": "http", "scheme": "basic"}
    assert doc["security"] == [{"basicAuth": []}]
    for path in ("/orders", "/orders/{order_id}", "/payments/initiate"):
        for operation in doc["paths"][path].values():
            assert "security" not in operation  # the document-wide requirement applies
            assert "401" in operation["responses"]
    assert doc["paths"]["/health"]["get"]["security"] == []
    assert doc["paths"]["/openapi.json"]["get"]["security"] == []


def test_the_documented_error_answers() -> None:
    doc = document()

    def statuses(path: str, method: str) -> set[int]:
        return {int(code) for code in doc["paths"][path][method]["responses"]}

    assert statuses("/orders", "post") == {201, 400, 401, 408, 409, 413, 422, 429}
    assert statuses("/orders/{order_id}", "get") == {200, 401, 404, 429}
    assert statuses("/payments/initiate", "post") == {201, 400, 401, 404, 408, 409, 413, 422, 429, 502, 503}
    error = {"$ref": "#/components/schemas/ErrorResponse"}
    razorpay_error = {"$ref": "#/components/schemas/RazorpayError"}
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            for code, answer in operation["responses"].items():
                if path.startswith(("/l/", "/checkout/")):
                    # the hosted checkout pages answer a page, errors included
                    assert set(answer["content"]) == {"text/html"}, (path, method, code)
                elif int(code) >= 400:
                    # the Razorpay-compatible surface answers Razorpay's error object
                    expected = razorpay_error if on_surface(path) else error
                    assert answer["content"]["application/json"]["schema"] == expected, (path, method, code)


@pytest.mark.parametrize(
    "error",
    [ApiError(400, "BAD_REQUEST_ERROR", "amount: too big", "amount"), ApiError(404, "NOT_FOUND", "order not found")],
)
def test_the_error_schema_matches_what_api_errors_render(error: ApiError) -> None:
    validator = schema_validator(document(), {"$ref": "#/components/schemas/ErrorResponse"})
    validator.validate(error.body())
    assert not validator.is_valid({"error": {"code": "X", "description": "y", "field": None}})
    assert not validator.is_valid({"error": {"code": "X"}})


def _order(**overrides: Any) -> Order:
    values: dict[str, Any] = {
        "id": ids.new_id(ids.ORDER),
        "merchant_id": "rzp_a",
        "amount": 1500,
        "currency": "INR",
        "status": "CREATED",
        "receipt": None,
        "notes": None,
        "created_at": NOW,
        "updated_at": NOW,
    }
    values.update(overrides)
    return Order(**values)


def _attempt(order: Order, **overrides: Any) -> PaymentView:
    values: dict[str, Any] = {
        "id": ids.new_id(ids.PAYMENT),
        "order_id": order.id,
        "status": "INITIATED",
        "amount": order.amount,
        "currency": order.currency,
        "gateway_payment_id": None,
        "signature": None,
        "error_code": None,
        "error_description": None,
        "version": 1,
        "created_at": NOW,
        "updated_at": NOW,
    }
    values.update(overrides)
    return PaymentView(**values)


@pytest.mark.parametrize("with_attempts", [False, True])
def test_the_order_answer_matches_its_model_and_schema(with_attempts: bool) -> None:
    order = _order(receipt="r-1", notes={"k": "v"}, status="FAILED" if with_attempts else "CREATED")
    attempts = (
        [
            _attempt(order, status="FAILED", error_code="PAYMENT_FAILED", error_description="declined"),
            _attempt(order, gateway_payment_id=ids.new_id(ids.GATEWAY_PAYMENT), signature="ab" * 32),
        ]
        if with_attempts
        else []
    )
    body = dump(OrderResource.of(order, attempts))
    OrderResource.model_validate(body)  # extra="forbid": a field the model lacks fails here
    schema_validator(document(), response_schema(document(), "/orders/{order_id}", "get", 200)).validate(body)
    assert body["payment"] == (body["payments"][-1] if with_attempts else None)


def test_the_order_model_refuses_what_the_view_never_renders() -> None:
    body = dump(OrderResource.of(_order(), []))
    with pytest.raises(ValidationError):
        OrderResource.model_validate({**body, "merchantId": "rzp_a"})
    with pytest.raises(ValidationError):
        OrderResource.model_validate({**body, "status": "PENDING"})


def test_the_create_order_schema_states_the_validators_rules() -> None:
    """The rules added to the generated schema are exactly the ones `CreateOrder` enforces."""
    schema = document()["components"]["schemas"]["CreateOrder"]
    assert set(schema["properties"]["currency"]["enum"]) == SUPPORTED_CURRENCIES
    for currency in SUPPORTED_CURRENCIES:
        CreateOrder.model_validate({"amount": 1, "currency": currency})
    with pytest.raises(ValidationError):
        CreateOrder.model_validate({"amount": 1, "currency": "XYZ"})

    validator = schema_validator(document(), {"$ref": "#/components/schemas/CreateOrder"})
    most = {"amount": 1, "currency": "INR", "notes": {str(n): "v" for n in range(MAX_NOTES)}}
    too_many = {**most, "notes": {str(n): "v" for n in range(MAX_NOTES + 1)}}
    long_key = {"amount": 1, "currency": "INR", "notes": {"k" * (MAX_NOTE_KEY + 1): "v"}}
    CreateOrder.model_validate(most)
    assert validator.is_valid(most)
    for body in (too_many, long_key):
        assert not validator.is_valid(body)
        with pytest.raises(ValidationError):
            CreateOrder.model_validate(body)


def test_links_chain_a_created_order_to_its_reads_and_payment() -> None:
    doc = document()
    links = doc["paths"]["/orders"]["post"]["responses"]["201"]["links"]
    operation_ids = {op["operationId"] for item in doc["paths"].values() for op in item.values()}
    assert {link["operationId"] for link in links.values()} == {"getOrder", "initiatePayment"}
    assert {link["operationId"] for link in links.values()} <= operation_ids


@pytest.fixture
async def client() -> AsyncIterator[TestClient[Any, Any]]:
    # the HTTP layer of create_app without its database and broker; a burst of 3 per API key
    settings = Settings(
        API_KEYS=SecretStr(API_KEYS),
        PAYMENT_SIGNING_SECRET=SecretStr("ab" * 32),
        INTERNAL_API_TOKEN=SecretStr("internal-token-0123456789abcdef"),
        API_RATE_PER_SECOND=0.001,
        API_RATE_BURST=3,
    )
    app = base_app(max_body_bytes=1024)
    limits.install(app, settings, authenticate=http.auth_middleware)
    app[http.KEYS] = KeyRing.of(settings.api_keys())
    install_routes(app)
    async with TestClient(TestServer(app)) as test_client:
        yield test_client


async def test_the_document_is_served_without_credentials(client: TestClient[Any, Any]) -> None:
    response = await client.get("/openapi.json")
    assert response.status == 200
    assert response.content_type == "application/json"
    assert await response.json() == document()


async def test_unauthenticated_calls_answer_the_documented_401(client: TestClient[Any, Any]) -> None:
    wrong = "Basic " + base64.b64encode(b"rzp_a:wrong").decode()
    for method, path in (("POST", "/orders"), ("GET", "/orders/order_x"), ("POST", "/payments/initiate")):
        response = await client.request(method, path, headers={"Authorization": wrong}, json={})
        assert response.status == 401
        assert response.headers["WWW-Authenticate"].startswith("Basic")
        schema_validator(document(), {"$ref": "#/components/schemas/ErrorResponse"}).validate(await response.json())


async def test_an_oversized_body_answers_the_documented_413(client: TestClient[Any, Any]) -> None:
    auth = "Basic " + base64.b64encode(API_KEYS.encode()).decode()
    response = await client.post("/orders", data=b"x" * 2048, headers={"Authorization": auth})
    assert response.status == 413
    assert "413" in document()["paths"]["/orders"]["post"]["responses"]
    schema_validator(document(), {"$ref": "#/components/schemas/ErrorResponse"}).validate(await response.json())


async def test_a_rate_limited_key_gets_the_documented_429(client: TestClient[Any, Any]) -> None:
    auth = {"Authorization": "Basic " + base64.b64encode(API_KEYS.encode()).decode()}
    # an invalid body is refused before the handler needs the database
    answers = [await client.post("/orders", json={}, headers=auth) for _ in range(4)]
    assert [r.status for r in answers] == [400, 400, 400, 429]
    assert answers[-1].headers["Retry-After"]
    assert "Retry-After" in document()["paths"]["/orders"]["post"]["responses"]["429"]["headers"]
    schema_validator(document(), {"$ref": "#/components/schemas/ErrorResponse"}).validate(await answers[-1].json())
