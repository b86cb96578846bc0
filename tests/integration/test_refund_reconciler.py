"""Reconciliation of refunds against the real PostgreSQL and the real mock gateway, whose refund webhooks
land in a stub receiver and never reach payment-svc: only reconciliation settles these refunds, unless
the test hands a webhook over itself (late, or racing the reconciler).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import asyncpg
import orjson
import pytest

from payment_svc.attempts.repository import Payment
from payment_svc.attempts.service import Deps, InitiatePayment, apply_webhook, initiate_payment
from payment_svc.gateway.client import GatewayClient
from payment_svc.reconciliation.reconciler import ReconcileConfig, Reconciler
from payment_svc.refunds.messages import refund_snapshot
from payment_svc.refunds.repository import Refund, RefundRepository
from payment_svc.refunds.service import CreateRefund, apply_refund_webhook, create_refund, send_refund
from payments_common import events, ids
from payments_common.events import RefundWebhookEnvelope, RefundWebhookPayload, WebhookEnvelope, WebhookPayload
from payments_common.timeutil import utcnow

from .conftest import migrated_schema
from .helpers import eventually, outbox_types
from .test_mock_gateway_http import PAYMENT_SECRET, StubReceiver, gateway_tables, running_gateway, serving_receiver

pytestmark = pytest.mark.integration

MERCHANT = "m_1"
SUCCESS = {"type": "upi", "vpa": "success@razorpay"}
REFUND_FAILS = {"type": "upi", "vpa": "success.refund-fails@razorpay"}


@dataclass
class World:
    deps: Deps
    pool: asyncpg.Pool
    gateway_db: asyncpg.Pool
    receiver: StubReceiver

    def reconciler(self, **config: Any) -> Reconciler:
        values = {"after_seconds": 0.0, "expiry_seconds": 900.0, "confirm_after_seconds": 900.0, **config}
        return Reconciler(self.pool, self.deps.gateway, self.deps.signing_secret, ReconcileConfig(**values))

    async def paid(self, method: dict[str, Any], amount: int = 1500) -> Payment:
        """A payment the gateway captured (or declined), settled by its webhook."""
        payment = await initiate_payment(
            self.deps, InitiatePayment(ids.new_id(ids.ORDER), MERCHANT, amount, "INR", method)
        )
        await eventually(lambda: bool(self._payment_webhooks(payment.id)), within=10, what="the payment's webhook")
        [received] = self._payment_webhooks(payment.id)
        envelope = WebhookEnvelope(
            eventId=received.event_id, receivedAt=utcnow(), data=WebhookPayload.model_validate(received.json())
        )
        await apply_webhook(self.deps, received.event_id, envelope, None)
        return payment

    def _payment_webhooks(self, payment_id: str) -> list[Any]:
        return [r for r in self.receiver.for_payment(payment_id) if "refundId" not in r.json()]

    async def refund(self, payment: Payment, amount: int = 500, *, send: bool = True) -> Refund:
        """A refund created as the API creates it and, with `send`, taken to the gateway by its sender."""
        refund = await create_refund(self.deps, CreateRefund(payment.id, MERCHANT, amount, None))
        if send:
            await send_refund(self.deps, str(ids.new_uuid()), requested(refund), None)
        return refund

    async def settled_at_gateway(self, refund_id: str) -> str:
        """The gateway's status of the refund once it left `pending` (its webhook went out then)."""

        async def there() -> bool:
            return await self.gateway_refund_status(refund_id) not in (None, "pending")

        await eventually(there, within=10, what=f"refund {refund_id} settled at the gateway")
        return str(await self.gateway_refund_status(refund_id))

    async def gateway_refund_status(self, refund_id: str) -> str | None:
        status = await self.gateway_db.fetchval("SELECT status FROM refunds WHERE refund_id = $1", refund_id)
        return None if status is None else str(status)

    async def get(self, refund_id: str) -> Refund:
        async with self.pool.acquire() as conn:
            found = await RefundRepository(conn).get(refund_id)
        assert found is not None
        return found

    async def trail(self, refund_id: str) -> list[tuple[str, str]]:
        """The refund's rows of its payment's trail, (kind, source), in order."""
        rows = await self.pool.fetch(
            "SELECT kind, source FROM payment_events WHERE detail->>'refundId' = $1 ORDER BY id", refund_id
        )
        return [(row["kind"], row["source"]) for row in rows]

    async def outbox_types(self, refund_id: str) -> list[str]:
        return await outbox_types(self.pool, refund_id)

    async def refunded_total(self, payment_id: str) -> int:
        return int(await self.pool.fetchval("SELECT amount_refunded FROM payments WHERE id = $1", payment_id))

    async def refund_webhook(self, refund_id: str) -> RefundWebhookEnvelope:
        """The gateway's webhook for the refund, as the stub received it."""

        def received() -> list[Any]:
            return [r for r in self.receiver.received if orjson.loads(r.body).get("refundId") == refund_id]

        await eventually(lambda: bool(received()), within=10, what=f"the webhook of refund {refund_id}")
        first = received()[0]
        data = RefundWebhookPayload.model_validate(first.json())
        return RefundWebhookEnvelope(eventId=first.event_id, receivedAt=utcnow(), data=data)


def requested(refund: Refund) -> events.RefundEvent:
    return events.RefundEvent(type=events.REFUND_REQUESTED, refund=refund_snapshot(refund))


@pytest.fixture
async def world(database_dsn: str) -> AsyncIterator[World]:
    async with (
        serving_receiver("/webhook/payment", "/webhook/refund") as receiver,
        gateway_tables(database_dsn) as (gateway_schema, gateway_db),
        running_gateway(database_dsn, gateway_schema, receiver) as gateway,
        migrated_schema(database_dsn, "payments_common", "payment_svc", size=8) as (_, pool),
        aiohttp.ClientSession() as session,
    ):
        client = GatewayClient(session, str(gateway.make_url("")).rstrip("/"))
        yield World(Deps(pool, client, PAYMENT_SECRET.encode()), pool, gateway_db, receiver)


def settled_of(report: Any) -> list[tuple[str, str, str | None, str]]:
    return [(s["refundId"], s["status"], s["errorCode"], s["source"]) for s in report.refunds.settled]


async def test_a_refund_whose_webhook_was_lost_is_processed_by_reconciliation(world: World) -> None:
    payment = await world.paid(SUCCESS)
    refund = await world.refund(payment, 500)
    assert await world.settled_at_gateway(refund.id) == "processed"

    report = await world.reconciler().run_once()

    assert settled_of(report) == [(refund.id, "PROCESSED", None, "reconciliation")]
    assert report.to_json()["refunds"]["checked"] == 1 and report.errors == []
    processed = await world.get(refund.id)
    assert (processed.status.value, processed.version) == ("PROCESSED", 2)
    assert await world.refunded_total(payment.id) == 500
    assert await world.trail(refund.id) == [
        ("refund_requested", "api"),
        ("refund_sent", "api"),
        ("refund_processed", "reconciliation"),
    ]
    assert await world.outbox_types(refund.id) == [
        events.REFUND_REQUESTED,
        events.REFUND_CREATED,
        events.REFUND_UPDATED,
    ]
    # nothing is left for the next pass
    again = await world.reconciler().run_once()
    assert (again.refunds.checked, again.refunds.settled) == (0, [])


async def test_a_refund_failed_at_the_gateway_gives_its_amount_back(world: World) -> None:
    payment = await world.paid(REFUND_FAILS, amount=1000)
    refund = await world.refund(payment, 1000)
    assert await world.settled_at_gateway(refund.id) == "failed"

    report = await world.reconciler().run_once()

    assert settled_of(report) == [(refund.id, "FAILED", "REFUND_FAILED", "reconciliation")]
    failed = await world.get(refund.id)
    assert (failed.status.value, failed.error_code) == ("FAILED", "REFUND_FAILED")
    assert await world.refunded_total(payment.id) == 0
    assert (await world.trail(refund.id))[-1] == ("refund_failed", "reconciliation")
    # the amount is free again for a new refund
    assert (await create_refund(world.deps, CreateRefund(payment.id, MERCHANT, None, None))).amount == 1000


async def test_the_webhook_arriving_after_reconciliation_changes_nothing(world: World) -> None:
    payment = await world.paid(SUCCESS)
    refund = await world.refund(payment, 500)
    await world.settled_at_gateway(refund.id)
    await world.reconciler().run_once()

    webhook = await world.refund_webhook(refund.id)
    await apply_refund_webhook(world.deps, webhook.eventId, webhook, None)

    kinds = [kind for kind, _ in await world.trail(refund.id)]
    assert kinds == ["refund_requested", "refund_sent", "refund_processed", "refund_ignored_already_settled"]
    assert (await world.get(refund.id)).version == 2
    assert await world.refunded_total(payment.id) == 500
    assert (await world.outbox_types(refund.id)).count(events.REFUND_UPDATED) == 1
    assert await world.pool.fetchval("SELECT count(*) FROM anomalies") == 0


async def test_reconcilers_and_webhooks_racing_settle_each_refund_once(world: World) -> None:
    payment = await world.paid(SUCCESS, amount=1500)
    refunds = [await world.refund(payment, 100) for _ in range(10)]
    webhooks = [await world.refund_webhook(refund.id) for refund in refunds]
    for refund in refunds:
        await world.settled_at_gateway(refund.id)

    await asyncio.gather(
        *(world.reconciler().run_once() for _ in range(2)),
        *(apply_refund_webhook(world.deps, w.eventId, w, None) for w in webhooks),
    )

    for refund in refunds:
        kinds = [kind for kind, _ in await world.trail(refund.id)]
        assert kinds.count("refund_processed") == 1, kinds
        assert (await world.get(refund.id)).status.value == "PROCESSED"
        assert (await world.outbox_types(refund.id)).count(events.REFUND_UPDATED) == 1
    assert await world.refunded_total(payment.id) == 1000
    assert await world.pool.fetchval("SELECT count(*) FROM anomalies") == 0


async def test_a_refund_the_gateway_never_received_is_sent_again_then_settled(world: World) -> None:
    payment = await world.paid(SUCCESS)
    # created, but its request never reached the gateway (dead-lettered, say)
    refund = await world.refund(payment, 500, send=False)
    assert await world.gateway_refund_status(refund.id) is None

    report = await world.reconciler().run_once()

    sent = await world.get(refund.id)
    assert sent.status.value == "PENDING" and sent.gateway_refund_id is not None
    assert report.refunds.resent == [
        {"refundId": refund.id, "paymentId": payment.id, "gatewayRefundId": sent.gateway_refund_id}
    ]
    assert await world.refunded_total(payment.id) == 500  # still reserved: not failed
    assert (await world.trail(refund.id))[-1] == ("refund_sent", "reconciliation")

    # the original request arriving late is not sent twice, and the gateway holds one refund for it
    await send_refund(world.deps, str(ids.new_uuid()), requested(refund), None)
    assert await world.gateway_db.fetchval("SELECT count(*) FROM refunds WHERE refund_id = $1", refund.id) == 1

    await world.settled_at_gateway(refund.id)
    settled = await world.reconciler().run_once()
    assert settled_of(settled) == [(refund.id, "PROCESSED", None, "reconciliation")]
    assert (await world.get(refund.id)).gateway_refund_id == sent.gateway_refund_id


async def test_a_refund_whose_send_answer_was_lost_is_found_by_our_id(world: World) -> None:
    payment = await world.paid(SUCCESS)
    refund = await world.refund(payment, 500, send=False)
    assert payment.gateway_payment_id is not None
    # the gateway took it; the sender died before it stored the gateway's id
    created = await world.deps.gateway.create_refund(refund.id, payment.gateway_payment_id, 500, "INR")
    await world.settled_at_gateway(refund.id)

    report = await world.reconciler().run_once()

    assert settled_of(report) == [(refund.id, "PROCESSED", None, "reconciliation")]
    assert report.refunds.resent == []
    assert (await world.get(refund.id)).gateway_refund_id == created.id


async def test_a_refund_younger_than_the_threshold_is_left_to_its_webhook(world: World) -> None:
    payment = await world.paid(SUCCESS)
    refund = await world.refund(payment, 500)
    await world.settled_at_gateway(refund.id)

    report = await world.reconciler(after_seconds=3600).run_once()

    assert (report.refunds.checked, report.refunds.settled) == (0, [])
    assert (await world.get(refund.id)).status.value == "PENDING"
