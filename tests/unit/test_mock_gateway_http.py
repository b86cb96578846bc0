"""The mock gateway over HTTP, settling payments into a stub webhook gateway."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, cast

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr
from tenacity import wait_none

from mock_gateway.app import create_app
from mock_gateway.settings import Settings
from mock_gateway.settlement import Settlement
from mock_gateway.views import SETTLEMENT
from payments_common import ids
from payments_common.config import parse_webhook_secrets
from payments_common.signatures import payment_signature, verify_payment_signature, verify_webhook

WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"mock-gateway-webhook-secret-32by").decode()
PAYMENT_SECRET = "mock-gateway-payment-secret"


@dataclass
class Delivery:
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict[str, Any]:
        result: dict[str, Any] = orjson.loads(self.body)
        return result


@dataclass
class StubWebhookGateway:
    """Records every delivery; answers each with the next scripted status, then 200."""

    statuses: list[int] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        self.deliveries.append(Delivery({k.lower(): v for k, v in request.headers.items()}, await request.read()))
        status = self.statuses.pop(0) if self.statuses else 200
        return web.json_response({"success": 200 <= status < 300}, status=status)


async def eventually(condition: Callable[[], bool], within: float = 3.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[StubWebhookGateway, str]]:
    stub = StubWebhookGateway()
    app = web.Application()
    app.router.add_post("/webhook/payment", stub.handle)
    server = TestServer(app)
    await server.start_server()
    try:
        yield stub, str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


@pytest.fixture
async def gateway(receiver: tuple[StubWebhookGateway, str]) -> AsyncIterator[TestClient[Any, Any]]:
    settings = Settings(
        PAYMENT_SIGNING_SECRET=SecretStr(PAYMENT_SECRET),
        WEBHOOK_SECRETS=SecretStr(WEBHOOK_SECRET),
        WEBHOOK_GATEWAY_URL=receiver[1],
        MOCK_GATEWAY_SETTLE_DELAY_MS=10,
        MOCK_GATEWAY_RETRY_WINDOW_SECONDS=5,
        MOCK_GATEWAY_DELIVERY_TIMEOUT_SECONDS=2,
    )
    app = await create_app(settings, retry_wait=wait_none())
    async with TestClient(TestServer(app)) as client:
        yield client


@pytest.fixture
def stub(receiver: tuple[StubWebhookGateway, str]) -> StubWebhookGateway:
    return receiver[0]


def settlement(client: TestClient[Any, Any]) -> Settlement:
    app = cast(web.Application, client.app)
    return app[SETTLEMENT]


def create_body(method: dict[str, Any] | None = None, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "paymentId": ids.new_id(ids.PAYMENT),
        "orderId": ids.new_id(ids.ORDER),
        "amount": 1500,
        "currency": "INR",
        "method": method,
    }
    body.update(changes)
    return body


PENDING = {"type": "upi", "vpa": "pending@razorpay"}


# --- create and read ----------------------------------------------------------------------------


async def test_create_answers_the_gateway_payment(gateway: TestClient[Any, Any]) -> None:
    body = create_body(PENDING)
    response = await gateway.post("/v1/payments", json=body)
    assert response.status == 201
    created = await response.json()
    assert ids.is_valid(ids.GATEWAY_PAYMENT, created["id"])
    assert created["paymentId"] == body["paymentId"]
    assert created["orderId"] == body["orderId"]
    assert (created["amount"], created["currency"], created["status"]) == (1500, "INR", "created")
    assert created["signature"] == payment_signature(PAYMENT_SECRET.encode(), body["orderId"], created["id"])

    fetched = await gateway.get(f"/v1/payments/{created['id']}")
    assert fetched.status == 200
    assert await fetched.json() == created


async def test_unknown_gateway_payment_is_404(gateway: TestClient[Any, Any]) -> None:
    response = await gateway.get(f"/v1/payments/{ids.new_id(ids.GATEWAY_PAYMENT)}")
    assert response.status == 404
    assert (await response.json())["error"]["code"] == "NOT_FOUND"


async def test_create_is_idempotent_on_payment_id(gateway: TestClient[Any, Any], stub: StubWebhookGateway) -> None:
    body = create_body()
    first = await gateway.post("/v1/payments", json=body)
    assert first.status == 201
    created = await first.json()
    again = await gateway.post("/v1/payments", json=body)
    assert again.status == 200
    replayed = await again.json()
    assert replayed["id"] == created["id"]
    assert replayed["signature"] == created["signature"]
    await eventually(lambda: settlement(gateway).in_flight == 0 and len(stub.deliveries) >= 1)
    await asyncio.sleep(0.1)
    assert len(stub.deliveries) == 1  # the replay scheduled nothing


async def test_concurrent_creates_of_one_payment_make_one_gateway_payment(gateway: TestClient[Any, Any]) -> None:
    body = create_body(PENDING)
    responses = await asyncio.gather(*(gateway.post("/v1/payments", json=body) for _ in range(10)))
    assert sorted(r.status for r in responses) == [200] * 9 + [201]
    assert len({(await r.json())["id"] for r in responses}) == 1


async def test_reusing_a_payment_id_for_another_payment_is_a_conflict(gateway: TestClient[Any, Any]) -> None:
    body = create_body(PENDING)
    assert (await gateway.post("/v1/payments", json=body)).status == 201
    response = await gateway.post("/v1/payments", json={**body, "amount": 1})
    assert response.status == 409


@pytest.mark.parametrize(
    ("changes", "field_name"),
    [
        ({"paymentId": None}, "paymentId"),
        ({"paymentId": "pay_1"}, "paymentId"),
        ({"orderId": ids.new_id(ids.PAYMENT)}, "orderId"),
        ({"amount": "1500"}, "amount"),
        ({"amount": 0}, "amount"),
        ({"amount": True}, "amount"),
        ({"currency": "inr"}, "currency"),
        ({"method": "upi"}, "method"),
    ],
)
async def test_invalid_create_names_the_field(
    gateway: TestClient[Any, Any], changes: dict[str, Any], field_name: str
) -> None:
    response = await gateway.post("/v1/payments", json=create_body(**changes))
    assert response.status == 400
    error = (await response.json())["error"]
    assert (error["code"], error["field"]) == ("BAD_REQUEST_ERROR", field_name)


@pytest.mark.parametrize("raw", [b"{", b"[]", b"null", b""])
async def test_malformed_create_body_is_400(gateway: TestClient[Any, Any], raw: bytes) -> None:
    response = await gateway.post("/v1/payments", data=raw, headers={"content-type": "application/json"})
    assert response.status == 400


# --- settlement by webhook ----------------------------------------------------------------------


def assert_properly_signed(delivery: Delivery) -> str:
    assert delivery.headers["content-type"] == "application/json"
    event_id = verify_webhook(parse_webhook_secrets(WEBHOOK_SECRET), delivery.headers, delivery.body, 300)
    assert ids.is_valid(ids.EVENT, event_id)
    data = delivery.json()
    assert verify_payment_signature(
        PAYMENT_SECRET.encode(), data["orderId"], data["gatewayPaymentId"], data["signature"]
    )
    return event_id


async def test_default_method_settles_as_success(gateway: TestClient[Any, Any], stub: StubWebhookGateway) -> None:
    body = create_body()
    created = await (await gateway.post("/v1/payments", json=body)).json()
    await eventually(lambda: len(stub.deliveries) == 1)
    [delivery] = stub.deliveries
    assert_properly_signed(delivery)
    assert delivery.json() == {
        "orderId": body["orderId"],
        "paymentId": body["paymentId"],
        "gatewayPaymentId": created["id"],
        "signature": created["signature"],
        "status": "SUCCESS",
        "amount": 1500,
        "currency": "INR",
    }
    assert (await (await gateway.get(f"/v1/payments/{created['id']}")).json())["status"] == "captured"


async def test_failure_vpa_settles_as_failed(gateway: TestClient[Any, Any], stub: StubWebhookGateway) -> None:
    method = {"type": "upi", "vpa": "failure@razorpay"}
    created = await (await gateway.post("/v1/payments", json=create_body(method))).json()
    await eventually(lambda: len(stub.deliveries) == 1)
    data = stub.deliveries[0].json()
    assert data["status"] == "FAILED"
    assert data["method"] == method
    assert data["errorCode"] == "BAD_REQUEST_ERROR"
    assert data["errorDescription"] == "Payment declined by the bank"
    assert (await (await gateway.get(f"/v1/payments/{created['id']}")).json())["status"] == "failed"


async def test_pending_vpa_sends_nothing(gateway: TestClient[Any, Any], stub: StubWebhookGateway) -> None:
    created = await (await gateway.post("/v1/payments", json=create_body(PENDING))).json()
    assert settlement(gateway).in_flight == 0
    await asyncio.sleep(0.1)
    assert stub.deliveries == []
    assert (await (await gateway.get(f"/v1/payments/{created['id']}")).json())["status"] == "created"


async def test_failed_deliveries_are_retried_under_one_event_id(
    gateway: TestClient[Any, Any], stub: StubWebhookGateway
) -> None:
    stub.statuses = [503, 500, 429, 408]
    await gateway.post("/v1/payments", json=create_body())
    await eventually(lambda: len(stub.deliveries) == 5)
    event_ids = {assert_properly_signed(delivery) for delivery in stub.deliveries}
    assert len(event_ids) == 1
    assert len({delivery.body for delivery in stub.deliveries}) == 1
    await eventually(lambda: settlement(gateway).in_flight == 0)


async def test_a_refusal_is_final(gateway: TestClient[Any, Any], stub: StubWebhookGateway) -> None:
    stub.statuses = [400]
    await gateway.post("/v1/payments", json=create_body())
    await eventually(lambda: settlement(gateway).in_flight == 0 and len(stub.deliveries) == 1)
    await asyncio.sleep(0.1)
    assert len(stub.deliveries) == 1


async def test_the_request_id_is_passed_on_with_the_webhook(
    gateway: TestClient[Any, Any], stub: StubWebhookGateway
) -> None:
    await gateway.post("/v1/payments", json=create_body(), headers={"X-Request-Id": "req-from-payment-svc"})
    await eventually(lambda: len(stub.deliveries) == 1)
    assert stub.deliveries[0].headers["x-request-id"] == "req-from-payment-svc"


async def test_shutdown_cancels_deliveries_in_flight(receiver: tuple[StubWebhookGateway, str]) -> None:
    stub, url = receiver
    stub.statuses = [503] * 10_000
    settings = Settings(
        PAYMENT_SIGNING_SECRET=SecretStr(PAYMENT_SECRET),
        WEBHOOK_SECRETS=SecretStr(WEBHOOK_SECRET),
        WEBHOOK_GATEWAY_URL=url,
        MOCK_GATEWAY_SETTLE_DELAY_MS=0,
    )
    app = await create_app(settings, retry_wait=wait_none())
    async with TestClient(TestServer(app)) as client:
        await client.post("/v1/payments", json=create_body())
        await eventually(lambda: len(stub.deliveries) >= 2)
        assert settlement(client).in_flight == 1
    assert settlement(client).in_flight == 0
    seen = len(stub.deliveries)
    await asyncio.sleep(0.05)
    assert len(stub.deliveries) == seen
