"""Composition root: the pool, the broker, the gateway client, the handlers, wired once."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from payment_svc import admin, http, refund_http
from payment_svc.consumers import order_events_handler, refund_requests_handler, webhook_handler
from payment_svc.gateway_client import GatewayClient
from payment_svc.handlers import Deps
from payment_svc.reconciler import Reconciler
from payment_svc.settings import SCHEMA, Settings
from payments_common import broker, db, topology
from payments_common.consumer import start_consumer
from payments_common.http import base_app
from payments_common.tasks import cancel_and_wait, start_outbox_work


async def create_app(settings: Settings) -> web.Application:
    app = base_app(max_body_bytes=settings.MAX_BODY_BYTES)
    http.add_routes(app, settings.internal_api_tokens())
    refund_http.add_routes(app)
    admin.add_routes(app, settings.ADMIN_TOKEN)

    async def resources(app: web.Application) -> AsyncIterator[None]:
        # an exit stack, so that a failure half-way through start-up still closes what was opened
        async with contextlib.AsyncExitStack() as stack:
            pool = await db.create_pool(settings.DATABASE_URL, SCHEMA, settings.DB_POOL_SIZE)
            stack.push_async_callback(pool.close)
            session = await stack.enter_async_context(
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=settings.GATEWAY_TIMEOUT_SECONDS))
            )
            connection, publisher = await stack.enter_async_context(
                broker.messaging(settings.AMQP_URL.get_secret_value())
            )
            deps = Deps(
                pool=pool,
                gateway=GatewayClient(session, settings.MOCK_GATEWAY_URL),
                signing_secret=settings.payment_signing_keys(),
            )
            app[http.DEPS] = deps
            # the topology this service publishes into must exist before the relay's first mandatory publish
            delays = settings.retry_delays_ms
            for published_into in (
                topology.ORDER_SVC_PAYMENT_EVENTS,
                topology.ORDER_SVC_REFUND_EVENTS,
                topology.PAYMENT_SVC_REFUND_REQUESTS,
            ):
                await topology.declare_consumers_queue(connection, published_into.with_retry_delays(delays))
            reconciler = Reconciler(pool, deps.gateway, deps.signing_secret, settings.reconcile_config())
            app[admin.RECONCILER] = reconciler
            app[admin.CONNECTION] = connection
            app[admin.POOL] = pool
            start_outbox_work(stack, pool, publisher, settings, SCHEMA)
            reconcile_task = asyncio.create_task(
                reconciler.run_forever(settings.RECONCILE_INTERVAL_SECONDS), name="reconciler"
            )
            stack.push_async_callback(cancel_and_wait, reconcile_task)
            for spec, handler in (
                (topology.PAYMENT_SVC_WEBHOOKS, webhook_handler(deps)),
                (topology.PAYMENT_SVC_ORDER_EVENTS, order_events_handler(deps)),
                (topology.PAYMENT_SVC_REFUND_REQUESTS, refund_requests_handler(deps)),
            ):
                await start_consumer(
                    stack,
                    connection,
                    spec.with_retry_delays(delays),
                    handler,
                    publisher,
                    prefetch=settings.CONSUMER_PREFETCH,
                )
            yield

    app.cleanup_ctx.append(resources)
    return app
