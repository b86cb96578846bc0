"""merchant-webhooks as a whole, on the real PostgreSQL and RabbitMQ: its internal API (endpoints, secrets,
the delivery log, redelivery, another merchant's ids) and an event published on the broker fanned out to
the subscribed endpoints only, each delivery verified as a merchant would (Razorpay's SDK, Standard Webhooks)."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aio_pika
import orjson
import pytest
import razorpay
import standardwebhooks
from aio_pika.abc import AbstractChannel
from aiohttp.test_utils import TestClient, TestServer

from merchant_webhooks.app import create_app
from merchant_webhooks.settings import Settings
from payments_common.events import MERCHANT_EVENT_TYPE
from payments_common.merchant_webhooks import Delivery, DeliveryList, EndpointList, EndpointWithSecret

from .conftest import BrokerNames, migrated_schema
from .helpers import eventually
from .webhook_receivers import MapResolver, Receiver, merchant_event, receiver

TOKEN = "internal-token-for-merchant-webhooks-tests"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
ADMIN = {"Authorization": "Bearer admin-token-for-merchant-webhooks"}


@pytest.fixture
async def app_client(database_dsn: str, names: BrokerNames) -> AsyncIterator[tuple[TestClient[Any, Any], str]]:
    exchange = names.exchange()
    spec = names.spec(exchange=exchange, routing_key="merchant.#")
    settings = Settings(
        DATABASE_URL=database_dsn,
        INTERNAL_API_TOKEN=TOKEN,
        ADMIN_TOKEN="admin-token-for-merchant-webhooks",
        WEBHOOK_ALLOWED_HTTP_HOSTS="127.0.0.1,localhost",
        WEBHOOK_RETRY_BASE_SECONDS=0.05,
        WEBHOOK_RETRY_MAX_DELAY_SECONDS=0.2,
        WEBHOOK_POLL_INTERVAL_SECONDS=0.05,
    )
    resolver = MapResolver({"hooks.example.com": "93.184.216.34", "internal.example.com": "10.0.0.7"})
    async with migrated_schema(database_dsn, "payments_common", "merchant_webhooks") as (schema, _):
        app = await create_app(settings, schema=schema, queue=spec, resolver=resolver)
        async with TestClient(TestServer(app)) as client:
            yield client, exchange


async def create(client: TestClient[Any, Any], merchant: str, url: str, events: list[str]) -> EndpointWithSecret:
    r = await client.post(
        f"/internal/merchants/{merchant}/webhook-endpoints", json={"url": url, "events": events}, headers=AUTH
    )
    assert r.status == 201, await r.text()
    return EndpointWithSecret.model_validate(await r.json())


async def test_endpoints_are_kept_per_merchant_with_their_secret_shown_only_on_creation_and_rotation(
    app_client: tuple[TestClient[Any, Any], str],
) -> None:
    client, _ = app_client
    created = await create(client, "merch_a", "https://hooks.example.com/in", ["payment.captured", "order.paid"])
    assert created.id.startswith("whep_") and created.secret.startswith("whsec_")
    assert (created.status, created.events, created.merchantId) == (
        "enabled",
        ["payment.captured", "order.paid"],
        "merch_a",
    )
    base = f"/internal/merchants/merch_a/webhook-endpoints/{created.id}"

    shown = await (await client.get(base, headers=AUTH)).json()
    assert "secret" not in shown and shown["id"] == created.id
    listed = EndpointList.model_validate(
        await (await client.get("/internal/merchants/merch_a/webhook-endpoints", headers=AUTH)).json()
    )
    assert [e.id for e in listed.items] == [created.id]

    # another merchant sees none of it
    assert (await client.get(f"/internal/merchants/merch_b/webhook-endpoints/{created.id}", headers=AUTH)).status == 404
    other = await client.get("/internal/merchants/merch_b/webhook-endpoints", headers=AUTH)
    assert (await other.json())["items"] == []
    assert (
        await client.delete(f"/internal/merchants/merch_b/webhook-endpoints/{created.id}", headers=AUTH)
    ).status == 404

    patched = await client.patch(
        base, json={"events": ["*"], "status": "disabled", "description": "main"}, headers=AUTH
    )
    body = await patched.json()
    assert patched.status == 200, body
    assert (body["events"], body["status"], body["disabledReason"], body["description"]) == (
        ["*"],
        "disabled",
        "merchant",
        "main",
    )

    rotated = EndpointWithSecret.model_validate(await (await client.post(base + "/rotate-secret", headers=AUTH)).json())
    assert rotated.secret != created.secret and rotated.previousSecretExpiresAt is not None

    assert (await client.delete(base, headers=AUTH)).status == 204
    assert (await client.get(base, headers=AUTH)).status == 404


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"url": "http://hooks.example.com/in", "events": ["*"]}, "url", "https"),
        ({"url": "https://internal.example.com/in", "events": ["*"]}, "url", "private"),
        ({"url": "https://169.254.169.254/latest/meta-data", "events": ["*"]}, "url", "link-local"),
        ({"url": "https://127.0.0.2:8080/", "events": ["*"]}, "url", "loopback"),
        ({"url": "https://[::ffff:10.0.0.1]/", "events": ["*"]}, "url", "private"),
        ({"url": "https://unknown.example.com/", "events": ["*"]}, "url", "resolve"),
        ({"url": "https://user:pw@hooks.example.com/", "events": ["*"]}, "url", "credentials"),
        ({"url": "https://hooks.example.com/in", "events": ["payment.teleported"]}, "events", "unknown event"),
        ({"url": "https://hooks.example.com/in", "events": []}, "events", "at least 1"),
    ],
)
async def test_refused_urls_and_unknown_events_are_a_clear_400(
    app_client: tuple[TestClient[Any, Any], str], body: dict[str, Any], field: str, words: str
) -> None:
    client, _ = app_client
    r = await client.post("/internal/merchants/merch_a/webhook-endpoints", json=body, headers=AUTH)
    error = (await r.json())["error"]
    assert r.status == 400, error
    assert error["code"] == "BAD_REQUEST_ERROR" and error["field"] == field
    assert words in error["description"]


async def test_the_internal_and_admin_apis_need_their_tokens(app_client: tuple[TestClient[Any, Any], str]) -> None:
    client, _ = app_client
    assert (await client.get("/internal/merchants/merch_a/webhook-endpoints")).status == 401
    wrong = {"Authorization": "Bearer not-the-internal-token-at-all"}
    assert (await client.get("/internal/merchants/merch_a/webhook-endpoints", headers=wrong)).status == 401
    assert (await client.get("/admin/webhook-deliveries", headers=AUTH)).status == 401
    assert (await client.get("/admin/webhook-deliveries", headers=ADMIN)).status == 200


async def test_an_event_from_the_broker_reaches_the_subscribed_endpoints_only_signed_and_logged(
    app_client: tuple[TestClient[Any, Any], str], channel: AbstractChannel
) -> None:
    client, exchange_name = app_client
    server: Receiver
    async with receiver() as server:
        captured = await create(client, "merch_a", server.url("/captured"), ["payment.captured"])
        everything = await create(client, "merch_a", server.url("/all"), ["*"])
        await create(client, "merch_a", server.url("/refunds"), ["refund.created"])
        paused = await create(client, "merch_a", server.url("/paused"), ["*"])
        patched = await client.patch(
            f"/internal/merchants/merch_a/webhook-endpoints/{paused.id}", json={"status": "disabled"}, headers=AUTH
        )
        assert patched.status == 200
        await create(client, "merch_b", server.url("/other-merchant"), ["*"])

        event = merchant_event("merch_a")
        exchange = await channel.get_exchange(exchange_name)
        message = aio_pika.Message(event.model_dump_json().encode(), message_id="m-1", type=MERCHANT_EVENT_TYPE)
        await exchange.publish(message, routing_key="merchant.payment.captured")
        # the same message again (a redelivery by the broker): fanned out once
        await exchange.publish(message, routing_key="merchant.payment.captured")

        await eventually(lambda: len(server.received) >= 2, 10, "both subscribed endpoints called")
        deliveries = DeliveryList.model_validate(
            await (await client.get("/admin/webhook-deliveries", params={"merchant": "merch_a"}, headers=ADMIN)).json()
        )
        await eventually(lambda: len(server.received) >= 2, 1)
        assert sorted(r.path for r in server.received) == ["/all", "/captured"]
        assert sorted(d.endpointId for d in deliveries.items) == sorted([captured.id, everything.id])

        secrets = {"/captured": captured.secret, "/all": everything.secret}
        for request in server.received:
            secret = secrets[request.path]
            assert razorpay.Utility(None).verify_webhook_signature(
                request.body.decode(), request.headers["X-Razorpay-Signature"], secret
            ) in (None, True)
            verified = standardwebhooks.Webhook(secret).verify(request.body, request.headers)
            assert verified["entity"] == "event" and verified["account_id"] == "merch_a"
            assert verified["event"] == "payment.captured" and verified["payload"] == event.payload
            assert request.headers["X-Razorpay-Event-Id"] == request.headers["webhook-id"] == event.id

        async def logged() -> bool:
            r = await client.get(
                f"/internal/merchants/merch_a/webhook-endpoints/{captured.id}/deliveries", headers=AUTH
            )
            items = DeliveryList.model_validate(await r.json()).items
            return len(items) == 1 and items[0].status == "delivered"

        await eventually(logged, 5, "the delivery logged as delivered")
        r = await client.get(f"/internal/merchants/merch_a/webhook-endpoints/{captured.id}/deliveries", headers=AUTH)
        [shown] = DeliveryList.model_validate(await r.json()).items
        assert (shown.eventId, shown.event, shown.nextAttemptAt) == (event.id, "payment.captured", None)
        [attempt] = shown.attempts
        assert attempt.statusCode == 200 and attempt.error is None and attempt.latencyMs is not None

        # a redelivery: a new attempt under the same event id; another merchant cannot ask for it
        other = await client.post(f"/internal/merchants/merch_b/webhook-deliveries/{shown.id}/redeliver", headers=AUTH)
        assert other.status == 404
        again = await client.post(f"/internal/merchants/merch_a/webhook-deliveries/{shown.id}/redeliver", headers=AUTH)
        assert again.status == 202, await again.text()
        assert Delivery.model_validate(await again.json()).status == "pending"
        await eventually(lambda: len(server.at("/captured")) == 2, 5, "the redelivery")
        first, second = server.at("/captured")
        assert second.headers["webhook-id"] == first.headers["webhook-id"] == event.id
        assert second.body == first.body


async def payments_admin(port: int, *args: str, cwd: Path) -> tuple[int, str, str]:
    env = {
        **os.environ,
        "MERCHANT_WEBHOOKS_URL": f"http://127.0.0.1:{port}",
        "ADMIN_TOKEN": "admin-token-for-merchant-webhooks",
    }
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "payments-admin"),
        *args,
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode()


async def test_payments_admin_lists_shows_and_redelivers_webhooks(
    app_client: tuple[TestClient[Any, Any], str], channel: AbstractChannel, tmp_path: Path
) -> None:
    client, exchange_name = app_client
    assert client.server.port is not None
    port = client.server.port
    async with receiver() as server:
        hook = await create(client, "merch_a", server.url("/cli"), ["*"])
        event = merchant_event("merch_a", "order.paid")
        exchange = await channel.get_exchange(exchange_name)
        await exchange.publish(
            aio_pika.Message(event.model_dump_json().encode(), message_id="m-cli", type=MERCHANT_EVENT_TYPE),
            routing_key="merchant.order.paid",
        )
        await eventually(lambda: len(server.at("/cli")) == 1, 10, "the delivery")

        async def delivered() -> bool:
            r = await client.get(f"/internal/merchants/merch_a/webhook-endpoints/{hook.id}/deliveries", headers=AUTH)
            return [d.status for d in DeliveryList.model_validate(await r.json()).items] == ["delivered"]

        await eventually(delivered, 10, "the delivery logged as delivered")
        code, out, err = await payments_admin(
            port, "webhooks", "deliveries", "--merchant", "merch_a", "--status", "delivered", "--json", cwd=tmp_path
        )
        assert (code, err) == (0, ""), err
        [item] = orjson.loads(out)["items"]
        assert (item["eventId"], item["endpointId"], item["event"]) == (event.id, hook.id, "order.paid")

        code, out, _ = await payments_admin(port, "webhooks", "show", item["id"], cwd=tmp_path)
        assert code == 0 and item["id"] in out and "200" in out

        code, out, err = await payments_admin(port, "webhooks", "redeliver", item["id"], "--json", cwd=tmp_path)
        assert (code, err) == (0, ""), err
        assert orjson.loads(out)["status"] == "pending"
        await eventually(lambda: len(server.at("/cli")) == 2, 10, "the redelivery")
        assert server.at("/cli")[1].headers["webhook-id"] == event.id

        code, _, err = await payments_admin(port, "webhooks", "show", "whdl_nope", cwd=tmp_path)
        assert code == 1 and "not found" in err
        code, _, err = await payments_admin(port, "webhooks", "deliveries", "--status", "lost", cwd=tmp_path)
        assert code == 2
