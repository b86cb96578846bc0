"""Every route of order-svc's client API answers what its OpenAPI document says: the router and the document
read the same route table, each JSON success answer is the schema of the model its view renders, and each
view, driven here with its use case stubbed, gives an answer that validates against that schema."""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import payment_link_samples
import pytest
import subscription_samples
import v1_samples
import webhook_samples
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from openapi_schema_validator import OAS31Validator
from pydantic import SecretStr

from order_svc.access import http as access_http
from order_svc.access.keyring import KeyRing
from order_svc.app import create_app, install_routes
from order_svc.deps import DEPS, Deps
from order_svc.openapi import ROUTES, document
from order_svc.orders import http as orders_http
from order_svc.orders.domain import Order, OrderStatus
from order_svc.orders.service import OrderRead
from order_svc.payments import http as payments_http
from order_svc.payments.domain import PaymentView
from order_svc.payments.schemas import PaymentLogEntry, PaymentVerified
from order_svc.receipts import http as receipts_http
from order_svc.receipts.domain import receipt_of
from order_svc.receipts.pdf import render
from order_svc.refunds import http as refunds_http
from order_svc.refunds.domain import RefundView
from order_svc.settings import Settings
from payments_common import ids, observability
from payments_common.config import parse_api_keys
from payments_common.events import PaymentSnapshot, RefundSnapshot
from payments_common.http import base_app
from payments_common.openapi import Route

API_KEYS = "rzp_a:secret-a-123456"
AUTH = {"Authorization": "Basic " + base64.b64encode(API_KEYS.encode()).decode()}
NOW = datetime(2026, 11, 28, 7, 0, 0, 123456, tzinfo=UTC)
# answers that are not JSON, each documented apart: the route and the content type it answers
NOT_JSON = {
    ("GET", "/orders/{order_id}/receipt.pdf"): "application/pdf",
    ("GET", "/metrics"): "text/plain",
    # the hosted checkout pages
    ("GET", "/l/{token}"): "text/html",
    ("POST", "/l/{token}"): "text/html",
    ("GET", "/l/{token}/payments/{payment_id}"): "text/html",
    ("GET", "/checkout/orders/{order_id}"): "text/html",
    ("POST", "/checkout/orders/{order_id}"): "text/html",
    ("GET", "/checkout/orders/{order_id}/payments/{payment_id}"): "text/html",
}

ORDER_ID = ids.new_id(ids.ORDER)
PAYMENT_ID = ids.new_id(ids.PAYMENT)
REFUND_ID = ids.new_id(ids.REFUND)
GATEWAY_ID = ids.new_id(ids.GATEWAY_PAYMENT)
ORDER = Order(
    id=ORDER_ID,
    merchant_id="rzp_a",
    amount=1500,
    currency="INR",
    status=OrderStatus.PAID,
    receipt="r-1",
    notes={"k": "v"},
    created_at=NOW,
    updated_at=NOW,
    customer_email="asha@example.com",
    customer_name="Asha",
)
CARD = {"type": "card", "last4": "1111", "network": "visa", "expiryMonth": 12, "expiryYear": 2030}
VIEW = PaymentView(
    id=PAYMENT_ID,
    order_id=ORDER_ID,
    status="SUCCESS",
    amount=1500,
    currency="INR",
    gateway_payment_id=GATEWAY_ID,
    signature="ab" * 32,
    error_code=None,
    error_description=None,
    version=3,
    created_at=NOW,
    updated_at=NOW,
    method=CARD,
)
REFUND = RefundView(
    id=REFUND_ID,
    payment_id=PAYMENT_ID,
    order_id=ORDER_ID,
    amount=500,
    currency="INR",
    status="PENDING",
    notes=None,
    error_code=None,
    error_description=None,
    version=1,
    created_at=NOW,
    updated_at=NOW,
)
SNAPSHOT = PaymentSnapshot(
    id=PAYMENT_ID,
    orderId=ORDER_ID,
    merchantId="rzp_a",
    amount=1500,
    currency="INR",
    status="INITIATED",
    gatewayPaymentId=GATEWAY_ID,
    signature="ab" * 32,
    method=CARD,
    version=2,
    createdAt=NOW,
    updatedAt=NOW,
)
REFUND_SNAPSHOT = RefundSnapshot(
    id=REFUND_ID,
    paymentId=PAYMENT_ID,
    orderId=ORDER_ID,
    merchantId="rzp_a",
    amount=500,
    currency="INR",
    status="PENDING",
    version=1,
    createdAt=NOW,
    updatedAt=NOW,
)


def _returning(value: Any) -> Callable[..., Awaitable[Any]]:
    async def use_case(*_: Any, **__: Any) -> Any:
        return value

    return use_case


# what each route is asked in this test, with its use case stubbed to answer the samples above
CALLS: dict[tuple[str, str], tuple[str, dict[str, Any] | None]] = {
    ("POST", "/orders"): ("/orders", {"amount": 1500, "currency": "INR"}),
    ("GET", "/orders/{order_id}"): (f"/orders/{ORDER_ID}", None),
    ("GET", "/orders/{order_id}/receipt.pdf"): (f"/orders/{ORDER_ID}/receipt.pdf", None),
    ("POST", "/payments/initiate"): ("/payments/initiate", {"orderId": ORDER_ID}),
    ("POST", "/payments/verify"): (
        "/payments/verify",
        {"orderId": ORDER_ID, "gatewayPaymentId": GATEWAY_ID, "signature": "ab" * 32},
    ),
    ("GET", "/payments/{payment_id}/events"): (f"/payments/{PAYMENT_ID}/events", None),
    ("POST", "/payments/{payment_id}/refunds"): (f"/payments/{PAYMENT_ID}/refunds", {"amount": 500}),
    ("POST", "/payments/{payment_id}/capture"): (
        f"/payments/{PAYMENT_ID}/capture",
        {"amount": 1500, "currency": "INR"},
    ),
    ("GET", "/refunds/{refund_id}"): (f"/refunds/{REFUND_ID}", None),
    ("GET", "/health"): ("/health", None),
    ("GET", "/openapi.json"): ("/openapi.json", None),
    ("GET", "/healthz"): ("/healthz", None),
    ("GET", "/readyz"): ("/readyz", None),
    ("GET", "/metrics"): ("/metrics", None),
    **v1_samples.calls(ORDER_ID, PAYMENT_ID, REFUND_ID),
    **webhook_samples.calls(),
    **subscription_samples.calls(),
    **payment_link_samples.calls(),
}


def routes_of(app: web.Application) -> set[tuple[str, str]]:
    # aiohttp answers HEAD for every GET route by itself; HTTP defines HEAD by GET, so it is not listed. The
    # admin API (order_svc.admin, the operators' console's, behind ADMIN_TOKEN) is not the client API
    routes = {(route.method, route.resource.canonical) for route in app.router.routes() if route.method != "HEAD"}
    return {(method, path) for method, path in routes if not path.startswith("/admin/")}


def success(doc: dict[str, Any], method: str, path: str) -> tuple[int, dict[str, Any]]:
    [(code, answer)] = [(c, a) for c, a in doc["paths"][path][method.lower()]["responses"].items() if c < "300"]
    return int(code), answer


@pytest.fixture
def stubbed(monkeypatch: pytest.MonkeyPatch) -> None:
    trail = [
        PaymentLogEntry.model_validate(
            {"id": 1, "kind": "created", "source": "api", "eventId": None, "detail": {}, "createdAt": NOW}
        )
    ]
    verified = PaymentVerified.model_validate(
        {
            "verified": True,
            "orderId": ORDER_ID,
            "paymentId": PAYMENT_ID,
            "gatewayPaymentId": GATEWAY_ID,
            "status": "SUCCESS",
            "orderStatus": "PAID",
        }
    )
    created = dataclasses.replace(ORDER, status=OrderStatus.CREATED, receipt=None, notes=None)
    receipt = receipt_of(ORDER, VIEW, [REFUND])
    monkeypatch.setattr(orders_http, "create_order", _returning(created))
    monkeypatch.setattr(orders_http, "read_order", _returning(OrderRead(ORDER, [VIEW], [REFUND])))
    monkeypatch.setattr(payments_http, "initiate_payment", _returning(SNAPSHOT))
    monkeypatch.setattr(payments_http, "verify_payment", _returning(verified))
    monkeypatch.setattr(payments_http, "payment_trail", _returning(trail))
    monkeypatch.setattr(payments_http, "capture_payment", _returning(VIEW))
    monkeypatch.setattr(refunds_http, "create_refund", _returning(REFUND_SNAPSHOT))
    monkeypatch.setattr(refunds_http, "get_refund", _returning(REFUND))
    monkeypatch.setattr(receipts_http, "receipt_pdf", _returning((receipt, render(receipt))))
    v1_samples.stub(monkeypatch, ORDER, VIEW, REFUND)
    webhook_samples.stub(monkeypatch)
    subscription_samples.stub(monkeypatch)
    payment_link_samples.stub(monkeypatch)


@pytest.fixture
async def client(stubbed: None) -> AsyncIterator[TestClient[Any, Any]]:
    app = base_app(max_body_bytes=4096)
    app.middlewares.append(access_http.auth_middleware)
    app[access_http.KEYS] = KeyRing.of(parse_api_keys(API_KEYS))
    app[DEPS] = Deps(pool=None, payments=None)  # type: ignore[arg-type]
    install_routes(app)
    async with TestClient(TestServer(app)) as test_client:
        yield test_client


async def test_the_router_serves_exactly_the_route_table_and_the_document_describes_it() -> None:
    settings = Settings(
        API_KEYS=SecretStr(API_KEYS),
        PAYMENT_SIGNING_SECRET=SecretStr("ab" * 32),
        INTERNAL_API_TOKEN=SecretStr("internal-token-0123456789abcdef"),
    )
    app = await create_app(settings)  # no I/O until the app starts
    table = {(route.method, route.path) for route in ROUTES}
    library = {("GET", "/openapi.json")} | {("GET", path) for path in observability.PUBLIC_PATHS}
    assert table == routes_of(app) - library
    doc = document()
    for method, path in routes_of(app):
        assert method.lower() in doc["paths"].get(path, {}), f"{method} {path} is not documented"


@pytest.mark.parametrize("route", ROUTES, ids=lambda route: f"{route.method} {route.path}")
def test_every_json_answer_is_documented_as_the_model_its_view_renders(route: Route) -> None:
    status, answer = success(document(), route.method, route.path)
    assert status == route.status
    if (route.method, route.path) in NOT_JSON:
        assert route.answer is None
        assert list(answer["content"]) == [NOT_JSON[(route.method, route.path)]]
        return
    # a route without a documented answer model fails here
    assert route.answer is not None, f"{route.method} {route.path} declares no answer model"
    schema = answer["content"]["application/json"]["schema"]
    assert schema == {"$ref": f"#/components/schemas/{route.answer.__name__}"}


async def test_every_route_answers_what_its_document_says(client: TestClient[Any, Any]) -> None:
    doc = document()
    app_routes = routes_of(client.server.app)  # type: ignore[union-attr]
    assert set(CALLS) == app_routes, "every route is driven by this test"
    for (method, path), (url, body) in CALLS.items():
        response = await client.request(method, url, json=body, headers=AUTH)
        status, answer = success(doc, method, path)
        assert response.status == status, (method, path, await response.text())
        if (method, path) in NOT_JSON:
            assert response.content_type == NOT_JSON[(method, path)]
            assert all(header in response.headers for header in answer.get("headers", {}))  # case-insensitive
            continue
        schema = answer["content"]["application/json"]["schema"]
        OAS31Validator({**schema, "components": doc["components"]}).validate(await response.json())


async def test_the_answers_render_time_and_absent_fields_as_before(client: TestClient[Any, Any]) -> None:
    """Moments as `timeutil.iso` writes them (milliseconds, `Z`); `receipt` and `notes` of a created order
    left out when not given, every other empty field a null."""
    created = await (await client.post("/orders", json={"amount": 1, "currency": "INR"}, headers=AUTH)).json()
    assert created["createdAt"] == "2026-11-28T07:00:00.123Z"
    assert "receipt" not in created and "notes" not in created
    assert created["customer"] == {"email": "asha@example.com", "name": "Asha"}
    order = await (await client.get(f"/orders/{ORDER_ID}", headers=AUTH)).json()
    assert order["payment"]["errorCode"] is None and "errorCode" in order["payment"]
    assert order["payments"][0]["refunds"][0]["notes"] == {}
    assert order["payments"][0]["amountRefunded"] == 500
    trail = await (await client.get(f"/payments/{PAYMENT_ID}/events", headers=AUTH)).json()
    assert trail["events"][0]["createdAt"] == "2026-11-28T07:00:00.123Z"
