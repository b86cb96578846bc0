"""Composition root: the pool, the broker, the gateway client, the handlers, wired once."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from payment_svc import http
from payment_svc.consumers import webhook_handler
from payment_svc.gateway_client import GatewayClient
from payment_svc.handlers import Deps
from payment_svc.settings import SCHEMA, Settings
from payments_common import broker, db, topology
from payments_common.consumer import Consumer
from payments_common.http import base_app
from payments_common.outbox import OutboxRelay


async def create_app(settings: Settings) -> web.Application:
    app = base_app(max_body_bytes=settings.MAX_BODY_BYTES)
    http.add_routes(app)

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
                signing_secret=settings.PAYMENT_SIGNING_SECRET.get_secret_value().encode(),
            )
            app[http.DEPS] = deps
            # the topology this service publishes into must exist before the relay's first mandatory publish
            channel = await connection.channel()
            await topology.declare_queue(channel, topology.ORDER_SVC_PAYMENT_EVENTS)
            await channel.close()
            consumer = Consumer(
                connection,
                topology.PAYMENT_SVC_WEBHOOKS,
                webhook_handler(deps),
                publisher,
                prefetch=settings.CONSUMER_PREFETCH,
            )
            relay_task = asyncio.create_task(
                OutboxRelay(pool, publisher, dsn=settings.DATABASE_URL, schema=SCHEMA).run(), name="outbox-relay"
            )
            stack.push_async_callback(_cancel, relay_task)
            stack.push_async_callback(consumer.stop)
            await consumer.start()
            yield

    app.cleanup_ctx.append(resources)
    return app


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
