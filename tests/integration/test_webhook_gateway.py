"""The webhook gateway against the real RabbitMQ: 200 only after a confirmed, routed publish."""

from __future__ import annotations

import asyncio
import base64
import os
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aio_pika
import orjson
import pytest
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractQueue, AbstractRobustConnection
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from payments_common import ids
from payments_common.config import DEFAULT_AMQP_URL, parse_webhook_secrets
from payments_common.signatures import payment_signature, sign_webhook
from payments_common.topology import QueueSpec
from webhook_gateway.app import BROKER_SINK, create_app
from webhook_gateway.ingress.publishing import Destination
from webhook_gateway.settings import Settings

pytestmark = pytest.mark.integration

AMQP_URL = os.environ.get("AMQP_URL", DEFAULT_AMQP_URL)
WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"integration-webhook-secret-32byt").decode()
PAYMENT_SECRET = "integration-payment-signing-secret"
ROUTING_KEY = "webhook.payment"


def settings() -> Settings:
    return Settings(
        AMQP_URL=SecretStr(AMQP_URL),
        WEBHOOK_SECRETS=SecretStr(WEBHOOK_SECRET),
        PAYMENT_SIGNING_SECRET=SecretStr(PAYMENT_SECRET),
        PUBLISH_TIMEOUT_SECONDS=4,
    )


def unique(name: str) -> str:
    return f"test.webhook-gateway.{name}.{uuid.uuid4().hex[:12]}"


def signed_webhook(event_id: str) -> tuple[bytes, dict[str, str], dict[str, Any]]:
    order_id, gw_id = ids.new_id(ids.ORDER), ids.new_id(ids.GATEWAY_PAYMENT)
    data = {
        "orderId": order_id,
        "paymentId": ids.new_id(ids.PAYMENT),
        "gatewayPaymentId": gw_id,
        "signature": payment_signature(PAYMENT_SECRET.encode(), order_id, gw_id),
        "status": "SUCCESS",
        "amount": 1500,
        "currency": "INR",
    }
    body = orjson.dumps(data)
    signed = sign_webhook(parse_webhook_secrets(WEBHOOK_SECRET)[0], event_id, body)
    return body, {"content-type": "application/json", **signed.as_dict()}, data


# this module's own broker fixtures, named apart from the integration tier's shared ones
@pytest.fixture
async def gateway_test_connection() -> AsyncIterator[AbstractRobustConnection]:
    conn = await aio_pika.connect_robust(AMQP_URL)
    try:
        yield conn
    finally:
        await conn.close()


@pytest.fixture
async def amqp(gateway_test_connection: AbstractRobustConnection) -> AsyncIterator[AbstractChannel]:
    chan = await gateway_test_connection.channel()
    try:
        yield chan
    finally:
        await chan.close()


async def running_gateway(destination: Destination) -> TestClient[Any, Any]:
    app = await create_app(settings(), destination=destination)
    client: TestClient[Any, Any] = TestClient(TestServer(app))
    await client.start_server()
    await app[BROKER_SINK].wait_ready()
    return client


async def next_message(queue: AbstractQueue, within: float = 5.0) -> AbstractIncomingMessage:
    deadline = time.monotonic() + within
    while True:
        message = await queue.get(no_ack=False, fail=False)
        if message is not None:
            return message
        if time.monotonic() > deadline:
            raise AssertionError(f"no message in {queue.name}")
        await asyncio.sleep(0.05)


async def test_accepted_webhook_lands_in_the_bound_queue(amqp: AbstractChannel) -> None:
    exchange = await amqp.declare_exchange(unique("x"), aio_pika.ExchangeType.TOPIC, auto_delete=True)
    queue = await amqp.declare_queue(unique("q"), exclusive=True)
    await queue.bind(exchange, routing_key="webhook.#")
    client = await running_gateway(Destination(exchange.name, ROUTING_KEY, queue=None))
    try:
        event_id = ids.new_id(ids.EVENT)
        body, headers, data = signed_webhook(event_id)
        response = await client.post("/webhook/payment", data=body, headers={**headers, "X-Request-Id": "req-int-1"})
        assert response.status == 200, await response.text()
        assert await response.json() == {"success": True}

        message = await next_message(queue)
        await message.ack()
        assert message.message_id == event_id
        assert message.correlation_id == "req-int-1"
        assert message.type == "payment.webhook"
        assert message.content_type == "application/json"
        assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
        assert message.headers["webhook-timestamp"] == int(headers["webhook-timestamp"])
        envelope = orjson.loads(message.body)
        assert envelope["eventId"] == event_id
        assert envelope["data"] == data
    finally:
        await client.close()


async def test_the_consumer_queue_is_declared_at_startup(amqp: AbstractChannel) -> None:
    exchange_name, service = unique("x"), unique("svc")
    spec = QueueSpec(name=f"{service}.webhooks", service=service, bindings=((exchange_name, "webhook.#"),))
    client = await running_gateway(Destination(exchange_name, ROUTING_KEY, queue=spec))
    try:
        event_id = ids.new_id(ids.EVENT)
        body, headers, _ = signed_webhook(event_id)
        response = await client.post("/webhook/payment", data=body, headers=headers)
        assert response.status == 200, await response.text()
        queue = await amqp.get_queue(spec.name, ensure=True)
        message = await next_message(queue)
        await message.ack()
        assert message.message_id == event_id
    finally:
        await client.close()
        for name in (spec.name, spec.dlq, *(f"{spec.name}.retry.{d}ms" for d in set(spec.retry_delays_ms))):
            await amqp.queue_delete(name)
        await amqp.exchange_delete(spec.dlx)
        await amqp.exchange_delete(exchange_name)


async def test_unroutable_publish_is_503(amqp: AbstractChannel) -> None:
    # an exchange nothing is bound to: the mandatory publish comes back, so the event is not durable
    exchange = await amqp.declare_exchange(unique("x"), aio_pika.ExchangeType.TOPIC, auto_delete=True)
    client = await running_gateway(Destination(exchange.name, ROUTING_KEY, queue=None))
    try:
        body, headers, _ = signed_webhook(ids.new_id(ids.EVENT))
        started = time.monotonic()
        response = await client.post("/webhook/payment", data=body, headers=headers)
        assert response.status == 503
        answer = await response.json()
        assert answer["success"] is False
        assert answer["error"]["code"] == "SERVICE_UNAVAILABLE"
        assert time.monotonic() - started < 5
    finally:
        await client.close()
    await exchange.delete()


async def test_missing_exchange_is_503_and_the_gateway_recovers(amqp: AbstractChannel) -> None:
    # publishing to an exchange that does not exist closes the channel; the next publish needs a new one
    name = unique("x")
    client = await running_gateway(Destination(name, ROUTING_KEY, queue=None))
    try:
        body, headers, _ = signed_webhook(ids.new_id(ids.EVENT))
        assert (await client.post("/webhook/payment", data=body, headers=headers)).status == 503

        exchange = await amqp.declare_exchange(name, aio_pika.ExchangeType.TOPIC, auto_delete=True)
        queue = await amqp.declare_queue(unique("q"), exclusive=True)
        await queue.bind(exchange, routing_key="webhook.#")
        event_id = ids.new_id(ids.EVENT)
        body, headers, _ = signed_webhook(event_id)
        response = await client.post("/webhook/payment", data=body, headers=headers)
        assert response.status == 200, await response.text()
        message = await next_message(queue)
        await message.ack()
        assert message.message_id == event_id
    finally:
        await client.close()
