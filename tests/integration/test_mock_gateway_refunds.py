"""The mock gateway's refunds over HTTP on the real PostgreSQL: refunding a captured payment, idempotent on
`refundId`, never past what was captured (even concurrently), and reported by a signed webhook sent to
`/webhook/refund` through the same durable deliveries as payments' webhooks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from payments_common import ids
from payments_common.config import parse_webhook_secrets
from payments_common.signatures import verify_webhook

from .helpers import eventually
from .test_mock_gateway_http import (
    PENDING,
    WEBHOOK_SECRET,
    StubReceiver,
    create,
    create_body,
    deliveries,
    gateway_tables,
    read,
    running_gateway,
    serving_receiver,
    upi,
)

pytestmark = pytest.mark.integration


@pytest.fixture
async def receiver() -> AsyncIterator[StubReceiver]:
    async with serving_receiver("/webhook/payment", "/webhook/refund") as stub:
        yield stub


@pytest.fixture
async def tables(database_dsn: str) -> AsyncIterator[tuple[str, asyncpg.Pool]]:
    async with gateway_tables(database_dsn) as found:
        yield found


@pytest.fixture
def db(tables: tuple[str, asyncpg.Pool]) -> asyncpg.Pool:
    return tables[1]


@pytest.fixture
async def gateway(
    database_dsn: str, tables: tuple[str, asyncpg.Pool], receiver: StubReceiver
) -> AsyncIterator[TestClient[Any, Any]]:
    async with running_gateway(database_dsn, tables[0], receiver) as client:
        yield client


async def captured(gateway: TestClient[Any, Any], vpa: str = "success@razorpay", amount: int = 1000) -> dict[str, Any]:
    """A gateway payment once its settlement made it captured."""
    response = await gateway.post("/v1/payments", json=create_body(upi(vpa), amount=amount))
    assert response.status == 201, await response.text()
    payment: dict[str, Any] = await response.json()

    async def is_captured() -> bool:
        return (await read(gateway, payment["id"]))["status"] == "captured"

    await eventually(is_captured, what="the payment captured")
    return payment


def refund_body(payment: dict[str, Any], amount: int, **changes: Any) -> dict[str, Any]:
    return {
        "refundId": ids.new_id(ids.REFUND),
        "gatewayPaymentId": payment["id"],
        "amount": amount,
        "currency": payment["currency"],
        **changes,
    }


def refund_reports(receiver: StubReceiver, refund_id: str) -> list[Any]:
    return [r for r in receiver.received if r.json().get("refundId") == refund_id]


async def test_a_refund_of_a_captured_payment_is_processed_and_reported_by_a_signed_webhook(
    gateway: TestClient[Any, Any], receiver: StubReceiver, db: asyncpg.Pool
) -> None:
    payment = await captured(gateway)
    body = refund_body(payment, 400)
    response = await gateway.post("/v1/refunds", json=body, headers={"X-Request-Id": "req-refund-1"})
    assert response.status == 201, await response.text()
    refund = await response.json()
    assert ids.is_valid(ids.GATEWAY_REFUND, refund["id"])
    assert (refund["refundId"], refund["paymentId"], refund["amount"], refund["status"]) == (
        body["refundId"],
        payment["paymentId"],
        400,
        "pending",
    )

    await eventually(lambda: len(refund_reports(receiver, body["refundId"])) == 1, what="the refund webhook")
    [report] = refund_reports(receiver, body["refundId"])
    event_id = verify_webhook(parse_webhook_secrets(WEBHOOK_SECRET), report.headers, report.body, 300)
    assert ids.is_valid(ids.EVENT, event_id)
    assert report.headers["x-request-id"] == "req-refund-1"
    assert report.json() == {
        "refundId": body["refundId"],
        "paymentId": payment["paymentId"],
        "gatewayPaymentId": payment["id"],
        "gatewayRefundId": refund["id"],
        "amount": 400,
        "currency": "INR",
        "status": "PROCESSED",
    }
    # its truth moved when the webhook fell due, and reads back by either id
    by_id = await (await gateway.get(f"/v1/refunds/{refund['id']}")).json()
    assert by_id["status"] == "processed" and by_id["errorCode"] is None
    by_refund_id = await gateway.get("/v1/refunds", params={"refundId": body["refundId"]})
    assert await by_refund_id.json() == by_id
    [planned] = [row for row in await deliveries(db, payment["paymentId"]) if row["purpose"] == "refund"]
    assert (planned["path"], planned["refund_id"], planned["reported_status"]) == (
        "/webhook/refund",
        refund["id"],
        "PROCESSED",
    )
    await eventually(lambda: _state(db, planned["event_id"]), what="the delivery marked delivered")


async def _state(db: asyncpg.Pool, event_id: str) -> bool:
    return bool(await db.fetchval("SELECT state = 'delivered' FROM deliveries WHERE event_id = $1", event_id))


async def test_refund_fails_in_the_test_vpa_fails_the_refund(
    gateway: TestClient[Any, Any], receiver: StubReceiver
) -> None:
    payment = await captured(gateway, vpa="success.refund-fails@razorpay")
    body = refund_body(payment, 1000)
    assert (await gateway.post("/v1/refunds", json=body)).status == 201
    await eventually(lambda: len(refund_reports(receiver, body["refundId"])) == 1, what="the refund webhook")
    [report] = refund_reports(receiver, body["refundId"])
    assert report.json()["status"] == "FAILED"
    assert report.json()["errorCode"] == "REFUND_FAILED"
    found = await (await gateway.get("/v1/refunds", params={"refundId": body["refundId"]})).json()
    assert (found["status"], found["errorCode"]) == ("failed", "REFUND_FAILED")
    # a failed refund took nothing: the whole amount can still be refunded
    assert (await gateway.post("/v1/refunds", json=refund_body(payment, 1000))).status == 201


async def test_a_refund_is_idempotent_on_its_refund_id(
    gateway: TestClient[Any, Any], receiver: StubReceiver, db: asyncpg.Pool
) -> None:
    payment = await captured(gateway)
    body = refund_body(payment, 300)
    first = await gateway.post("/v1/refunds", json=body)
    assert first.status == 201
    created = await first.json()
    answers = await asyncio.gather(*(gateway.post("/v1/refunds", json=body) for _ in range(5)))
    assert [a.status for a in answers] == [200] * 5
    assert {(await a.json())["id"] for a in answers} == {created["id"]}
    assert await db.fetchval("SELECT count(*) FROM refunds WHERE refund_id = $1", body["refundId"]) == 1
    refund_deliveries = [row for row in await deliveries(db, payment["paymentId"]) if row["purpose"] == "refund"]
    assert len(refund_deliveries) == 1
    # the same refund id with another amount is a conflict, not a second refund
    conflict = await gateway.post("/v1/refunds", json={**body, "amount": 301})
    assert conflict.status == 409
    assert (await conflict.json())["error"]["code"] == "IDEMPOTENCY_CONFLICT"
    await eventually(lambda: len(refund_reports(receiver, body["refundId"])) == 1, what="one refund webhook")


async def test_refunds_never_add_up_past_the_captured_amount(gateway: TestClient[Any, Any]) -> None:
    payment = await captured(gateway, amount=1000)
    assert (await gateway.post("/v1/refunds", json=refund_body(payment, 600))).status == 201
    over = await gateway.post("/v1/refunds", json=refund_body(payment, 401))
    assert over.status == 400
    assert (await over.json())["error"]["field"] == "amount"
    assert (await gateway.post("/v1/refunds", json=refund_body(payment, 400))).status == 201


async def test_twenty_concurrent_refunds_of_a_tenth_leave_exactly_ten(gateway: TestClient[Any, Any]) -> None:
    payment = await captured(gateway, amount=1000)
    answers = await asyncio.gather(*(gateway.post("/v1/refunds", json=refund_body(payment, 100)) for _ in range(20)))
    statuses = sorted(a.status for a in answers)
    assert statuses == [201] * 10 + [400] * 10


async def test_a_payment_not_captured_cannot_be_refunded(gateway: TestClient[Any, Any]) -> None:
    pending = await create(gateway, PENDING)
    response = await gateway.post("/v1/refunds", json=refund_body(pending, 100))
    assert response.status == 409
    assert (await response.json())["error"]["code"] == "PAYMENT_NOT_CAPTURED"


async def test_a_refund_must_name_a_known_payment_in_its_currency(gateway: TestClient[Any, Any]) -> None:
    unknown = await gateway.post(
        "/v1/refunds", json=refund_body({"id": ids.new_id(ids.GATEWAY_PAYMENT), "currency": "INR"}, 100)
    )
    assert unknown.status == 404
    payment = await captured(gateway)
    other_currency = await gateway.post("/v1/refunds", json=refund_body(payment, 100, currency="USD"))
    assert other_currency.status == 400
    assert (await other_currency.json())["error"]["field"] == "currency"
    malformed = await gateway.post("/v1/refunds", json=refund_body(payment, 100, refundId="rfnd_1"))
    assert malformed.status == 400
    assert (await malformed.json())["error"]["field"] == "refundId"
    assert (await gateway.get(f"/v1/refunds/{ids.new_id(ids.GATEWAY_REFUND)}")).status == 404
