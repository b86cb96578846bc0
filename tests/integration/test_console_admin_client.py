"""The console's client of merchant-webhooks' admin API against merchant-webhooks itself, on the real
PostgreSQL and RabbitMQ: an event published on the broker is delivered to a receiver on 127.0.0.1, then
found by the console's search, read with its attempts and redelivered (a second attempt, the same event
id); an unknown delivery is NotFound, a wrong token an error that says so, and the process reads as ready."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aio_pika
import aiohttp
import pytest
from aio_pika.abc import AbstractChannel
from aiohttp.test_utils import TestServer

from merchant_webhooks.app import create_app
from merchant_webhooks.settings import Settings
from payments_common.events import MERCHANT_EVENT_TYPE
from payments_console.admin_api.client import AdminApiError, AdminClient, NotFound

from .conftest import BrokerNames, migrated_schema
from .helpers import eventually
from .webhook_receivers import merchant_event, receiver

INTERNAL_TOKEN = "internal-token-for-the-console-client-tests"
ADMIN_TOKEN = "admin-token-for-the-console-client-tests"
SERVICE = "merchant-webhooks"


@pytest.fixture
async def merchant_webhooks(database_dsn: str, names: BrokerNames) -> AsyncIterator[tuple[str, str]]:
    """merchant-webhooks on a free port: its base URL, and the exchange its queue is bound to."""
    exchange = names.exchange()
    settings = Settings(
        DATABASE_URL=database_dsn,
        INTERNAL_API_TOKEN=INTERNAL_TOKEN,
        ADMIN_TOKEN=ADMIN_TOKEN,
        WEBHOOK_ALLOWED_HTTP_HOSTS="127.0.0.1",
        WEBHOOK_POLL_INTERVAL_SECONDS=0.05,
    )
    spec = names.spec(exchange=exchange, routing_key="merchant.#")
    async with migrated_schema(database_dsn, "payments_common", "merchant_webhooks") as (schema, _):
        server = TestServer(await create_app(settings, schema=schema, queue=spec), host="127.0.0.1")
        await server.start_server()
        try:
            yield str(server.make_url("")).rstrip("/"), exchange
        finally:
            await server.close()


async def test_the_console_searches_reads_and_redelivers_a_real_delivery(
    merchant_webhooks: tuple[str, str], channel: AbstractChannel
) -> None:
    url, exchange_name = merchant_webhooks
    async with receiver() as server, aiohttp.ClientSession() as session:
        created = await session.post(
            f"{url}/internal/merchants/merch_console/webhook-endpoints",
            json={"url": server.url("/hooks"), "events": ["payment.captured"]},
            headers={"Authorization": f"Bearer {INTERNAL_TOKEN}"},
        )
        assert created.status == 201, await created.text()
        endpoint: dict[str, Any] = await created.json()
        event = merchant_event("merch_console")
        exchange = await channel.get_exchange(exchange_name)
        message = aio_pika.Message(event.model_dump_json().encode(), message_id=event.id, type=MERCHANT_EVENT_TYPE)
        await exchange.publish(message, routing_key="merchant.payment.captured")

        client = AdminClient(session, {SERVICE: url}, ADMIN_TOKEN)
        query = {"merchant": "merch_console", "endpoint": endpoint["id"], "limit": "100"}

        async def delivered() -> bool:
            items = (await client.webhook_deliveries(query)).items
            return len(items) == 1 and items[0].status == "delivered"

        await eventually(delivered, 10, "the event delivered")
        [listed] = (await client.webhook_deliveries({**query, "event": event.id})).items
        assert (listed.eventId, listed.event, listed.endpointId) == (event.id, "payment.captured", endpoint["id"])
        assert (await client.webhook_deliveries({**query, "status": "failed"})).items == []

        shown = await client.webhook_delivery(listed.id)
        [attempt] = shown.attempts
        assert attempt.statusCode == 200 and attempt.latencyMs is not None and shown.nextAttemptAt is None

        again = await client.redeliver_webhook(listed.id)
        assert again.status == "pending" and again.eventId == event.id

        async def attempted_twice() -> bool:
            found = await client.webhook_delivery(listed.id)
            return len(found.attempts) == 2 and found.status == "delivered"

        await eventually(attempted_twice, 10, "the redelivery attempted and logged")
        first, second = server.at("/hooks")
        assert first.headers["X-Razorpay-Event-Id"] == second.headers["X-Razorpay-Event-Id"] == event.id

        with pytest.raises(NotFound):
            await client.webhook_delivery("whdl_unknown")
        with pytest.raises(NotFound):
            await client.redeliver_webhook("whdl_unknown")
        with pytest.raises(AdminApiError) as refused:
            await AdminClient(session, {SERVICE: url}, "not-the-admin-token").webhook_deliveries({})
        assert refused.value.status == 401 and refused.value.service == SERVICE
        assert (await client.readiness(SERVICE)).state == "ready"
