"""Composition root: the pool, the broker, the endpoints' HTTP client, the routes, the consumer and the
delivery worker, wired once."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from aiohttp import web
from aiohttp.abc import AbstractResolver

from merchant_webhooks.admin import http as admin_http
from merchant_webhooks.deliveries import http as deliveries_http
from merchant_webhooks.deliveries.messages import EVENTS_CONSUMER
from merchant_webhooks.deliveries.repository import DeliveryRepository
from merchant_webhooks.deliveries.service import DeliveryDeps, anyone_subscribed, receive_event
from merchant_webhooks.deliveries.worker import DeliveryWorker, WorkerConfig
from merchant_webhooks.egress.client import EndpointClient
from merchant_webhooks.endpoints import http as endpoints_http
from merchant_webhooks.endpoints.service import EndpointDeps
from merchant_webhooks.settings import SCHEMA, Settings
from payments_common import broker, db, health, metrics, observability, topology
from payments_common.consumer import Consumes, handler, start_consumers
from payments_common.events import MerchantEvent
from payments_common.http import base_app
from payments_common.inbox import claim_once
from payments_common.tasks import start_outbox_work
from payments_common.topology import QueueSpec

# the mailer's queue, which the endpoint-disabled alerts are published into through the outbox
PUBLISHES_INTO = (topology.ORDER_SVC_EMAILS,)


def consumers(pool_deps: DeliveryDeps, queue: QueueSpec) -> list[Consumes]:
    """What merchant-webhooks consumes: merchant events, each stored and fanned out once (inbox)."""
    step = claim_once(pool_deps.pool, EVENTS_CONSUMER, receive_event)

    async def received(message_id: str, event: MerchantEvent, correlation_id: str | None) -> None:
        if not await anyone_subscribed(pool_deps.pool, event):
            return
        await step(message_id, event, correlation_id)
        # committed: the worker can claim the new deliveries now
        pool_deps.wake()

    return [Consumes(queue, handler(MerchantEvent, received))]


async def create_app(
    settings: Settings,
    *,
    schema: str = SCHEMA,
    queue: QueueSpec = topology.MERCHANT_WEBHOOKS_EVENTS,
    resolver: AbstractResolver | None = None,
) -> web.Application:
    """`schema`, `queue` and `resolver` (the name lookup under the vetting) let tests isolate what they run."""
    app = base_app(max_body_bytes=settings.MAX_BODY_BYTES)
    endpoints_http.add_routes(app, settings.internal_api_tokens())
    deliveries_http.add_routes(app)
    admin_http.add_routes(app, settings.ADMIN_TOKEN)
    live = health.Live()
    health.register(app, live, schema=schema, components=("payments_common", "merchant_webhooks"), broker=True)
    observability.on_scrape(app, metrics.dead_letter_depth(lambda: live.connection, (queue,)))

    async def pending() -> int:
        if live.pool is None:
            raise RuntimeError("no database pool yet")
        async with live.pool.acquire() as conn:
            return await DeliveryRepository(conn).count_pending()

    observability.on_scrape(app, metrics.webhook_pending_from(pending))

    async def resources(app: web.Application) -> AsyncIterator[None]:
        # an exit stack, so that a failure half-way through start-up still closes what was opened; on the
        # way down the consumer stops first, then the worker, then the client its attempts use
        async with contextlib.AsyncExitStack() as stack:
            pool = await db.create_pool(settings.DATABASE_URL, schema, settings.DB_POOL_SIZE)
            stack.push_async_callback(pool.close)
            live.pool = pool
            rules = settings.egress_rules()
            client = EndpointClient(
                rules,
                timeout_seconds=settings.WEBHOOK_ATTEMPT_TIMEOUT_SECONDS,
                limit=settings.WEBHOOK_MAX_IN_FLIGHT,
                inner=resolver,
            )
            stack.push_async_callback(client.close)
            worker = DeliveryWorker(
                pool,
                client,
                settings.retry_policy(),
                WorkerConfig(
                    per_endpoint=settings.WEBHOOK_ENDPOINT_CONCURRENCY,
                    max_in_flight=settings.WEBHOOK_MAX_IN_FLIGHT,
                    timeout_seconds=settings.WEBHOOK_ATTEMPT_TIMEOUT_SECONDS,
                    poll_interval_seconds=settings.WEBHOOK_POLL_INTERVAL_SECONDS,
                ),
            )
            app[endpoints_http.DEPS] = EndpointDeps(
                pool=pool,
                rules=rules,
                resolver=client.resolver,
                secret_overlap_seconds=settings.WEBHOOK_SECRET_OVERLAP_SECONDS,
            )
            delivery_deps = DeliveryDeps(pool=pool, wake=worker.wake)
            app[deliveries_http.DEPS] = delivery_deps
            connection, publisher = await stack.enter_async_context(
                broker.messaging(settings.AMQP_URL.get_secret_value())
            )
            live.connection, live.publisher = connection, publisher
            worker.start()
            stack.push_async_callback(worker.close)
            live.consumers = await start_consumers(
                stack,
                connection,
                publisher,
                consumers(delivery_deps, queue),
                publishes_into=PUBLISHES_INTO,
                retry_delays_ms=settings.retry_delays_ms,
                prefetch=settings.CONSUMER_PREFETCH,
            )
            start_outbox_work(stack, pool, publisher, settings, schema)
            yield

    app.cleanup_ctx.append(resources)
    return app
