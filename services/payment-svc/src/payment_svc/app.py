"""Composition root: the pool, the broker, the gateway client, the routes and the consumer table, wired once."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator

from aiohttp import web

from payment_svc.admin import http as admin_http
from payment_svc.admin.repository import count_open_anomalies
from payment_svc.analytics import http as analytics_http
from payment_svc.attempts import http as attempts_http
from payment_svc.attempts.service import Deps, apply_webhook, confirm_order_paid
from payment_svc.gateway.client import GatewayClient
from payment_svc.reconciliation.reconciler import Reconciler
from payment_svc.refunds import http as refunds_http
from payment_svc.refunds.service import apply_refund_webhook, send_refund
from payment_svc.settings import SCHEMA, Settings
from payments_common import broker, health, metrics, observability, topology
from payments_common.consumer import Consumes, by_message_type, handler, start_consumers
from payments_common.events import (
    REFUND_WEBHOOK_TYPE,
    OrderPaidEvent,
    RefundEvent,
    RefundWebhookEnvelope,
    WebhookEnvelope,
)
from payments_common.http import base_app
from payments_common.startup import open_pool_and_session
from payments_common.tasks import cancel_and_wait, start_outbox_work

# the queues payment-svc publishes into through its outbox (order-svc's, and its own refund requests)
PUBLISHES_INTO = (
    topology.ORDER_SVC_PAYMENT_EVENTS,
    topology.ORDER_SVC_REFUND_EVENTS,
    topology.PAYMENT_SVC_REFUND_REQUESTS,
)


# the queues of the consumer table below, whose dead-letter queues /metrics reports the depth of
CONSUMED = (topology.PAYMENT_SVC_WEBHOOKS, topology.PAYMENT_SVC_ORDER_EVENTS, topology.PAYMENT_SVC_REFUND_REQUESTS)


def consumers(deps: Deps) -> list[Consumes]:
    """What payment-svc consumes: each queue, and the step each of its messages takes."""
    # one queue for both reports: the message type, kept through retry tiers and dead-letter requeues
    # (unlike the routing key), says which one this is
    webhooks = by_message_type(
        {REFUND_WEBHOOK_TYPE: handler(RefundWebhookEnvelope, functools.partial(apply_refund_webhook, deps))},
        handler(WebhookEnvelope, functools.partial(apply_webhook, deps)),
    )

    async def order_paid(message_id: str, event: OrderPaidEvent, _: str | None) -> None:
        await confirm_order_paid(deps, message_id, event)

    return [
        Consumes(topology.PAYMENT_SVC_WEBHOOKS, webhooks),
        Consumes(topology.PAYMENT_SVC_ORDER_EVENTS, handler(OrderPaidEvent, order_paid)),
        Consumes(topology.PAYMENT_SVC_REFUND_REQUESTS, handler(RefundEvent, functools.partial(send_refund, deps))),
    ]


async def open_anomalies(live: health.Live) -> int:
    if live.pool is None:
        raise RuntimeError("no database pool yet")
    async with live.pool.acquire() as conn:
        return await count_open_anomalies(conn)


async def create_app(settings: Settings) -> web.Application:
    app = base_app(max_body_bytes=settings.MAX_BODY_BYTES)
    attempts_http.add_routes(app, settings.internal_api_tokens())
    refunds_http.add_routes(app)
    admin_http.add_routes(app, settings.ADMIN_TOKEN)
    analytics_http.add_routes(app)
    live = health.Live()
    health.register(app, live, schema=SCHEMA, components=("payments_common", "payment_svc"), broker=True)
    observability.on_scrape(app, metrics.dead_letter_depth(lambda: live.connection, CONSUMED))
    observability.on_scrape(app, metrics.anomalies_open_from(lambda: open_anomalies(live)))

    async def resources(app: web.Application) -> AsyncIterator[None]:
        # an exit stack, so that a failure half-way through start-up still closes what was opened
        async with contextlib.AsyncExitStack() as stack:
            pool, session = await open_pool_and_session(
                stack, live, settings.DATABASE_URL, SCHEMA, settings.DB_POOL_SIZE, settings.GATEWAY_TIMEOUT_SECONDS
            )
            connection, publisher = await stack.enter_async_context(
                broker.messaging(settings.AMQP_URL.get_secret_value())
            )
            deps = Deps(
                pool=pool,
                gateway=GatewayClient(session, settings.MOCK_GATEWAY_URL),
                signing_secret=settings.payment_signing_keys(),
            )
            app[attempts_http.DEPS] = deps
            reconciler = Reconciler(pool, deps.gateway, deps.signing_secret, settings.reconcile_config())
            app[admin_http.RECONCILER] = reconciler
            app[admin_http.CONNECTION] = connection
            app[admin_http.POOL] = pool
            # the queues published into are declared before any consumer or the outbox relay starts: the
            # relay's publishes are mandatory, so a queue missing at its first publish would fail it
            live.connection, live.publisher = connection, publisher
            live.consumers = await start_consumers(
                stack,
                connection,
                publisher,
                consumers(deps),
                publishes_into=PUBLISHES_INTO,
                retry_delays_ms=settings.retry_delays_ms,
                prefetch=settings.CONSUMER_PREFETCH,
            )
            start_outbox_work(stack, pool, publisher, settings, SCHEMA)
            reconcile_task = asyncio.create_task(
                reconciler.run_forever(settings.RECONCILE_INTERVAL_SECONDS), name="reconciler"
            )
            stack.push_async_callback(cancel_and_wait, reconcile_task)
            yield

    app.cleanup_ctx.append(resources)
    return app
