"""payment-svc's trail of an attempt, as its internal API serves it to order-svc: every step in order,
a transition with where it came from and went, and a redelivered webhook noted without applying."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from payment_svc.attempts import http
from payment_svc.attempts.service import Deps, InitiatePayment, apply_webhook, initiate_payment
from payment_svc.gateway.client import GatewayPayment
from payments_common import ids
from payments_common.errors import NOT_FOUND, ORDER_ALREADY_PAID, PAYMENT_IN_PROGRESS, ApiError
from payments_common.events import WebhookEnvelope, WebhookPayload
from payments_common.http import base_app
from payments_common.signatures import payment_signature
from payments_common.timeutil import utcnow

from .conftest import migrated_schema

pytestmark = pytest.mark.integration

SECRET = b"payment-trail-signing-secret"
INTERNAL_TOKEN = "internal-token-0123456789abcdef"


class InstantGateway:
    async def create_payment(self, payment_id: str, order_id: str, *_: Any, **__: Any) -> GatewayPayment:
        gateway_id = ids.new_id(ids.GATEWAY_PAYMENT)
        return GatewayPayment(id=gateway_id, signature=payment_signature(SECRET, order_id, gateway_id))


@pytest.fixture
async def pool(database_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    async with migrated_schema(database_dsn, "payments_common", "payment_svc") as (_, pool):
        yield pool


@pytest.fixture
async def deps(pool: asyncpg.Pool) -> Deps:
    return Deps(pool=pool, gateway=InstantGateway(), signing_secret=SECRET)  # type: ignore[arg-type]


@pytest.fixture
async def client(deps: Deps) -> AsyncIterator[TestClient[Any, Any]]:
    app = base_app(max_body_bytes=4096)
    app[http.DEPS] = deps
    http.add_routes(app, [INTERNAL_TOKEN.encode()])
    # as order-svc calls it: with the internal API's bearer token on every request
    async with TestClient(TestServer(app), headers={"Authorization": f"Bearer {INTERNAL_TOKEN}"}) as test_client:
        yield test_client


def envelope(order_id: str, payment_id: str, gateway_id: str, event_id: str) -> WebhookEnvelope:
    payload = WebhookPayload(
        orderId=order_id,
        paymentId=payment_id,
        gatewayPaymentId=gateway_id,
        signature=payment_signature(SECRET, order_id, gateway_id),
        status="SUCCESS",
        amount=1500,
        currency="INR",
    )
    return WebhookEnvelope(eventId=event_id, receivedAt=utcnow(), data=payload)


async def test_the_trail_lists_every_step_oldest_first_and_notes_a_redelivery(
    deps: Deps, client: TestClient[Any, Any]
) -> None:
    order_id = ids.new_id(ids.ORDER)
    payment = await initiate_payment(deps, InitiatePayment(order_id, "m_1", 1500, "INR", None))
    assert payment.gateway_payment_id is not None
    event_id = ids.new_id(ids.EVENT)
    webhook = envelope(order_id, payment.id, payment.gateway_payment_id, event_id)
    await apply_webhook(deps, event_id, webhook, None)
    await apply_webhook(deps, event_id, webhook, None)  # the broker redelivers: the inbox turns it away

    r = await client.get(f"/internal/payments/{payment.id}/events")
    assert r.status == 200
    body = await r.json()
    assert body["paymentId"] == payment.id
    events = body["events"]
    assert [e["kind"] for e in events] == ["created", "sent_to_gateway", "settled", "duplicate_ignored"]
    assert [e["id"] for e in events] == sorted(e["id"] for e in events)
    settled, duplicate = events[2], events[3]
    assert (settled["detail"]["current"], settled["detail"]["to"]) == ("INITIATED", "SUCCESS")
    assert (settled["source"], settled["eventId"]) == ("webhook", event_id)
    assert (duplicate["source"], duplicate["eventId"], duplicate["detail"]) == (
        "webhook",
        event_id,
        {"reported": "SUCCESS"},
    )
    assert all(e["createdAt"].endswith("Z") for e in events)
    # the redelivery applied nothing: still one settlement, one version bump past attach
    status, version = await deps.pool.fetchrow("SELECT status, version FROM payments WHERE id = $1", payment.id)
    assert (status, version) == ("SUCCESS", payment.version + 1)


async def test_an_unknown_payment_has_no_trail(client: TestClient[Any, Any]) -> None:
    r = await client.get(f"/internal/payments/{ids.new_id(ids.PAYMENT)}/events")
    assert r.status == 404
    assert (await r.json())["error"]["code"] == "NOT_FOUND"


async def test_a_second_attempt_while_one_is_open_is_refused_and_leaves_no_trace(deps: Deps) -> None:
    """The open attempt is found by the insert itself (its partial unique index), not looked up first."""
    order_id = ids.new_id(ids.ORDER)
    first = await initiate_payment(deps, InitiatePayment(order_id, "m_1", 1500, "INR", None))
    with pytest.raises(ApiError) as refused:
        await initiate_payment(deps, InitiatePayment(order_id, "m_1", 1500, "INR", None))
    assert (refused.value.status, refused.value.code) == (409, PAYMENT_IN_PROGRESS)
    rows = await deps.pool.fetch("SELECT id FROM payments WHERE order_id = $1", order_id)
    assert [row["id"] for row in rows] == [first.id]
    kinds = await deps.pool.fetch("SELECT kind FROM payment_events WHERE payment_id = ANY($1::text[])", [first.id])
    assert sorted(row["kind"] for row in kinds) == ["created", "sent_to_gateway"]
    # another order is not held back by it
    other = await initiate_payment(deps, InitiatePayment(ids.new_id(ids.ORDER), "m_1", 1500, "INR", None))
    assert other.status.value == "INITIATED"


async def test_an_order_paid_or_of_another_merchant_starts_no_attempt(deps: Deps) -> None:
    """The one statement that starts an attempt inserts nothing for an order that may not start one."""
    order_id = ids.new_id(ids.ORDER)
    paid = await initiate_payment(deps, InitiatePayment(order_id, "m_1", 1500, "INR", None))
    event_id = ids.new_id(ids.EVENT)
    assert paid.gateway_payment_id is not None
    await apply_webhook(deps, event_id, envelope(order_id, paid.id, paid.gateway_payment_id, event_id), None)

    for merchant, expected in (("m_1", (409, ORDER_ALREADY_PAID)), ("m_2", (404, NOT_FOUND))):
        with pytest.raises(ApiError) as refused:
            await initiate_payment(deps, InitiatePayment(order_id, merchant, 1500, "INR", None))
        assert (refused.value.status, refused.value.code) == expected
    rows = await deps.pool.fetch("SELECT id FROM payments WHERE order_id = $1", order_id)
    assert [row["id"] for row in rows] == [paid.id]
    owner = await deps.pool.fetchval("SELECT merchant_id FROM order_payments WHERE order_id = $1", order_id)
    assert owner == "m_1"


async def test_a_rerun_of_one_request_answers_the_attempt_its_first_run_made(deps: Deps) -> None:
    order_id, request_id = ids.new_id(ids.ORDER), uuid.uuid4()
    first = await initiate_payment(deps, InitiatePayment(order_id, "m_1", 1500, "INR", None, request_id=request_id))
    again = await initiate_payment(deps, InitiatePayment(order_id, "m_1", 1500, "INR", None, request_id=request_id))
    assert again.id == first.id
    assert await deps.pool.fetchval("SELECT count(*) FROM payments WHERE order_id = $1", order_id) == 1
