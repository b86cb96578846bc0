"""The mock gateway over HTTP on the real PostgreSQL, settling payments into a stub webhook receiver.

This module also holds what the other mock gateway modules share: the stub receiver, a running
gateway on a schema of its own, and readers of its tables.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, cast

import asyncpg
import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr
from tenacity import wait_fixed, wait_none
from tenacity.wait import WaitBaseT

from mock_gateway.app import create_app
from mock_gateway.delivery.worker import DeliveryWorker
from mock_gateway.http import WORKER
from mock_gateway.settings import Settings
from payments_common import ids
from payments_common.config import parse_webhook_secrets
from payments_common.signatures import payment_signature, verify_payment_signature, verify_webhook

from .conftest import migrated_schema
from .helpers import eventually

pytestmark = pytest.mark.integration

WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"mock-gateway-webhook-secret-32by").decode()
PAYMENT_SECRET = "mock-gateway-payment-secret"

PENDING = {"type": "upi", "vpa": "pending@razorpay"}


# --- the stub webhook receiver ------------------------------------------------------------------


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    status: int

    @property
    def event_id(self) -> str:
        return self.headers["webhook-id"]

    def json(self) -> dict[str, Any]:
        result: dict[str, Any] = orjson.loads(self.body)
        return result


@dataclass
class StubReceiver:
    """Records every delivery; answers each with the next scripted status, then 200.

    `answer_delay` holds each answer, so copies sent concurrently are seen overlapping.
    """

    statuses: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    answer_delay: float = 0.0
    url: str = ""
    _open: Counter[str] = field(default_factory=Counter)
    peak: Counter[str] = field(default_factory=Counter)

    async def handle(self, request: web.Request) -> web.Response:
        headers = {k.lower(): v for k, v in request.headers.items()}
        event_id = headers.get("webhook-id", "")
        self._open[event_id] += 1
        self.peak[event_id] = max(self.peak[event_id], self._open[event_id])
        try:
            body = await request.read()
            status = self.statuses.pop(0) if self.statuses else 200
            await asyncio.sleep(self.answer_delay)
            self.received.append(Received(headers, body, status))
            return web.json_response({"success": 200 <= status < 300}, status=status)
        finally:
            self._open[event_id] -= 1

    def for_payment(self, payment_id: str) -> list[Received]:
        return [r for r in self.received if r.json()["paymentId"] == payment_id]


@contextlib.asynccontextmanager
async def serving_receiver(*paths: str) -> AsyncIterator[StubReceiver]:
    """The stub receiver on `paths` (the payment webhook's by default); `received` keeps them in arrival order."""
    stub = StubReceiver()
    app = web.Application()
    for path in paths or ("/webhook/payment",):
        app.router.add_post(path, stub.handle)
    server = TestServer(app)
    await server.start_server()
    stub.url = str(server.make_url("")).rstrip("/")
    try:
        yield stub
    finally:
        await server.close()


@pytest.fixture
async def receiver() -> AsyncIterator[StubReceiver]:
    async with serving_receiver() as stub:
        yield stub


# --- a gateway on its own schema ----------------------------------------------------------------


@contextlib.asynccontextmanager
async def gateway_tables(dsn: str) -> AsyncIterator[tuple[str, asyncpg.Pool]]:
    """A fresh schema with the gateway's tables, and the test's own pool to read them."""
    async with migrated_schema(dsn, "mock_gateway", size=2) as found:
        yield found


@pytest.fixture
async def tables(database_dsn: str) -> AsyncIterator[tuple[str, asyncpg.Pool]]:
    async with gateway_tables(database_dsn) as found:
        yield found


@pytest.fixture
def gateway_schema(tables: tuple[str, asyncpg.Pool]) -> str:
    return tables[0]


@pytest.fixture
def db(tables: tuple[str, asyncpg.Pool]) -> asyncpg.Pool:
    return tables[1]


def gateway_settings(dsn: str, receiver_url: str, **overrides: Any) -> Settings:
    # every knob explicit, so a MOCK_GATEWAY_* variable in the environment running the tests changes nothing
    values: dict[str, Any] = {
        "DATABASE_URL": dsn,
        "DB_POOL_SIZE": 5,
        "PAYMENT_SIGNING_SECRET": SecretStr(PAYMENT_SECRET),
        "WEBHOOK_SECRETS": SecretStr(WEBHOOK_SECRET),
        "WEBHOOK_GATEWAY_URL": receiver_url,
        "MOCK_GATEWAY_SETTLE_DELAY_MS": 10,
        "MOCK_GATEWAY_RETRY_WINDOW_SECONDS": 30,
        "MOCK_GATEWAY_DELIVERY_TIMEOUT_SECONDS": 2,
        "MOCK_GATEWAY_FAULTS": "",
        "MOCK_GATEWAY_FAULT_DELAY_MS": 300,
        "MOCK_GATEWAY_FAULT_SEED": None,
    }
    values.update(overrides)
    return Settings(**values)


@contextlib.asynccontextmanager
async def running_gateway(
    dsn: str, schema: str, receiver: StubReceiver, *, retry_wait: WaitBaseT | None = None, **overrides: Any
) -> AsyncIterator[TestClient[Any, Any]]:
    app = await create_app(
        gateway_settings(dsn, receiver.url, **overrides),
        schema=schema,
        retry_wait=retry_wait or wait_none(),
        poll_interval=0.02,
    )
    async with TestClient(TestServer(app)) as client:
        yield client


@pytest.fixture
async def gateway(
    database_dsn: str, gateway_schema: str, receiver: StubReceiver
) -> AsyncIterator[TestClient[Any, Any]]:
    async with running_gateway(database_dsn, gateway_schema, receiver) as client:
        yield client


def worker(client: TestClient[Any, Any]) -> DeliveryWorker:
    return cast(web.Application, client.app)[WORKER]


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


def upi(vpa: str) -> dict[str, Any]:
    return {"type": "upi", "vpa": vpa}


async def create(client: TestClient[Any, Any], method: dict[str, Any] | None = None) -> dict[str, Any]:
    response = await client.post("/v1/payments", json=create_body(method))
    assert response.status == 201, await response.text()
    created: dict[str, Any] = await response.json()
    return created


async def read(client: TestClient[Any, Any], gateway_payment_id: str) -> dict[str, Any]:
    response = await client.get(f"/v1/payments/{gateway_payment_id}")
    assert response.status == 200
    found: dict[str, Any] = await response.json()
    return found


async def deliveries(db: asyncpg.Pool, payment_id: str) -> list[asyncpg.Record]:
    """The payment's planned events, in the order they were planned."""
    return list(
        await db.fetch(
            "SELECT * FROM deliveries WHERE payment_id = $1 ORDER BY not_before, event_id",
            payment_id,
        )
    )


async def attempts(db: asyncpg.Pool, event_id: str) -> list[asyncpg.Record]:
    return list(await db.fetch("SELECT * FROM delivery_attempts WHERE event_id = $1 ORDER BY attempt", event_id))


async def states(db: asyncpg.Pool, payment_id: str) -> set[str]:
    return {row["state"] for row in await deliveries(db, payment_id)}


def assert_properly_signed(delivery: Received) -> str:
    assert delivery.headers["content-type"] == "application/json"
    event_id = verify_webhook(parse_webhook_secrets(WEBHOOK_SECRET), delivery.headers, delivery.body, 300)
    assert ids.is_valid(ids.EVENT, event_id)
    data = delivery.json()
    assert verify_payment_signature(
        PAYMENT_SECRET.encode(), data["orderId"], data["gatewayPaymentId"], data["signature"]
    )
    return event_id


# --- create and read ----------------------------------------------------------------------------


async def test_create_answers_the_gateway_payment_and_stores_it(
    gateway: TestClient[Any, Any], db: asyncpg.Pool
) -> None:
    body = create_body(PENDING)
    response = await gateway.post("/v1/payments", json=body)
    assert response.status == 201
    created = await response.json()
    assert ids.is_valid(ids.GATEWAY_PAYMENT, created["id"])
    assert created["paymentId"] == body["paymentId"]
    assert created["orderId"] == body["orderId"]
    assert (created["amount"], created["currency"], created["status"]) == (1500, "INR", "created")
    assert created["method"] == PENDING
    assert created["signature"] == payment_signature(PAYMENT_SECRET.encode(), body["orderId"], created["id"])
    assert (created["errorCode"], created["errorDescription"]) == (None, None)
    assert created["createdAt"].endswith("Z") and created["updatedAt"].endswith("Z")

    assert await read(gateway, created["id"]) == created
    by_payment_id = await gateway.get("/v1/payments", params={"paymentId": body["paymentId"]})
    assert by_payment_id.status == 200
    assert await by_payment_id.json() == created

    row = await db.fetchrow("SELECT * FROM payments WHERE id = $1", created["id"])
    assert row is not None
    assert (row["payment_id"], row["status"], row["amount"], row["faults"]) == (
        body["paymentId"],
        "created",
        1500,
        [],
    )


async def test_unknown_gateway_payment_is_404(gateway: TestClient[Any, Any]) -> None:
    response = await gateway.get(f"/v1/payments/{ids.new_id(ids.GATEWAY_PAYMENT)}")
    assert response.status == 404
    assert (await response.json())["error"]["code"] == "NOT_FOUND"


async def test_unknown_payment_id_is_404(gateway: TestClient[Any, Any]) -> None:
    response = await gateway.get("/v1/payments", params={"paymentId": ids.new_id(ids.PAYMENT)})
    assert response.status == 404
    assert (await response.json())["error"]["code"] == "NOT_FOUND"


async def test_finding_without_a_payment_id_is_400(gateway: TestClient[Any, Any]) -> None:
    response = await gateway.get("/v1/payments")
    assert response.status == 400
    assert (await response.json())["error"]["field"] == "paymentId"


async def test_create_is_idempotent_on_payment_id(
    gateway: TestClient[Any, Any], receiver: StubReceiver, db: asyncpg.Pool
) -> None:
    body = create_body()
    first = await gateway.post("/v1/payments", json=body)
    assert first.status == 201
    created = await first.json()
    again = await gateway.post("/v1/payments", json=body)
    assert again.status == 200
    replayed = await again.json()
    assert (replayed["id"], replayed["signature"]) == (created["id"], created["signature"])
    assert len(await deliveries(db, body["paymentId"])) == 1  # the replay planned nothing
    await eventually(lambda: len(receiver.for_payment(body["paymentId"])) == 1)


async def test_concurrent_creates_of_one_payment_make_one_gateway_payment(
    gateway: TestClient[Any, Any], db: asyncpg.Pool
) -> None:
    body = create_body()
    responses = await asyncio.gather(*(gateway.post("/v1/payments", json=body) for _ in range(10)))
    assert sorted(r.status for r in responses) == [200] * 9 + [201]
    assert len({(await r.json())["id"] for r in responses}) == 1
    assert await db.fetchval("SELECT count(*) FROM payments WHERE payment_id = $1", body["paymentId"]) == 1
    assert len(await deliveries(db, body["paymentId"])) == 1


async def test_reusing_a_payment_id_for_another_payment_is_a_conflict(gateway: TestClient[Any, Any]) -> None:
    body = create_body(PENDING)
    assert (await gateway.post("/v1/payments", json=body)).status == 201
    response = await gateway.post("/v1/payments", json={**body, "amount": 1})
    assert response.status == 409
    assert (await response.json())["error"]["code"] == "IDEMPOTENCY_CONFLICT"


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


async def test_default_method_settles_as_success(
    gateway: TestClient[Any, Any], receiver: StubReceiver, db: asyncpg.Pool
) -> None:
    body = create_body()
    created = await (await gateway.post("/v1/payments", json=body)).json()
    await eventually(lambda: len(receiver.received) == 1)
    [delivery] = receiver.received
    event_id = assert_properly_signed(delivery)
    assert delivery.json() == {
        "orderId": body["orderId"],
        "paymentId": body["paymentId"],
        "gatewayPaymentId": created["id"],
        "signature": created["signature"],
        "status": "SUCCESS",
        "amount": 1500,
        "currency": "INR",
    }
    assert (await read(gateway, created["id"]))["status"] == "captured"

    await eventually(lambda: _delivered(db, body["paymentId"]), what="the delivery is marked delivered")
    [row] = await deliveries(db, body["paymentId"])
    assert (row["event_id"], row["purpose"], row["reported_status"], row["copies"]) == (
        event_id,
        "settlement",
        "SUCCESS",
        1,
    )
    assert bytes(row["body"]) == delivery.body
    assert row["delivered_at"] is not None
    [attempt] = await attempts(db, event_id)
    assert (attempt["attempt"], attempt["status_code"], attempt["treated_as_timeout"]) == (1, 200, False)


async def _delivered(db: asyncpg.Pool, payment_id: str) -> bool:
    return await states(db, payment_id) == {"delivered"}


async def test_failure_vpa_settles_as_failed(gateway: TestClient[Any, Any], receiver: StubReceiver) -> None:
    method = upi("failure@razorpay")
    created = await create(gateway, method)
    await eventually(lambda: len(receiver.received) == 1)
    data = receiver.received[0].json()
    assert data["status"] == "FAILED"
    assert data["method"] == method
    assert data["errorCode"] == "UPI_DECLINED"
    assert data["errorDescription"] == "The payer's bank declined the UPI payment"
    record = await read(gateway, created["id"])
    assert (record["status"], record["errorCode"], record["errorDescription"]) == (
        "failed",
        "UPI_DECLINED",
        "The payer's bank declined the UPI payment",
    )


async def test_pending_vpa_plans_no_webhook(gateway: TestClient[Any, Any], db: asyncpg.Pool) -> None:
    created = await create(gateway, PENDING)
    assert await deliveries(db, created["paymentId"]) == []
    assert (await read(gateway, created["id"]))["status"] == "created"


async def test_the_status_changes_when_the_settlement_falls_due(
    database_dsn: str, gateway_schema: str, receiver: StubReceiver, db: asyncpg.Pool
) -> None:
    async with running_gateway(database_dsn, gateway_schema, receiver, MOCK_GATEWAY_SETTLE_DELAY_MS=1000) as client:
        created = await create(client)
        assert (await read(client, created["id"]))["status"] == "created"
        [row] = await deliveries(db, created["paymentId"])
        assert row["state"] == "pending"
        await eventually(lambda: len(receiver.received) == 1)
        record = await read(client, created["id"])
        assert record["status"] == "captured"
        assert record["updatedAt"] > record["createdAt"]


async def test_failed_deliveries_are_retried_under_one_event_id(
    gateway: TestClient[Any, Any], receiver: StubReceiver, db: asyncpg.Pool
) -> None:
    receiver.statuses = [503, 500, 429, 408]
    created = await create(gateway)
    await eventually(lambda: len(receiver.received) == 5)
    event_ids = {assert_properly_signed(delivery) for delivery in receiver.received}
    assert len(event_ids) == 1
    assert len({delivery.body for delivery in receiver.received}) == 1
    await eventually(lambda: _delivered(db, created["paymentId"]))
    [event_id] = event_ids
    tries = await attempts(db, event_id)
    assert [(t["attempt"], t["status_code"]) for t in tries] == [(1, 503), (2, 500), (3, 429), (4, 408), (5, 200)]
    assert [row["attempts"] for row in await deliveries(db, created["paymentId"])] == [5]


async def test_a_refusal_is_final(gateway: TestClient[Any, Any], receiver: StubReceiver, db: asyncpg.Pool) -> None:
    receiver.statuses = [400]
    created = await create(gateway)
    await eventually(lambda: _in_state(db, created["paymentId"], "refused"))
    assert len(receiver.received) == 1
    [row] = await deliveries(db, created["paymentId"])
    assert [t["status_code"] for t in await attempts(db, row["event_id"])] == [400]
    assert row["delivered_at"] is None


async def _in_state(db: asyncpg.Pool, payment_id: str, state: str) -> bool:
    return await states(db, payment_id) == {state}


async def test_a_delivery_gives_up_after_the_retry_window(
    database_dsn: str, gateway_schema: str, receiver: StubReceiver, db: asyncpg.Pool
) -> None:
    receiver.statuses = [503] * 10_000
    async with running_gateway(
        database_dsn,
        gateway_schema,
        receiver,
        retry_wait=wait_fixed(0.05),
        MOCK_GATEWAY_RETRY_WINDOW_SECONDS=0.5,
    ) as client:
        created = await create(client)
        await eventually(lambda: _in_state(db, created["paymentId"], "gave_up"))
        [row] = await deliveries(db, created["paymentId"])
        assert row["attempts"] >= 2
        assert {t["status_code"] for t in await attempts(db, row["event_id"])} == {503}


async def test_the_request_id_is_passed_on_with_the_webhook(
    gateway: TestClient[Any, Any], receiver: StubReceiver
) -> None:
    await gateway.post("/v1/payments", json=create_body(), headers={"X-Request-Id": "req-from-payment-svc"})
    await eventually(lambda: len(receiver.received) == 1)
    assert receiver.received[0].headers["x-request-id"] == "req-from-payment-svc"


async def test_shutdown_cancels_deliveries_in_flight_and_leaves_them_pending(
    database_dsn: str, gateway_schema: str, receiver: StubReceiver, db: asyncpg.Pool
) -> None:
    receiver.statuses = [503] * 10_000
    async with running_gateway(
        database_dsn, gateway_schema, receiver, retry_wait=wait_fixed(0.02), MOCK_GATEWAY_SETTLE_DELAY_MS=0
    ) as client:
        created = await create(client)
        await eventually(lambda: len(receiver.received) >= 2)
        assert worker(client).in_flight == 1
    assert worker(client).in_flight == 0
    [row] = await deliveries(db, created["paymentId"])
    assert row["state"] == "pending"
    assert row["attempts"] >= 2
