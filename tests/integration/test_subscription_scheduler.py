"""The subscriptions' scheduler on the real PostgreSQL: each cycle invoiced and charged once with two
schedulers at once, after a crash between sending a charge and recording it, and after several cycle
starts passed while it was stopped; failed charges retried on the schedule, then halted.

payment-svc's internal API is a recording stand-in that keeps payment-svc's one rule the scheduler leans
on (a request id it has seen answers the attempt it made then); the settlements are applied as order-svc's
consumer applies payment-svc's events, through the real step."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
import razorpay
from aiohttp import web
from aiohttp.test_utils import TestServer

from order_svc.deps import Deps
from order_svc.merchants.signing import KeySecrets
from order_svc.payments.client import PaymentsClient
from order_svc.payments.service import apply_payment_event
from order_svc.subscriptions import service
from order_svc.subscriptions.domain import Invoice, Subscription
from order_svc.subscriptions.repository import SubscriptionRepository
from order_svc.subscriptions.scheduler import Scheduler, send_charge
from order_svc.v1.subscriptions.schemas import (
    AdvanceClock,
    CancelSubscriptionV1,
    CreateClock,
    CreatePlanV1,
    CreateSubscriptionV1,
    PlanItem,
)
from payments_common import events, ids
from payments_common.errors import ApiError
from payments_common.events import PaymentSnapshot

from .conftest import migrated_schema

pytestmark = pytest.mark.integration

MERCHANT = "merch_subs_1"
KEY_ID, KEY_SECRET = "rzp_test_subs1", "subs-key-secret-0123456789abcdef"
START = datetime(2027, 1, 15, 10, 0, tzinfo=UTC)
RETRY_DAYS = (1, 3, 5)


@dataclass
class StandIn:
    """payment-svc's `POST /internal/payments`, recording every call; one attempt per request id."""

    calls: list[dict[str, Any]] = field(default_factory=list)
    attempts: dict[str, PaymentSnapshot] = field(default_factory=dict)
    # what payment-svc answers instead of an attempt: 502 (the gateway refused) or 503 (unreachable)
    refuse_with: int | None = None

    async def initiate(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.calls.append(body)
        if self.refuse_with is not None:
            error = {"code": "GATEWAY_ERROR", "description": "the gateway refused the payment"}
            return web.json_response({"error": error}, status=self.refuse_with)
        key = body.get("requestId") or str(uuid.uuid4())
        if key not in self.attempts:
            now = datetime.now(UTC)
            self.attempts[key] = PaymentSnapshot(
                id=ids.new_id(ids.PAYMENT),
                orderId=body["orderId"],
                merchantId=body["merchantId"],
                amount=body["amount"],
                currency=body["currency"],
                status="INITIATED",
                version=1,
                createdAt=now,
                updatedAt=now,
                gatewayPaymentId=ids.new_id(ids.GATEWAY_PAYMENT),
                method={"type": (body.get("method") or {}).get("type")},
            )
        return web.json_response(self.attempts[key].model_dump(mode="json"), status=201)

    def charges_of(self, order_id: str) -> list[dict[str, Any]]:
        return [call for call in self.calls if call["orderId"] == order_id]


@dataclass
class World:
    deps: Deps
    payments: StandIn

    async def settle(self, payment_id: str, status: str) -> None:
        """payment-svc's event of the attempt's outcome, applied as the consumer applies it."""
        attempt = next(a for a in self.payments.attempts.values() if a.id == payment_id)
        settled = attempt.model_copy(
            update={"status": status, "version": 2, "updatedAt": datetime.now(UTC)}
            | ({"errorCode": "TOKEN_DECLINED", "errorDescription": "declined"} if status == "FAILED" else {})
        )
        kind = "payment.succeeded" if status == "SUCCESS" else "payment.failed"
        await apply_payment_event(self.deps, str(uuid.uuid4()), events.PaymentEvent(type=kind, payment=settled))

    async def invoices(self, sub_id: str) -> list[Invoice]:
        async with self.deps.pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT id FROM subscription_invoices WHERE subscription_id = $1 ORDER BY cycle", sub_id
            )
            repo = SubscriptionRepository(conn)
            found = [await repo.invoice(row["id"]) for row in rows]
        return [invoice for invoice in found if invoice is not None]

    async def subscription(self, sub_id: str) -> Subscription:
        async with self.deps.pool.acquire() as conn:
            sub = await SubscriptionRepository(conn).subscription_by_id(sub_id)
        assert sub is not None
        return sub

    async def merchant_events(self, sub_id: str) -> list[str]:
        rows = await self.deps.pool.fetch(
            "SELECT payload->>'event' AS name FROM outbox WHERE aggregate_id = $1 ORDER BY created_at, id", sub_id
        )
        return [row["name"] for row in rows]

    async def outbox_ids(self, sub_id: str) -> list[str]:
        rows = await self.deps.pool.fetch("SELECT payload->>'id' AS id FROM outbox WHERE aggregate_id = $1", sub_id)
        return [row["id"] for row in rows]


@pytest.fixture
async def world(database_dsn: str) -> AsyncIterator[World]:
    stand_in = StandIn()
    app = web.Application()
    app.router.add_post("/internal/payments", stand_in.initiate)
    async with (
        TestServer(app) as server,
        aiohttp.ClientSession() as session,
        migrated_schema(database_dsn, "payments_common", "order_svc", size=8) as (_, pool),
    ):
        client = PaymentsClient(session, str(server.make_url("")), "token")
        # the merchant's key, seeded from the environment (API_KEYS) as a dev merchant's is: not sealed
        await pool.execute("INSERT INTO merchants (id, name) VALUES ($1, 'Subscriptions')", MERCHANT)
        await pool.execute(
            "INSERT INTO api_keys (key_id, merchant_id, secret_hash) VALUES ($1, $2, $3)", KEY_ID, MERCHANT, b"h" * 32
        )
        secrets = KeySecrets(pool, None, {KEY_ID: KEY_SECRET})
        yield World(Deps(pool=pool, payments=client, key_secrets=secrets), stand_in)


async def _subscribed(world: World, *, total: int = 12, missed: str = "charge") -> tuple[str, str]:
    """An authenticated monthly subscription on its own test clock at START: (subscription id, clock id)."""
    clock = await service.create_clock(world.deps, MERCHANT, CreateClock(frozen_time=int(START.timestamp())))
    plan = await service.create_plan(
        world.deps,
        MERCHANT,
        CreatePlanV1(period="monthly", interval=1, item=PlanItem(name="Gold", amount=49900, currency="INR")),
    )
    sub = await service.create_subscription(
        world.deps,
        MERCHANT,
        CreateSubscriptionV1(plan_id=plan.id, total_count=total, test_clock=clock.id, missed_cycles=missed),
    )
    assert sub.status == "created" and sub.auth_order_id is not None
    # the customer pays cycle 1's order through the checkout: an attempt of it, then its success
    first = await world.deps.payments.initiate(sub.auth_order_id, MERCHANT, 49900, "INR", {"type": "upi"}, None)
    await world.settle(first.id, "SUCCESS")
    assert await Scheduler(world.deps, RETRY_DAYS).run_once() == 1
    authenticated = await world.subscription(sub.id)
    assert authenticated.status == "active" and authenticated.paid_count == 1
    assert authenticated.token == "token_" + (first.gatewayPaymentId or "").removeprefix("gw_")
    return sub.id, clock.id


async def _advance(world: World, clock_id: str, to: datetime) -> None:
    await service.advance_clock(world.deps, MERCHANT, clock_id, AdvanceClock(frozen_time=int(to.timestamp())))


async def _settle_all(world: World, sub_id: str, status: str = "SUCCESS") -> None:
    for invoice in await world.invoices(sub_id):
        if invoice.status == "charging" and invoice.payment_id is not None:
            await world.settle(invoice.payment_id, status)


async def test_two_schedulers_at_once_invoice_and_charge_each_cycle_once(world: World) -> None:
    sub_id, clock_id = await _subscribed(world)
    await _advance(world, clock_id, START + timedelta(days=100))  # cycles 2, 3 and 4 have started

    first, second = Scheduler(world.deps, RETRY_DAYS), Scheduler(world.deps, RETRY_DAYS)
    for _ in range(3):
        await asyncio.gather(first.run_once(), second.run_once(), first.run_once())

    invoices = await world.invoices(sub_id)
    assert [invoice.cycle for invoice in invoices] == [1, 2, 3, 4]
    assert len({invoice.order_id for invoice in invoices}) == 4
    for invoice in invoices[1:]:
        charges = world.payments.charges_of(invoice.order_id)
        # sent once, with the subscription's token as the method
        assert len(charges) == 1
        assert charges[0]["method"] == {"type": "token", "token": (await world.subscription(sub_id)).token}
        assert invoice.status == "charging" and invoice.attempts == 1
    assert invoices[3].billing_start == datetime(2027, 4, 15, 10, 0, tzinfo=UTC)

    await _settle_all(world, sub_id)
    await asyncio.gather(first.run_once(), second.run_once())
    sub = await world.subscription(sub_id)
    assert (sub.status, sub.paid_count, sub.next_cycle) == ("active", 4, 5)
    assert [invoice.status for invoice in await world.invoices(sub_id)] == ["paid"] * 4
    names = await world.merchant_events(sub_id)
    assert names == [
        "subscription.authenticated",
        "subscription.activated",
        "subscription.charged",
        *["subscription.charged"] * 3,
    ]
    assert len(set(await world.outbox_ids(sub_id))) == len(names)


async def test_a_charge_resent_after_a_crash_is_the_same_attempt(world: World) -> None:
    sub_id, clock_id = await _subscribed(world)
    await _advance(world, clock_id, START + timedelta(days=32))
    sent = asyncio.Event()

    async def dies_after_sending(deps: Deps, sub: Subscription, invoice: Invoice, attempt: int) -> PaymentSnapshot:
        payment = await send_charge(deps, sub, invoice, attempt)
        sent.set()
        await asyncio.Event().wait()  # cancelled here: sent, never recorded
        return payment

    crashing = asyncio.create_task(Scheduler(world.deps, RETRY_DAYS, charge=dies_after_sending).run_once())
    await asyncio.wait_for(sent.wait(), 10)
    crashing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await crashing
    [_, cycle_2] = await world.invoices(sub_id)
    # the charge's transaction rolled back: the invoice still due, its first charge unrecorded
    assert (cycle_2.status, cycle_2.attempts, cycle_2.payment_id) == ("due", 0, None)

    await Scheduler(world.deps, RETRY_DAYS).run_once()
    [_, cycle_2] = await world.invoices(sub_id)
    charges = world.payments.charges_of(cycle_2.order_id)
    assert len(charges) == 2 and charges[0]["requestId"] == charges[1]["requestId"]
    # answered with the attempt the first send made: one payment for the cycle
    assert len({a.id for a in world.payments.attempts.values() if a.orderId == cycle_2.order_id}) == 1
    assert (cycle_2.status, cycle_2.attempts) == ("charging", 1)
    assert cycle_2.payment_id == next(a.id for a in world.payments.attempts.values() if a.orderId == cycle_2.order_id)


@pytest.mark.parametrize(("missed", "cycles"), [("charge", [1, 2, 3, 4, 5, 6]), ("skip", [1, 6])])
async def test_after_being_down_across_several_cycles(world: World, missed: str, cycles: list[int]) -> None:
    sub_id, clock_id = await _subscribed(world, missed=missed)
    # nothing ran while five cycle starts passed
    await _advance(world, clock_id, START + timedelta(days=155))
    await Scheduler(world.deps, RETRY_DAYS).run_once()
    await Scheduler(world.deps, RETRY_DAYS).run_once()
    invoices = await world.invoices(sub_id)
    assert [invoice.cycle for invoice in invoices] == cycles
    assert all(len(world.payments.charges_of(invoice.order_id)) == 1 for invoice in invoices[1:])
    sub = await world.subscription(sub_id)
    assert (sub.next_cycle, sub.next_charge_at) == (7, datetime(2027, 7, 15, 10, 0, tzinfo=UTC))


async def test_a_failed_charge_is_retried_on_schedule_then_recovers_or_halts(world: World) -> None:
    sub_id, clock_id = await _subscribed(world)
    scheduler = Scheduler(world.deps, RETRY_DAYS)
    cycle_2_start = START + timedelta(days=31)
    await _advance(world, clock_id, cycle_2_start)
    await scheduler.run_once()
    await _settle_all(world, sub_id, "FAILED")
    await scheduler.run_once()
    [_, cycle_2] = await world.invoices(sub_id)
    assert (await world.subscription(sub_id)).status == "pending"
    assert (cycle_2.status, cycle_2.next_attempt_at) == ("due", cycle_2_start + timedelta(days=1))

    # not before its time; then a second charge, with a request id of its own, which succeeds
    await scheduler.run_once()
    assert len(world.payments.charges_of(cycle_2.order_id)) == 1
    await _advance(world, clock_id, cycle_2_start + timedelta(days=1))
    await scheduler.run_once()
    charges = world.payments.charges_of(cycle_2.order_id)
    assert len(charges) == 2 and charges[0]["requestId"] != charges[1]["requestId"]
    await _settle_all(world, sub_id)
    await scheduler.run_once()
    sub = await world.subscription(sub_id)
    assert (sub.status, sub.paid_count) == ("active", 2)

    # cycle 3 fails at every charge: retried after 1, 3 and 5 days, then halted
    cycle_3_start = datetime(2027, 3, 15, 10, 0, tzinfo=UTC)
    at = cycle_3_start
    await _advance(world, clock_id, at)
    for wait in (*RETRY_DAYS, None):
        await scheduler.run_once()
        await _settle_all(world, sub_id, "FAILED")
        await scheduler.run_once()
        if wait is not None:
            at += timedelta(days=wait)
            await _advance(world, clock_id, at)
    cycle_3 = (await world.invoices(sub_id))[2]
    assert (cycle_3.status, cycle_3.attempts) == ("unpaid", 4)
    assert len(world.payments.charges_of(cycle_3.order_id)) == 4
    sub = await world.subscription(sub_id)
    assert sub.status == "halted"
    # a halted subscription is charged nothing more, whatever time passes
    await _advance(world, clock_id, at + timedelta(days=90))
    await scheduler.run_once()
    assert [invoice.cycle for invoice in await world.invoices(sub_id)] == [1, 2, 3]
    assert (await world.merchant_events(sub_id))[3:] == [
        "subscription.pending",
        "subscription.activated",
        "subscription.charged",
        "subscription.pending",
        "subscription.halted",
    ]


async def test_cancel_at_cycle_end_charges_no_further_cycle(world: World) -> None:
    sub_id, clock_id = await _subscribed(world)
    cancelled = await service.cancel(world.deps, MERCHANT, sub_id, CancelSubscriptionV1(cancel_at_cycle_end=True))
    assert cancelled.status == "active" and cancelled.has_scheduled_changes
    await _advance(world, clock_id, START + timedelta(days=40))
    await Scheduler(world.deps, RETRY_DAYS).run_once()
    sub = await world.subscription(sub_id)
    assert sub.status == "cancelled" and sub.ended_at == datetime(2027, 2, 15, 10, 0, tzinfo=UTC)
    assert [invoice.cycle for invoice in await world.invoices(sub_id)] == [1]
    assert (await world.merchant_events(sub_id))[-1] == "subscription.cancelled"


async def test_an_unreachable_payment_svc_leaves_the_charge_due_and_a_refusal_counts_as_a_failure(
    world: World,
) -> None:
    sub_id, clock_id = await _subscribed(world)
    scheduler = Scheduler(world.deps, RETRY_DAYS)
    cycle_2_start = START + timedelta(days=31)
    await _advance(world, clock_id, cycle_2_start)
    world.payments.refuse_with = 503
    await scheduler.run_once()
    [_, cycle_2] = await world.invoices(sub_id)
    assert (cycle_2.status, cycle_2.attempts) == ("due", 0)
    assert (await world.subscription(sub_id)).status == "active"

    world.payments.refuse_with = 502
    await scheduler.run_once()
    [_, cycle_2] = await world.invoices(sub_id)
    assert (cycle_2.status, cycle_2.attempts, cycle_2.next_attempt_at) == (
        "due",
        1,
        cycle_2_start + timedelta(days=1),
    )
    assert (await world.subscription(sub_id)).status == "pending"
    # every send of attempt 1 carried the same request id
    assert len({call["requestId"] for call in world.payments.charges_of(cycle_2.order_id)}) == 1


async def test_pause_skips_the_cycles_that_start_meanwhile(world: World) -> None:
    sub_id, clock_id = await _subscribed(world)
    paused = await service.pause(world.deps, MERCHANT, sub_id)
    assert paused.status == "paused"
    await _advance(world, clock_id, START + timedelta(days=70))  # cycles 2 and 3 start while paused
    await Scheduler(world.deps, RETRY_DAYS).run_once()
    assert [invoice.cycle for invoice in await world.invoices(sub_id)] == [1]
    resumed = await service.resume(world.deps, MERCHANT, sub_id)
    assert resumed.status == "active" and resumed.charge_at == int(datetime(2027, 4, 15, 10, tzinfo=UTC).timestamp())
    await _advance(world, clock_id, datetime(2027, 4, 15, 10, tzinfo=UTC))
    await Scheduler(world.deps, RETRY_DAYS).run_once()
    assert [invoice.cycle for invoice in await world.invoices(sub_id)] == [1, 4]


async def test_an_unauthenticated_subscription_expires(world: World) -> None:
    clock = await service.create_clock(world.deps, MERCHANT, CreateClock(frozen_time=int(START.timestamp())))
    plan = await service.create_plan(
        world.deps,
        MERCHANT,
        CreatePlanV1(period="weekly", interval=1, item=PlanItem(name="Box", amount=900, currency="INR")),
    )
    expire_by = int((START + timedelta(days=2)).timestamp())
    sub = await service.create_subscription(
        world.deps,
        MERCHANT,
        CreateSubscriptionV1(plan_id=plan.id, total_count=4, test_clock=clock.id, expire_by=expire_by),
    )
    await Scheduler(world.deps, RETRY_DAYS).run_once()
    assert (await world.subscription(sub.id)).status == "created"
    await _advance(world, clock.id, START + timedelta(days=2))
    await Scheduler(world.deps, RETRY_DAYS).run_once()
    expired = await world.subscription(sub.id)
    assert (expired.status, expired.ended_at) == ("expired", START + timedelta(days=2))
    [auth] = await world.invoices(sub.id)
    assert auth.status == "unpaid"


async def test_the_checkout_signs_the_authentication_payment_as_the_sdk_verifies(world: World) -> None:
    plan = await service.create_plan(
        world.deps,
        MERCHANT,
        CreatePlanV1(period="yearly", interval=1, item=PlanItem(name="Annual", amount=99900, currency="INR")),
    )
    sub = await service.create_subscription(world.deps, MERCHANT, CreateSubscriptionV1(plan_id=plan.id, total_count=3))
    assert sub.auth_order_id is not None
    with pytest.raises(ApiError) as early:
        await service.checkout(world.deps, MERCHANT, sub.id)
    assert early.value.status == 400

    first = await world.deps.payments.initiate(sub.auth_order_id, MERCHANT, 99900, "INR", {"type": "upi"}, None)
    await world.settle(first.id, "SUCCESS")
    answer = await service.checkout(world.deps, MERCHANT, sub.id)
    assert (answer.razorpay_payment_id, answer.razorpay_subscription_id) == (first.id, sub.id)
    utility = razorpay.Utility(None)
    assert utility.verify_subscription_payment_signature({**answer.model_dump(), "secret": KEY_SECRET})
    with pytest.raises(razorpay.errors.SignatureVerificationError):
        utility.verify_subscription_payment_signature({**answer.model_dump(), "secret": "another-secret"})
    # another merchant's subscription is not found
    with pytest.raises(ApiError) as other:
        await service.checkout(world.deps, "merch_other", sub.id)
    assert other.value.status == 404
