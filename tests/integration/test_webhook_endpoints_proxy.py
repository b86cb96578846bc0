"""order-svc's webhook endpoints in front of the real merchant-webhooks process (its app on the real
PostgreSQL and RabbitMQ): the native and /v1 use cases answer what the process keeps, its refusals pass
through with their status and error, and it being unreachable or refusing our token is a clear 503. Then the
whole way of an event: order-svc applies a payment snapshot, the merchant event its outbox recorded is relayed
to the process's queue, and the merchant's endpoint receives it signed, as the delivery log shows."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

import aiohttp
import orjson
import pytest
import razorpay
import standardwebhooks
from aiohttp.test_utils import TestServer

from merchant_webhooks.app import create_app
from merchant_webhooks.settings import Settings
from order_svc.deps import Deps
from order_svc.merchant_events.domain import event_id
from order_svc.orders.repository import OrderRepository
from order_svc.payments.service import apply_payment_event
from order_svc.v1.webhooks import service as v1
from order_svc.v1.webhooks.schemas import CreateWebhookV1, EditWebhookV1
from order_svc.webhook_endpoints import service
from order_svc.webhook_endpoints.client import MerchantWebhooksClient
from payments_common import events, ids
from payments_common.broker import Publisher
from payments_common.errors import ApiError
from payments_common.merchant_webhooks import EndpointCreate, EndpointUpdate
from payments_common.timeutil import utcnow

from .conftest import BrokerNames, migrated_schema
from .helpers import eventually
from .webhook_receivers import MapResolver, receiver

pytestmark = pytest.mark.integration

TOKEN = "internal-token-for-the-webhook-endpoints-proxy"
MERCHANT, OTHER = "merch_proxy_a", "merch_proxy_b"


@dataclass
class World:
    deps: Deps
    exchange: str
    base_url: str
    session: aiohttp.ClientSession


@pytest.fixture
async def world(database_dsn: str, names: BrokerNames) -> AsyncIterator[World]:
    exchange = names.exchange()
    spec = names.spec(exchange=exchange, routing_key="merchant.#")
    settings = Settings(
        DATABASE_URL=database_dsn,
        INTERNAL_API_TOKEN=TOKEN,
        WEBHOOK_ALLOWED_HTTP_HOSTS="127.0.0.1",
        WEBHOOK_RETRY_BASE_SECONDS=0.05,
        WEBHOOK_RETRY_MAX_DELAY_SECONDS=0.2,
        WEBHOOK_POLL_INTERVAL_SECONDS=0.05,
    )
    resolver = MapResolver({"hooks.example.com": "93.184.216.34", "internal.example.com": "10.0.0.7"})
    async with (
        migrated_schema(database_dsn, "payments_common", "merchant_webhooks") as (schema, _),
        migrated_schema(database_dsn, "payments_common", "order_svc") as (_, order_pool),
    ):
        app = await create_app(settings, schema=schema, queue=spec, resolver=resolver)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        try:
            async with aiohttp.ClientSession() as session:
                base_url = str(server.make_url("")).rstrip("/")
                client = MerchantWebhooksClient(session, base_url, TOKEN)
                deps = Deps(pool=order_pool, payments=None, webhooks=client)  # type: ignore[arg-type]
                yield World(deps, exchange, base_url, session)
        finally:
            await server.close()


async def refused(call: Any) -> ApiError:
    with pytest.raises(ApiError) as caught:
        await call
    return caught.value


async def test_endpoints_are_the_merchants_own_native_and_v1(world: World) -> None:
    deps = world.deps
    created = await service.create_endpoint(
        deps, MERCHANT, EndpointCreate(url="https://hooks.example.com/in", events=["payment.captured"])
    )
    assert created.id.startswith("whep_") and created.secret.startswith("whsec_")
    assert (created.merchantId, created.status, created.events) == (MERCHANT, "enabled", ["payment.captured"])

    shown = await service.get_endpoint(deps, MERCHANT, created.id)
    assert shown.id == created.id and not hasattr(shown, "secret")
    assert [e.id for e in (await service.list_endpoints(deps, MERCHANT)).items] == [created.id]
    # another merchant's id is not found, whatever it asks
    assert (await refused(service.get_endpoint(deps, OTHER, created.id))).status == 404
    assert (await refused(service.delete_endpoint(deps, OTHER, created.id))).status == 404
    assert (await service.list_endpoints(deps, OTHER)).items == []

    changed = await service.update_endpoint(deps, MERCHANT, created.id, EndpointUpdate(status="disabled"))
    assert (changed.status, changed.events, changed.url) == ("disabled", ["payment.captured"], created.url)
    webhook = await v1.fetch(deps, MERCHANT, created.id)
    assert (webhook.entity, webhook.active, webhook.disabled_reason) == ("webhook", False, "merchant")
    assert webhook.created_at == int(created.createdAt.timestamp())
    resumed = await v1.edit(deps, MERCHANT, created.id, EditWebhookV1(active=True, events=["*"]))
    assert (resumed.active, resumed.events, resumed.disabled_reason) == (True, ["*"], None)

    rotated = await service.rotate_secret(deps, MERCHANT, created.id)
    assert rotated.secret != created.secret and rotated.previousSecretExpiresAt is not None
    again = await v1.rotate_secret(deps, MERCHANT, created.id)
    assert again.secret not in (created.secret, rotated.secret)
    assert again.previous_secret_expires_at is not None and again.previous_secret_expires_at > 0

    v1_created = await v1.create(
        deps, MERCHANT, CreateWebhookV1(url="https://hooks.example.com/v1", events=["refund.processed"])
    )
    assert v1_created.secret.startswith("whsec_") and v1_created.active
    assert [w.id for w in await v1.list_webhooks(deps, MERCHANT)] == [created.id, v1_created.id]

    assert await service.delete_endpoint(deps, MERCHANT, created.id) == created.id
    gone = await refused(service.get_endpoint(deps, MERCHANT, created.id))
    assert (gone.status, gone.code) == (404, "NOT_FOUND")
    assert await v1.delete(deps, MERCHANT, v1_created.id) == v1_created.id
    assert await v1.list_webhooks(deps, MERCHANT) == []


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://hooks.example.com/in", "https"),
        ("https://internal.example.com/in", "private"),
        ("https://169.254.169.254/latest/meta-data", "link-local"),
    ],
)
async def test_the_process_refusals_pass_through_with_their_status_and_field(
    world: World, url: str, words: str
) -> None:
    error = await refused(service.create_endpoint(world.deps, MERCHANT, EndpointCreate(url=url, events=["*"])))
    assert (error.status, error.code, error.field) == (400, "BAD_REQUEST_ERROR", "url")
    assert words in error.description


async def test_malformed_ids_are_not_found_without_a_call(world: World) -> None:
    # a path of the internal API smuggled in an id never reaches it
    for endpoint_id in ("../../admin/webhook-deliveries", "whep_1/rotate-secret", "pay_123", ""):
        error = await refused(service.get_endpoint(world.deps, MERCHANT, endpoint_id))
        assert (error.status, error.code) == (404, "NOT_FOUND")
    error = await refused(service.redeliver(world.deps, MERCHANT, "whdl_../x"))
    assert error.status == 404


async def test_a_wrong_token_or_no_process_is_a_503(world: World, unused_tcp_port: int) -> None:
    wrong = replace(world.deps, webhooks=MerchantWebhooksClient(world.session, world.base_url, "not-the-token"))
    error = await refused(service.list_endpoints(wrong, MERCHANT))
    assert (error.status, error.code) == (503, "SERVICE_UNAVAILABLE")
    assert "not-the-token" not in error.description

    down = replace(
        world.deps, webhooks=MerchantWebhooksClient(world.session, f"http://127.0.0.1:{unused_tcp_port}", TOKEN)
    )
    error = await refused(
        service.create_endpoint(down, MERCHANT, EndpointCreate(url="https://x.example", events=["*"]))
    )
    assert (error.status, error.code) == (503, "SERVICE_UNAVAILABLE")
    assert (await refused(service.list_endpoints(replace(world.deps, webhooks=None), MERCHANT))).status == 503


async def _relay(world: World, publisher: Publisher, order_id: str) -> list[str]:
    """Publish order-svc's merchant events of the order as its relay does, to the test's exchange."""
    rows = await world.deps.pool.fetch(
        "SELECT id, routing_key, payload, event_type FROM outbox WHERE aggregate_id = $1 AND event_type = $2",
        order_id,
        events.MERCHANT_EVENT_TYPE,
    )
    for row in rows:
        await publisher.publish(
            world.exchange,
            row["routing_key"],
            orjson.dumps(row["payload"]),
            message_id=str(row["id"]),
            message_type=row["event_type"],
        )
    return [row["payload"]["id"] for row in rows]


async def test_a_payment_applied_by_order_svc_reaches_the_merchants_endpoint_signed_and_logged(
    world: World, publisher: Publisher
) -> None:
    deps = world.deps
    async with receiver() as server:
        endpoint = await service.create_endpoint(deps, MERCHANT, EndpointCreate(url=server.url("/in"), events=["*"]))
        order_id, payment_id = ids.new_id(ids.ORDER), ids.new_id(ids.PAYMENT)
        async with deps.pool.acquire() as conn:
            await OrderRepository(conn).insert(order_id, MERCHANT, 2500, "INR", None, None)
        now = utcnow()
        snapshot = events.PaymentSnapshot(
            id=payment_id,
            orderId=order_id,
            merchantId=MERCHANT,
            amount=2500,
            currency="INR",
            status="SUCCESS",
            version=2,
            createdAt=now - timedelta(seconds=1),
            updatedAt=now,
            gatewayPaymentId="gw_1",
            signature="s",
        )
        await apply_payment_event(deps, "m-1", events.PaymentEvent(type="payment.succeeded", payment=snapshot))
        relayed = await _relay(world, publisher, order_id)
        expected = {event_id(payment_id, "payment.captured"), event_id(order_id, "order.paid")}
        assert set(relayed) == expected

        await eventually(lambda: len(server.received) >= 2, 10, "both events delivered")
        for request in server.received:
            body = request.body.decode()
            assert razorpay.Utility(None).verify_webhook_signature(
                body, request.headers["X-Razorpay-Signature"], endpoint.secret
            ) in (None, True)
            verified = standardwebhooks.Webhook(endpoint.secret).verify(request.body, request.headers)
            assert verified["account_id"] == MERCHANT
            assert request.headers["X-Razorpay-Event-Id"] == request.headers["webhook-id"]
            assert verified["payload"]["payment"]["entity"]["id"] == payment_id
        assert {r.headers["webhook-id"] for r in server.received} == expected

        async def logged() -> bool:
            shown = await service.endpoint_deliveries(deps, MERCHANT, endpoint.id, 10)
            return len(shown.items) == 2 and all(d.status == "delivered" for d in shown.items)

        await eventually(logged, 5, "both deliveries logged as delivered")
        log = await v1.deliveries(deps, MERCHANT, endpoint.id, 10)
        assert {d.event_id for d in log} == expected and all(d.webhook_id == endpoint.id for d in log)
        assert all(d.attempts[0].status_code == 200 for d in log)

        # a redelivery, asked through order-svc: the same event again, under the same id
        first = log[0]
        assert (await refused(v1.redeliver(deps, OTHER, first.id))).status == 404
        again = await v1.redeliver(deps, MERCHANT, first.id)
        assert (again.id, again.status) == (first.id, "pending")
        await eventually(lambda: len(server.received) == 3, 5, "the redelivery")
        assert server.received[-1].headers["webhook-id"] == first.event_id
