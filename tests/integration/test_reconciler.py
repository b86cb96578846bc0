"""payment-svc's reconciler against the real PostgreSQL and the real mock gateway, whose webhooks land
in a stub receiver and never reach payment-svc: only reconciliation can settle these attempts.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import asyncpg
import orjson
import pytest
from aiohttp.test_utils import TestClient

from payment_svc.admin.repository import list_anomalies
from payment_svc.attempts.domain import PaymentStatus
from payment_svc.attempts.repository import Payment, PaymentRepository
from payment_svc.attempts.service import Deps, InitiatePayment, apply_webhook, initiate_payment
from payment_svc.gateway.client import GatewayClient
from payment_svc.reconciliation.reconciler import ReconcileConfig, Reconciler
from payments_common import ids
from payments_common.events import WebhookEnvelope, WebhookPayload
from payments_common.timeutil import utcnow

from .conftest import migrated_schema
from .helpers import eventually, outbox_types
from .test_mock_gateway_http import PAYMENT_SECRET, StubReceiver, gateway_tables, running_gateway, serving_receiver

pytestmark = pytest.mark.integration

SUCCESS = {"type": "upi", "vpa": "success@razorpay"}
FAILURE = {"type": "upi", "vpa": "failure@razorpay"}
PENDING = {"type": "upi", "vpa": "pending@razorpay"}
LATE_SUCCESS = {"type": "upi", "vpa": "failure.late-success@razorpay"}


@dataclass
class World:
    deps: Deps
    pool: asyncpg.Pool
    gateway_db: asyncpg.Pool
    receiver: StubReceiver

    def reconciler(self, **config: Any) -> Reconciler:
        values = {"after_seconds": 0.0, "expiry_seconds": 900.0, "confirm_after_seconds": 900.0, **config}
        return Reconciler(self.pool, self.deps.gateway, self.deps.signing_secret, ReconcileConfig(**values))

    async def pay(self, method: dict[str, Any] | None) -> Payment:
        return await initiate_payment(
            self.deps,
            InitiatePayment(
                order_id=ids.new_id(ids.ORDER), merchant_id="m_1", amount=1500, currency="INR", method=method
            ),
        )

    async def gateway_status(self, payment_id: str) -> str:
        status = await self.gateway_db.fetchval("SELECT status FROM payments WHERE payment_id = $1", payment_id)
        return str(status)

    async def payment(self, payment_id: str) -> Payment:
        async with self.pool.acquire() as conn:
            found = await PaymentRepository(conn).get(payment_id)
        assert found is not None
        return found

    async def trail(self, payment_id: str) -> list[tuple[str, str]]:
        rows = await self.pool.fetch(
            "SELECT kind, source FROM payment_events WHERE payment_id = $1 ORDER BY id", payment_id
        )
        return [(row["kind"], row["source"]) for row in rows]

    async def outbox_types(self, payment_id: str) -> list[str]:
        return await outbox_types(self.pool, payment_id)

    def webhooks_for(self, payment_id: str) -> list[WebhookEnvelope]:
        return [
            WebhookEnvelope(
                eventId=received.event_id,
                receivedAt=utcnow(),
                data=WebhookPayload.model_validate(orjson.loads(received.body)),
            )
            for received in self.receiver.for_payment(payment_id)
        ]


@contextlib.asynccontextmanager
async def payment_tables(dsn: str) -> AsyncIterator[asyncpg.Pool]:
    async with migrated_schema(dsn, "payments_common", "payment_svc", size=8) as (_, pool):
        yield pool


@contextlib.asynccontextmanager
async def running_world(dsn: str) -> AsyncIterator[tuple[World, TestClient[Any, Any], str]]:
    """payment-svc's tables and a running mock gateway on its own schema; yields the world, the gateway's
    test client and the gateway's schema."""
    async with (
        serving_receiver() as receiver,
        gateway_tables(dsn) as (gateway_schema, gateway_db),
        running_gateway(dsn, gateway_schema, receiver) as gateway,
        payment_tables(dsn) as pool,
        aiohttp.ClientSession() as session,
    ):
        client = GatewayClient(session, str(gateway.make_url("")).rstrip("/"))
        yield World(Deps(pool, client, PAYMENT_SECRET.encode()), pool, gateway_db, receiver), gateway, gateway_schema


@pytest.fixture
async def world(database_dsn: str) -> AsyncIterator[World]:
    async with running_world(database_dsn) as (world, _, _):
        yield world


async def _settled_at_gateway(world: World, payment_id: str, status: str) -> None:
    async def there() -> bool:
        return await world.gateway_status(payment_id) == status

    await eventually(there, within=10, what=f"gateway status {status}")


async def test_a_capture_whose_webhook_was_lost_is_settled_from_the_gateway_record(world: World) -> None:
    payment = await world.pay(SUCCESS)
    await _settled_at_gateway(world, payment.id, "captured")

    report = await world.reconciler().run_once()

    assert [(s["paymentId"], s["status"], s["source"]) for s in report.settled] == [
        (payment.id, "SUCCESS", "reconciliation")
    ]
    settled = await world.payment(payment.id)
    assert (settled.status, settled.settled_by) == (PaymentStatus.SUCCESS, "reconciliation")
    assert (
        await world.pool.fetchval("SELECT paid_payment_id FROM order_payments WHERE order_id = $1", payment.order_id)
        == payment.id
    )
    assert await world.outbox_types(payment.id) == ["payment.initiated", "payment.succeeded"]
    assert ("settled", "reconciliation") in await world.trail(payment.id)


async def test_a_decline_is_settled_failed_with_the_gateway_reason(world: World) -> None:
    payment = await world.pay(FAILURE)
    await _settled_at_gateway(world, payment.id, "failed")

    await world.reconciler().run_once()

    settled = await world.payment(payment.id)
    assert (settled.status, settled.settled_by) == (PaymentStatus.FAILED, "reconciliation")
    assert settled.error_code == "UPI_DECLINED"


async def test_an_attempt_younger_than_the_threshold_is_left_to_its_webhook(world: World) -> None:
    payment = await world.pay(SUCCESS)
    await _settled_at_gateway(world, payment.id, "captured")

    report = await world.reconciler(after_seconds=3600).run_once()

    assert report.checked == 0 and report.settled == []
    assert (await world.payment(payment.id)).status is PaymentStatus.INITIATED


async def test_a_payment_still_pending_at_the_gateway_expires_only_past_the_expiry(world: World) -> None:
    payment = await world.pay(PENDING)

    young = await world.reconciler(expiry_seconds=3600).run_once()
    assert (young.checked, young.still_pending, young.settled) == (1, 1, [])
    assert (await world.payment(payment.id)).status is PaymentStatus.INITIATED

    await world.reconciler(expiry_seconds=0).run_once()

    expired = await world.payment(payment.id)
    assert (expired.status, expired.error_code, expired.settled_by) == (PaymentStatus.FAILED, "EXPIRED", "expiry")
    assert await world.gateway_status(payment.id) == "created"  # the gateway's own record is untouched


async def _open_attempt(world: World) -> Payment:
    """An attempt committed as initiate commits it, before the gateway call (a crash right after)."""
    payment_id = ids.new_id(ids.PAYMENT)
    async with world.pool.acquire() as conn, conn.transaction():
        repo = PaymentRepository(conn)
        order = await repo.lock_order(ids.new_id(ids.ORDER), "m_1", 1500, "INR")
        return await repo.insert(payment_id, order, SUCCESS)


async def test_an_attempt_whose_process_died_before_attaching_is_found_by_our_id(world: World) -> None:
    payment = await _open_attempt(world)
    # the gateway got the call; the process died before it could attach the answer
    created = await world.deps.gateway.create_payment(payment.id, payment.order_id, 1500, "INR", SUCCESS)
    await _settled_at_gateway(world, payment.id, "captured")

    await world.reconciler().run_once()

    settled = await world.payment(payment.id)
    assert (settled.status, settled.gateway_payment_id, settled.signature) == (
        PaymentStatus.SUCCESS,
        created.id,
        created.signature,
    )
    assert [kind for kind, _ in await world.trail(payment.id)] == ["attached_by_reconciliation", "settled"]


async def test_an_attempt_the_gateway_never_heard_of_expires(world: World) -> None:
    payment = await _open_attempt(world)

    young = await world.reconciler(expiry_seconds=3600).run_once()
    assert young.still_pending == 1

    await world.reconciler(expiry_seconds=0).run_once()
    expired = await world.payment(payment.id)
    assert (expired.status, expired.error_code, expired.gateway_payment_id) == (PaymentStatus.FAILED, "EXPIRED", None)


async def test_the_webhook_arriving_after_reconciliation_changes_nothing(world: World) -> None:
    payment = await world.pay(SUCCESS)
    await _settled_at_gateway(world, payment.id, "captured")
    await world.reconciler().run_once()
    await eventually(lambda: bool(world.webhooks_for(payment.id)), within=10, what="the gateway's webhook")

    [webhook] = world.webhooks_for(payment.id)
    await apply_webhook(world.deps, webhook.eventId, webhook, None)

    assert [kind for kind, _ in await world.trail(payment.id)][-2:] == ["settled", "ignored_already_settled"]
    assert await world.outbox_types(payment.id) == ["payment.initiated", "payment.succeeded"]


async def test_reconciler_and_webhook_racing_settle_the_attempt_once(world: World) -> None:
    payments = [await world.pay(SUCCESS) for _ in range(10)]
    for payment in payments:
        await _settled_at_gateway(world, payment.id, "captured")
    await eventually(lambda: all(world.webhooks_for(p.id) for p in payments), within=10, what="every webhook")

    webhooks = [world.webhooks_for(p.id)[0] for p in payments]
    reconcilers = [world.reconciler().run_once() for _ in range(2)]
    await asyncio.gather(*reconcilers, *(apply_webhook(world.deps, w.eventId, w, None) for w in webhooks))

    for payment in payments:
        kinds = [kind for kind, _ in await world.trail(payment.id)]
        assert kinds.count("settled") == 1, kinds
        assert (await world.payment(payment.id)).status is PaymentStatus.SUCCESS
        assert await world.outbox_types(payment.id) == ["payment.initiated", "payment.succeeded"]


async def test_a_late_success_after_a_failure_is_an_anomaly_recorded_once(world: World) -> None:
    payment = await world.pay(LATE_SUCCESS)
    await eventually(lambda: len(world.webhooks_for(payment.id)) == 2, within=10, what="FAILED then SUCCESS")
    failed, late = world.webhooks_for(payment.id)
    assert (failed.data.status, late.data.status) == ("FAILED", "SUCCESS")

    await apply_webhook(world.deps, failed.eventId, failed, None)
    for _ in range(2):  # the gateway retries it; the inbox takes the second copy
        await apply_webhook(world.deps, late.eventId, late, None)

    final = await world.payment(payment.id)
    assert final.status is PaymentStatus.FAILED  # the first terminal state wins
    async with world.pool.acquire() as conn:
        anomalies = await list_anomalies(conn)
    assert [(a.payment_id, a.kind, a.event_id, a.source) for a in anomalies] == [
        (payment.id, "SUCCESS_AFTER_FAILED", late.eventId, "webhook")
    ]
    assert await world.outbox_types(payment.id) == ["payment.initiated", "payment.failed"]


async def test_a_report_for_an_attempt_failed_before_it_was_attached_is_an_anomaly_not_a_dead_letter(
    world: World,
) -> None:
    payment = await _open_attempt(world)
    created = await world.deps.gateway.create_payment(payment.id, payment.order_id, 1500, "INR", SUCCESS)
    async with world.pool.acquire() as conn, conn.transaction():
        # what initiate does when the gateway call seems to fail although the gateway took it
        await PaymentRepository(conn).settle(payment.id, PaymentStatus.FAILED, "GATEWAY_ERROR", "x", "api")
    await eventually(lambda: bool(world.webhooks_for(payment.id)), within=10, what="the gateway's webhook")
    [webhook] = world.webhooks_for(payment.id)
    assert webhook.data.gatewayPaymentId == created.id

    await apply_webhook(world.deps, webhook.eventId, webhook, None)

    assert (await world.payment(payment.id)).status is PaymentStatus.FAILED
    async with world.pool.acquire() as conn:
        assert [a.kind for a in await list_anomalies(conn)] == ["SUCCESS_AFTER_FAILED"]
