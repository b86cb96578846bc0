"""Rotating PAYMENT_SIGNING_SECRET and WEBHOOK_SECRETS under load, by the documented procedure.

The services read their keys at start, so a rotation is a sequence of restarts with new settings.
Here the webhook gateway's real app runs against the real broker, several instances one after the
other (blue/green: the next one starts, traffic moves to it, the previous one drains and stops),
while a signer keeps posting signed webhooks at a steady rate, as the payment gateway would:

    gateway A verifies [old]  ->  B verifies [old, new]  ->  signer switches to new  ->  C verifies [new]

Not one delivery may be refused, and every accepted webhook must be in the queue. The same order of
steps run wrongly (the signer first) must show refusals, so the stream is known to see them.

payment-svc verifies the gateway's payment signature too (when a payment starts, and in the
reconciler's records); the last tests go through the same steps with the real mock gateway.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import statistics
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal

import aio_pika
import aiohttp
import orjson
import pytest
from aio_pika.abc import AbstractChannel, AbstractQueue, AbstractRobustConnection
from aiohttp.test_utils import TestServer
from pydantic import SecretStr

from payment_svc.attempts.service import Deps, InitiatePayment, initiate_payment
from payment_svc.gateway.client import GatewayClient
from payment_svc.reconciliation.reconciler import ReconcileConfig, Reconciler
from payments_common import ids
from payments_common.config import DEFAULT_AMQP_URL, parse_webhook_secrets
from payments_common.errors import ApiError
from payments_common.signatures import payment_signature, sign_webhook, verify_payment_signature
from webhook_gateway.app import BROKER_SINK, create_app
from webhook_gateway.ingress.publishing import Destination
from webhook_gateway.settings import Settings

from .conftest import BrokerNames
from .helpers import eventually
from .test_mock_gateway_http import gateway_tables, running_gateway, serving_receiver
from .test_reconciler import payment_tables

pytestmark = pytest.mark.integration

OLD_WH = "whsec_" + base64.b64encode(b"rotation-old-webhook-secret-32by").decode()
NEW_WH = "whsec_" + base64.b64encode(b"rotation-new-webhook-secret-32by").decode()
OLD_PAY = "rotation-old-payment-signing-secret"
NEW_PAY = "rotation-new-payment-signing-secret"
ROUTING_KEY = "webhook.payment"
RATE_PER_SECOND = 200
PHASE_SECONDS = 1.0

Rotated = Literal["WEBHOOK_SECRETS", "PAYMENT_SIGNING_SECRET"]


# --- the signer: a steady stream of signed webhooks, aimed wherever traffic currently goes ---------


@dataclass
class Keys:
    webhook: bytes
    payment: bytes


@dataclass
class SignerStream:
    """Signs and posts webhooks at `rate` per second to `target`, the way a load balancer would route them.

    Each webhook is signed with the keys current when it is sent. `drained(url)` waits until nothing
    sent to `url` is still unanswered, so an instance is stopped only once its requests are done.
    """

    session: aiohttp.ClientSession
    target: str
    keys: Keys
    rate: float = RATE_PER_SECOND
    # the step of the procedure in force, counted per webhook sent
    step: str = ""
    sent: int = 0
    sent_per_step: Counter[str] = field(default_factory=Counter)
    accepted: list[str] = field(default_factory=list)
    refused: list[tuple[int, str]] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    _in_flight: Counter[str] = field(default_factory=Counter)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        started = time.monotonic()
        n = 0
        while not self._stop.is_set():
            # a fixed schedule, not sleep-after-send: slow answers do not lower the offered rate
            task = asyncio.create_task(self.send())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            n += 1
            delay = started + n / self.rate - time.monotonic()
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), delay)

    async def stop(self) -> None:
        self._stop.set()
        while self._tasks:
            await asyncio.gather(*list(self._tasks))

    async def drained(self, url: str, within: float = 10.0) -> None:
        await eventually(lambda: self._in_flight[url] == 0, within, f"requests to {url} answered")

    async def send(self) -> None:
        """One webhook, signed with the current keys, to the current target."""
        url, keys = self.target, self.keys
        self.sent += 1
        self.sent_per_step[self.step] += 1
        event_id = ids.new_id(ids.EVENT)
        order_id, gw_id = ids.new_id(ids.ORDER), ids.new_id(ids.GATEWAY_PAYMENT)
        body = orjson.dumps(
            {
                "orderId": order_id,
                "paymentId": ids.new_id(ids.PAYMENT),
                "gatewayPaymentId": gw_id,
                "signature": payment_signature(keys.payment, order_id, gw_id),
                "status": "SUCCESS",
                "amount": 1500,
                "currency": "INR",
            }
        )
        headers = {"content-type": "application/json", **sign_webhook(keys.webhook, event_id, body).as_dict()}
        self._in_flight[url] += 1
        started = time.monotonic()
        try:
            async with self.session.post(f"{url}/webhook/payment", data=body, headers=headers) as response:
                text = await response.text()
                if response.status == 200:
                    self.accepted.append(event_id)
                else:
                    self.refused.append((response.status, text))
        except aiohttp.ClientError as exc:
            self.failed.append(type(exc).__name__)
        finally:
            self._in_flight[url] -= 1
            self.latencies.append(time.monotonic() - started)


# --- webhook gateway instances with the settings of one step ----------------------------------------


def gateway_settings(rotated: Rotated, keys: list[str]) -> Settings:
    """Settings whose `rotated` secret lists `keys` (names: old/new); the other secret stays the old one."""
    webhook = {"old": OLD_WH, "new": NEW_WH}
    payment = {"old": OLD_PAY, "new": NEW_PAY}
    values: dict[str, Any] = {
        "AMQP_URL": SecretStr(DEFAULT_AMQP_URL),
        "WEBHOOK_SECRETS": SecretStr(OLD_WH),
        "PAYMENT_SIGNING_SECRET": SecretStr(OLD_PAY),
        "PUBLISH_TIMEOUT_SECONDS": 4,
    }
    table = webhook if rotated == "WEBHOOK_SECRETS" else payment
    values[rotated] = SecretStr(",".join(table[name] for name in keys))
    return Settings(**values)


def signer_keys(rotated: Rotated, signs_with: str) -> Keys:
    webhook = parse_webhook_secrets(NEW_WH if rotated == "WEBHOOK_SECRETS" and signs_with == "new" else OLD_WH)[0]
    payment = (NEW_PAY if rotated == "PAYMENT_SIGNING_SECRET" and signs_with == "new" else OLD_PAY).encode()
    return Keys(webhook=webhook, payment=payment)


@contextlib.asynccontextmanager
async def webhook_gateway(settings: Settings, exchange: str) -> AsyncIterator[str]:
    app = await create_app(settings, destination=Destination(exchange, ROUTING_KEY, queue=None))
    server = TestServer(app)
    await server.start_server()
    try:
        await asyncio.wait_for(app[BROKER_SINK].wait_ready(), 10)
        yield str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


@pytest.fixture
async def amqp(amqp_connection: AbstractRobustConnection) -> AsyncIterator[AbstractChannel]:
    async with amqp_connection.channel() as channel:
        yield channel


async def bound_queue(channel: AbstractChannel, names: BrokerNames) -> tuple[str, AbstractQueue]:
    exchange = await channel.declare_exchange(names.exchange(), aio_pika.ExchangeType.TOPIC, durable=False)
    queue = await channel.declare_queue(names.queue(), durable=False)
    await queue.bind(exchange, routing_key="webhook.#")
    return exchange.name, queue


async def drain_queue(queue: AbstractQueue) -> list[str]:
    ids_seen: list[str] = []
    while (message := await queue.get(no_ack=True, fail=False)) is not None:
        ids_seen.append(str(message.message_id))
    return ids_seen


async def move_traffic(stream: SignerStream, to: str, old_url: str) -> None:
    stream.target = to
    await stream.drained(old_url)


async def phase() -> None:
    await asyncio.sleep(PHASE_SECONDS)


def report(label: str, stream: SignerStream, seconds: float) -> None:
    latencies = sorted(stream.latencies)
    print(
        f"\n{label}: sent {stream.sent} in {seconds:.1f}s ({stream.sent / seconds:.0f}/s offered {stream.rate:.0f}/s), "
        f"accepted {len(stream.accepted)}, refused {len(stream.refused)}, failed {len(stream.failed)}, "
        f"latency median {statistics.median(latencies) * 1000:.1f} ms, "
        f"p99 {latencies[int(len(latencies) * 0.99) - 1] * 1000:.1f} ms; "
        + ", ".join(f"{step}: {count}" for step, count in stream.sent_per_step.items())
    )


# --- the webhook gateway: both secrets rotated under a stream of webhooks ---------------------------


@pytest.mark.parametrize("rotated", ["WEBHOOK_SECRETS", "PAYMENT_SIGNING_SECRET"])
async def test_rotation_by_the_procedure_refuses_no_delivery(
    rotated: Rotated, amqp: AbstractChannel, names: BrokerNames
) -> None:
    exchange, queue = await bound_queue(amqp, names)
    started = time.monotonic()
    async with (
        aiohttp.ClientSession() as session,
        webhook_gateway(gateway_settings(rotated, ["old"]), exchange) as gateway_a,
    ):
        stream = SignerStream(session, gateway_a, signer_keys(rotated, "old"), step="A [old], signs old")
        runner = asyncio.create_task(stream.run())
        try:
            await phase()
            # 1. every verifier learns the new key; the signer still uses the old one
            async with webhook_gateway(gateway_settings(rotated, ["old", "new"]), exchange) as gateway_b:
                stream.step = "B [old,new], signs old"
                await move_traffic(stream, gateway_b, gateway_a)
                await phase()
                # 2. the signer switches; the verifiers already know the new key
                stream.step = "B [old,new], signs new"
                stream.keys = signer_keys(rotated, "new")
                await phase()
                # 3. the old key retires once nothing signed with it can still arrive
                async with webhook_gateway(gateway_settings(rotated, ["new"]), exchange) as gateway_c:
                    stream.step = "C [new], signs new"
                    await move_traffic(stream, gateway_c, gateway_b)
                    await phase()
                    await stream.stop()

                    # the retired key really is gone from C: the stream would have seen a refusal
                    straggler = SignerStream(session, gateway_c, signer_keys(rotated, "old"))
                    await straggler.send()
                    assert [status for status, _ in straggler.refused] == [400]
        finally:
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runner
    report(f"rotation of {rotated}", stream, time.monotonic() - started)

    assert stream.refused == []
    assert stream.failed == []
    # every step of the procedure carried traffic (about RATE_PER_SECOND * PHASE_SECONDS each)
    assert len(stream.sent_per_step) == 4
    assert min(stream.sent_per_step.values()) >= 50, stream.sent_per_step
    assert len(stream.accepted) == stream.sent
    published = await drain_queue(queue)
    assert sorted(published) == sorted(stream.accepted)


@pytest.mark.parametrize("rotated", ["WEBHOOK_SECRETS", "PAYMENT_SIGNING_SECRET"])
async def test_switching_the_signer_before_the_verifiers_refuses_deliveries(
    rotated: Rotated, amqp: AbstractChannel, names: BrokerNames
) -> None:
    exchange, _ = await bound_queue(amqp, names)
    async with (
        aiohttp.ClientSession() as session,
        webhook_gateway(gateway_settings(rotated, ["old"]), exchange) as gateway_a,
    ):
        stream = SignerStream(session, gateway_a, signer_keys(rotated, "old"))
        runner = asyncio.create_task(stream.run())
        try:
            await asyncio.sleep(0.3)
            stream.keys = signer_keys(rotated, "new")
            await asyncio.sleep(0.3)
            await stream.stop()
        finally:
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runner
    assert stream.accepted and stream.refused
    # refused for the signature (400), and soon for the source's budget of unverified requests (429)
    assert 400 in {status for status, _ in stream.refused}
    assert all((status == 400 and "INVALID_SIGNATURE" in text) or status == 429 for status, text in stream.refused)
    assert len(stream.accepted) + len(stream.refused) == stream.sent


# --- payment-svc: the gateway's payment signature when a payment starts and in the reconciler --------

SUCCESS = {"type": "upi", "vpa": "success@razorpay"}


@dataclass
class PaymentWorld:
    pool: Any
    session: aiohttp.ClientSession

    def deps(self, gateway_url: str, keys: tuple[bytes, ...]) -> Deps:
        return Deps(self.pool, GatewayClient(self.session, gateway_url), keys)

    async def start(self, deps: Deps) -> Any:
        command = InitiatePayment(
            order_id=ids.new_id(ids.ORDER), merchant_id="m_1", amount=1500, currency="INR", method=SUCCESS
        )
        return await initiate_payment(deps, command)


@pytest.fixture
async def payment_world(database_dsn: str) -> AsyncIterator[tuple[PaymentWorld, str, Any, Any]]:
    async with (
        serving_receiver() as receiver,
        gateway_tables(database_dsn) as (gateway_schema, gateway_db),
        payment_tables(database_dsn) as pool,
        aiohttp.ClientSession() as session,
    ):
        yield PaymentWorld(pool, session), gateway_schema, gateway_db, receiver


def url_of(client: Any) -> str:
    return str(client.make_url("")).rstrip("/")


async def test_payment_svc_accepts_both_keys_through_a_rotation_of_the_gateway(
    database_dsn: str, payment_world: tuple[PaymentWorld, str, Any, Any]
) -> None:
    world, schema, gateway_db, receiver = payment_world
    old, new = OLD_PAY.encode(), NEW_PAY.encode()
    verifiers = (old, new)  # step 1 done: payment-svc restarted with PAYMENT_SIGNING_SECRET=old,new

    async with running_gateway(database_dsn, schema, receiver, PAYMENT_SIGNING_SECRET=SecretStr(OLD_PAY)) as gw:
        before = await world.start(world.deps(url_of(gw), verifiers))
    # step 2: the gateway restarts signing with the new key (first in its list)
    signer = SecretStr(f"{NEW_PAY},{OLD_PAY}")
    async with running_gateway(database_dsn, schema, receiver, PAYMENT_SIGNING_SECRET=signer) as gw:
        after = await world.start(world.deps(url_of(gw), verifiers))
        # a payment-svc that was not given the new key first refuses the gateway's answer
        with pytest.raises(ApiError) as refused:
            await world.start(world.deps(url_of(gw), (old,)))
        assert (refused.value.status, refused.value.code) == (502, "GATEWAY_ERROR")

        # what a merchant verifying with one key sees: each payment is signed by the key the gateway
        # signed with when the payment was created, and keeps that signature
        assert before.signature is not None and after.signature is not None
        assert verify_payment_signature(old, before.order_id, str(before.gateway_payment_id), before.signature)
        assert not verify_payment_signature(new, before.order_id, str(before.gateway_payment_id), before.signature)
        assert verify_payment_signature(new, after.order_id, str(after.gateway_payment_id), after.signature)
        assert not verify_payment_signature(old, after.order_id, str(after.gateway_payment_id), after.signature)

        async def captured() -> bool:
            statuses = await gateway_db.fetch(
                "SELECT status FROM payments WHERE payment_id = ANY($1::text[])", [before.id, after.id]
            )
            return [row["status"] for row in statuses] == ["captured", "captured"]

        await eventually(captured, within=10, what="both payments captured at the gateway")

        # the gateway's record of a payment made before the switch still carries the old key's signature:
        # retiring the old key too early leaves it unsettled, which is why the procedure waits
        config = ReconcileConfig(after_seconds=0.0, expiry_seconds=900.0, confirm_after_seconds=900.0)
        too_early = await Reconciler(world.pool, GatewayClient(world.session, url_of(gw)), (new,), config).run_once()
        assert [error["paymentId"] for error in too_early.errors] == [before.id]
        assert [s["paymentId"] for s in too_early.settled] == [after.id]

        in_time = await Reconciler(world.pool, GatewayClient(world.session, url_of(gw)), (new, old), config).run_once()
        assert [s["paymentId"] for s in in_time.settled] == [before.id]
        assert in_time.errors == []
