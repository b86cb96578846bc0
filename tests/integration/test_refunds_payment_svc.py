"""payment-svc's refunds on the real PostgreSQL: the database holds "refunds never exceed the payment"
against concurrent requests, a refund is sent to the gateway once and settled by its webhook once, a
FAILED refund gives its amount back, and every step is in the payment's trail.

The gateway is a stand-in recording what it is asked (its own refund rules are tested against the mock
gateway itself, in test_mock_gateway_refunds.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from payment_svc.attempts import http
from payment_svc.attempts.repository import Payment
from payment_svc.attempts.service import Deps, InitiatePayment, apply_webhook, initiate_payment
from payment_svc.gateway.client import GatewayPayment, GatewayRefund, GatewayRejected, GatewayUnavailable
from payment_svc.refunds import http as refund_http
from payment_svc.refunds.messages import refund_snapshot
from payment_svc.refunds.repository import Refund, RefundRepository
from payment_svc.refunds.service import CreateRefund, apply_refund_webhook, create_refund, send_refund
from payments_common import events, ids
from payments_common.errors import ApiError, PermanentError, RetryableError
from payments_common.events import RefundWebhookEnvelope, RefundWebhookPayload, WebhookEnvelope, WebhookPayload
from payments_common.http import base_app
from payments_common.signatures import payment_signature
from payments_common.timeutil import utcnow

from .conftest import migrated_schema

pytestmark = pytest.mark.integration

SECRET = b"refund-tests-signing-secret"
INTERNAL_TOKEN = "internal-token-0123456789abcdef"
MERCHANT = "m_refunds"


@dataclass
class StandInGateway:
    """Creates payments at once; records each refund asked for, answering it as told."""

    refund_calls: list[tuple[str, str, int, str]] = field(default_factory=list)
    refund_error: Exception | None = None
    refund_ids: dict[str, str] = field(default_factory=dict)

    async def create_payment(self, payment_id: str, order_id: str, *_: Any, **__: Any) -> GatewayPayment:
        gateway_id = ids.new_id(ids.GATEWAY_PAYMENT)
        return GatewayPayment(id=gateway_id, signature=payment_signature(SECRET, order_id, gateway_id))

    async def create_refund(
        self, refund_id: str, gateway_payment_id: str, amount: int, currency: str, correlation_id: str | None = None
    ) -> GatewayRefund:
        self.refund_calls.append((refund_id, gateway_payment_id, amount, currency))
        if self.refund_error is not None:
            raise self.refund_error
        # idempotent on the refund id, as the real one is
        gateway_refund_id = self.refund_ids.setdefault(refund_id, ids.new_id(ids.GATEWAY_REFUND))
        return GatewayRefund(id=gateway_refund_id, status="pending")


@pytest.fixture
async def pool(database_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    # more connections than concurrent refunds, so that they really meet at the row lock
    async with migrated_schema(database_dsn, "payments_common", "payment_svc", size=25) as (_, pool):
        yield pool


@pytest.fixture
def gateway() -> StandInGateway:
    return StandInGateway()


@pytest.fixture
def deps(pool: asyncpg.Pool, gateway: StandInGateway) -> Deps:
    return Deps(pool=pool, gateway=gateway, signing_secret=SECRET)  # type: ignore[arg-type]


@pytest.fixture
async def client(deps: Deps) -> AsyncIterator[TestClient[Any, Any]]:
    app = base_app(max_body_bytes=4096)
    app[http.DEPS] = deps
    http.add_routes(app, [INTERNAL_TOKEN.encode()])
    refund_http.add_routes(app)
    # as order-svc calls it: with the internal API's bearer token on every request
    async with TestClient(TestServer(app), headers={"Authorization": f"Bearer {INTERNAL_TOKEN}"}) as test_client:
        yield test_client


async def paid(deps: Deps, amount: int = 1000, status: str = "SUCCESS") -> Payment:
    """A payment the gateway's webhook has settled with `status` (or left INITIATED)."""
    order_id = ids.new_id(ids.ORDER)
    payment = await initiate_payment(deps, InitiatePayment(order_id, MERCHANT, amount, "INR", None))
    assert payment.gateway_payment_id is not None
    if status != "INITIATED":
        event_id = ids.new_id(ids.EVENT)
        payload = WebhookPayload(
            orderId=order_id,
            paymentId=payment.id,
            gatewayPaymentId=payment.gateway_payment_id,
            signature=payment_signature(SECRET, order_id, payment.gateway_payment_id),
            status=status,  # type: ignore[arg-type]
            amount=amount,
            currency="INR",
        )
        await apply_webhook(deps, event_id, WebhookEnvelope(eventId=event_id, receivedAt=utcnow(), data=payload), None)
    return payment


def refund_of(payment: Payment, amount: int | None = None, merchant: str = MERCHANT) -> CreateRefund:
    return CreateRefund(payment_id=payment.id, merchant_id=merchant, amount=amount, notes=None)


async def refunded_total(pool: asyncpg.Pool, payment_id: str) -> int:
    return int(await pool.fetchval("SELECT amount_refunded FROM payments WHERE id = $1", payment_id))


async def trail_kinds(pool: asyncpg.Pool, payment_id: str) -> list[str]:
    rows = await pool.fetch("SELECT kind FROM payment_events WHERE payment_id = $1 ORDER BY id", payment_id)
    return [row["kind"] for row in rows]


async def outbox_types(pool: asyncpg.Pool, refund_id: str) -> list[str]:
    rows = await pool.fetch("SELECT event_type FROM outbox WHERE aggregate_id = $1 ORDER BY created_at", refund_id)
    return [row["event_type"] for row in rows]


def report(
    refund: Refund, payment: Payment, status: str, event_id: str | None = None, **changes: Any
) -> tuple[str, RefundWebhookEnvelope]:
    assert payment.gateway_payment_id is not None
    values: dict[str, Any] = {
        "refundId": refund.id,
        "paymentId": payment.id,
        "gatewayPaymentId": payment.gateway_payment_id,
        "gatewayRefundId": refund.gateway_refund_id or ids.new_id(ids.GATEWAY_REFUND),
        "amount": refund.amount,
        "currency": refund.currency,
        "status": status,
        **changes,
    }
    event_id = event_id or ids.new_id(ids.EVENT)
    return event_id, RefundWebhookEnvelope(eventId=event_id, receivedAt=utcnow(), data=RefundWebhookPayload(**values))


def requested(refund: Refund) -> events.RefundEvent:
    return events.RefundEvent(type="refund.requested", refund=refund_snapshot(refund))


# --- creating: the database's rule ---------------------------------------------------------------------


async def test_twenty_concurrent_refunds_of_a_tenth_exactly_ten_succeed(deps: Deps) -> None:
    payment = await paid(deps, amount=1000)
    results = await asyncio.gather(
        *(create_refund(deps, refund_of(payment, 100)) for _ in range(20)), return_exceptions=True
    )
    accepted = [r for r in results if isinstance(r, Refund)]
    refused = [r for r in results if isinstance(r, ApiError)]
    assert len(accepted) == 10 and len(refused) == 10, results
    assert {(e.status, e.field) for e in refused} == {(400, "amount")}
    assert await refunded_total(deps.pool, payment.id) == 1000
    assert sum(r.amount for r in accepted) == 1000
    assert await deps.pool.fetchval("SELECT count(*) FROM refunds WHERE payment_id = $1", payment.id) == 10
    assert (await trail_kinds(deps.pool, payment.id)).count("refund_requested") == 10
    for refund in accepted:
        assert await outbox_types(deps.pool, refund.id) == [events.REFUND_REQUESTED, events.REFUND_CREATED]


async def test_the_database_refuses_a_refunded_total_past_the_amount_whatever_the_code(deps: Deps) -> None:
    payment = await paid(deps, amount=1000)
    async with deps.pool.acquire() as conn:
        repo = RefundRepository(conn)
        assert await repo.reserve(payment.id, 1000) == 1000
        with pytest.raises(asyncpg.CheckViolationError):
            await repo.reserve(payment.id, 1)
        with pytest.raises(asyncpg.CheckViolationError):
            await repo.release(payment.id, 1001)
    assert await refunded_total(deps.pool, payment.id) == 1000


async def test_without_an_amount_a_refund_takes_what_is_left_and_then_nothing_is(deps: Deps) -> None:
    payment = await paid(deps, amount=1000)
    partial = await create_refund(deps, refund_of(payment, 250))
    rest = await create_refund(deps, refund_of(payment))
    assert (partial.amount, rest.amount) == (250, 750)
    assert rest.status.value == "PENDING" and rest.order_id == payment.order_id and rest.currency == "INR"
    with pytest.raises(ApiError) as refused:
        await create_refund(deps, refund_of(payment))
    assert (refused.value.status, refused.value.field) == (400, "amount")
    assert "fully refunded" in refused.value.description


@pytest.mark.parametrize("status", ["INITIATED", "FAILED"])
async def test_only_a_successful_payment_can_be_refunded(deps: Deps, status: str) -> None:
    payment = await paid(deps, status=status)
    with pytest.raises(ApiError) as refused:
        await create_refund(deps, refund_of(payment, 100))
    assert (refused.value.status, refused.value.code) == (409, "PAYMENT_NOT_REFUNDABLE")
    assert await refunded_total(deps.pool, payment.id) == 0


async def test_another_merchants_or_an_unknown_payment_is_not_found(deps: Deps) -> None:
    payment = await paid(deps)
    for cmd in (refund_of(payment, 100, merchant="m_other"), CreateRefund(ids.new_id(ids.PAYMENT), MERCHANT, 1, None)):
        with pytest.raises(ApiError) as refused:
            await create_refund(deps, cmd)
        assert refused.value.status == 404


# --- sending it to the gateway ---------------------------------------------------------------------------


async def test_a_requested_refund_is_sent_once_with_its_own_id(deps: Deps, gateway: StandInGateway) -> None:
    payment = await paid(deps)
    refund = await create_refund(deps, refund_of(payment, 300))
    message_id = str(ids.new_uuid())
    await send_refund(deps, message_id, requested(refund), None)
    assert gateway.refund_calls == [(refund.id, payment.gateway_payment_id, 300, "INR")]
    async with deps.pool.acquire() as conn:
        sent = await RefundRepository(conn).get(refund.id)
    assert sent is not None and sent.gateway_refund_id == gateway.refund_ids[refund.id]
    assert sent.status.value == "PENDING" and sent.version == refund.version
    # redelivered, or the same request published twice: the gateway is not asked again
    await send_refund(deps, message_id, requested(refund), None)
    await send_refund(deps, str(ids.new_uuid()), requested(refund), None)
    assert len(gateway.refund_calls) == 1
    assert (await trail_kinds(deps.pool, payment.id)).count("refund_sent") == 1


async def test_a_gateway_refusal_fails_the_refund_and_gives_its_amount_back(
    deps: Deps, gateway: StandInGateway
) -> None:
    payment = await paid(deps)
    refund = await create_refund(deps, refund_of(payment, 300))
    gateway.refund_error = GatewayRejected("gateway refused the refund: 409 PAYMENT_NOT_CAPTURED")
    await send_refund(deps, str(ids.new_uuid()), requested(refund), None)
    async with deps.pool.acquire() as conn:
        failed = await RefundRepository(conn).get(refund.id)
    assert failed is not None
    assert (failed.status.value, failed.error_code, failed.version) == ("FAILED", "GATEWAY_REJECTED", 2)
    assert "PAYMENT_NOT_CAPTURED" in (failed.error_description or "")
    assert await refunded_total(deps.pool, payment.id) == 0
    assert (await trail_kinds(deps.pool, payment.id))[-1] == "refund_failed"
    assert await outbox_types(deps.pool, refund.id) == [
        events.REFUND_REQUESTED,
        events.REFUND_CREATED,
        events.REFUND_UPDATED,
    ]


async def test_an_unreachable_gateway_is_retried_and_changes_nothing(deps: Deps, gateway: StandInGateway) -> None:
    payment = await paid(deps)
    refund = await create_refund(deps, refund_of(payment, 300))
    gateway.refund_error = GatewayUnavailable("gateway answered 503")
    message_id = str(ids.new_uuid())
    with pytest.raises(RetryableError):
        await send_refund(deps, message_id, requested(refund), None)
    assert await deps.pool.fetchval("SELECT count(*) FROM inbox WHERE message_id = $1", message_id) == 0
    # the retry, once the gateway is back, sends it
    gateway.refund_error = None
    await send_refund(deps, message_id, requested(refund), None)
    assert (await trail_kinds(deps.pool, payment.id))[-1] == "refund_sent"
    assert await refunded_total(deps.pool, payment.id) == 300


# --- the gateway's report -----------------------------------------------------------------------------


async def test_a_processed_report_applies_once_and_a_contradiction_changes_nothing(
    deps: Deps, client: TestClient[Any, Any]
) -> None:
    payment = await paid(deps)
    refund = await create_refund(deps, refund_of(payment, 400))
    event_id, processed = report(refund, payment, "PROCESSED")
    await apply_refund_webhook(deps, event_id, processed, None)
    await apply_refund_webhook(deps, event_id, processed, None)  # redelivered: the inbox turns it away
    late_id, contradiction = report(refund, payment, "FAILED", gatewayRefundId=processed.data.gatewayRefundId)
    await apply_refund_webhook(deps, late_id, contradiction, None)

    async with deps.pool.acquire() as conn:
        settled = await RefundRepository(conn).get(refund.id)
    assert settled is not None
    assert (settled.status.value, settled.version, settled.gateway_refund_id) == (
        "PROCESSED",
        2,
        processed.data.gatewayRefundId,
    )
    assert await refunded_total(deps.pool, payment.id) == 400
    anomaly = await deps.pool.fetchval("SELECT kind FROM anomalies WHERE payment_id = $1", payment.id)
    assert anomaly == "REFUND_FAILED_AFTER_PROCESSED"
    assert await outbox_types(deps.pool, refund.id) == [
        events.REFUND_REQUESTED,
        events.REFUND_CREATED,
        events.REFUND_UPDATED,
    ]

    r = await client.get(f"/internal/payments/{payment.id}/events")
    trail = [e for e in (await r.json())["events"] if e["detail"].get("refundId") == refund.id]
    assert [e["kind"] for e in trail] == [
        "refund_requested",
        "refund_processed",
        "duplicate_ignored",
        "refund_conflict_ignored",
    ]
    assert (trail[1]["source"], trail[1]["eventId"]) == ("webhook", event_id)
    assert (trail[1]["detail"]["current"], trail[1]["detail"]["to"]) == ("PENDING", "PROCESSED")


async def test_a_failed_report_gives_the_amount_back_for_a_new_refund(deps: Deps) -> None:
    payment = await paid(deps, amount=1000)
    refund = await create_refund(deps, refund_of(payment))
    with pytest.raises(ApiError):
        await create_refund(deps, refund_of(payment, 1))
    event_id, failed = report(refund, payment, "FAILED", errorCode="REFUND_FAILED", errorDescription="bank said no")
    await apply_refund_webhook(deps, event_id, failed, None)
    assert await refunded_total(deps.pool, payment.id) == 0
    async with deps.pool.acquire() as conn:
        settled = await RefundRepository(conn).get(refund.id)
    assert settled is not None and (settled.status.value, settled.error_code) == ("FAILED", "REFUND_FAILED")
    again = await create_refund(deps, refund_of(payment))
    assert again.amount == 1000


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"gatewayPaymentId": "gw_other"}, "GATEWAY_PAYMENT_MISMATCH"),
        ({"amount": 401}, "REFUND_MISMATCH"),
        ({"currency": "USD"}, "REFUND_MISMATCH"),
        ({"paymentId": "pay_other"}, "REFUND_PAYMENT_MISMATCH"),
        ({"refundId": "rfnd_unknown"}, "UNKNOWN_REFUND"),
    ],
)
async def test_a_report_that_can_never_apply_is_permanent_and_leaves_no_trace(
    deps: Deps, change: dict[str, Any], reason: str
) -> None:
    payment = await paid(deps)
    refund = await create_refund(deps, refund_of(payment, 400))
    event_id, bad = report(refund, payment, "PROCESSED", **change)
    with pytest.raises(PermanentError) as failed:
        await apply_refund_webhook(deps, event_id, bad, None)
    assert failed.value.reason == reason
    assert await deps.pool.fetchval("SELECT count(*) FROM inbox WHERE message_id = $1", event_id) == 0
    async with deps.pool.acquire() as conn:
        unchanged = await RefundRepository(conn).get(refund.id)
    assert unchanged is not None and unchanged.status.value == "PENDING"


# --- the internal API ------------------------------------------------------------------------------------


async def test_the_internal_api_creates_and_reads_refunds(deps: Deps, client: TestClient[Any, Any]) -> None:
    payment = await paid(deps, amount=1000)
    r = await client.post(
        f"/internal/payments/{payment.id}/refunds",
        json={"merchantId": MERCHANT, "amount": 100, "notes": {"reason": "damaged"}},
        headers={"X-Request-Id": "req-7"},
    )
    assert r.status == 201
    created = await r.json()
    assert (created["paymentId"], created["amount"], created["status"], created["notes"]) == (
        payment.id,
        100,
        "PENDING",
        {"reason": "damaged"},
    )
    read = await client.get(f"/internal/refunds/{created['id']}")
    assert read.status == 200 and await read.json() == created
    assert (await client.get(f"/internal/refunds/{ids.new_id(ids.REFUND)}")).status == 404
    over = await client.post(f"/internal/payments/{payment.id}/refunds", json={"merchantId": MERCHANT, "amount": 901})
    assert over.status == 400 and (await over.json())["error"]["field"] == "amount"
    bad = await client.post(f"/internal/payments/{payment.id}/refunds", json={"merchantId": MERCHANT, "amount": "1"})
    assert bad.status == 400 and (await bad.json())["error"]["field"] == "amount"
    # notes go into the outbox's jsonb, which cannot hold NUL: refused before anything is written
    nul = await client.post(
        f"/internal/payments/{payment.id}/refunds", json={"merchantId": MERCHANT, "notes": {"k": ["a\x00"]}}
    )
    assert nul.status == 400 and (await nul.json())["error"]["field"] == "notes"
    assert await refunded_total(deps.pool, payment.id) == 100
    # the correlation id travels with the events
    headers = await deps.pool.fetchval(
        "SELECT headers FROM outbox WHERE aggregate_id = $1 AND event_type = 'refund.requested'", created["id"]
    )
    assert headers == {"correlation-id": "req-7"}
