"""Composition root: the pool, the broker, the payments client, the handlers, wired once."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta

import aiohttp
from aiohttp import web

from order_svc import http, idempotency, limits
from order_svc.consumers import payment_events_handler, refund_events_handler
from order_svc.handlers import Deps
from order_svc.mailer import mailer_deps, payment_emails_handler
from order_svc.payments_client import PaymentsClient
from order_svc.settings import SCHEMA, Settings
from payments_common import broker, db, topology
from payments_common.consumer import start_consumer
from payments_common.http import base_app
from payments_common.tasks import cancel_and_wait, start_outbox_work


async def create_app(settings: Settings) -> web.Application:
    app = base_app(max_body_bytes=settings.MAX_BODY_BYTES)
    limits.install(app, settings, authenticate=http.auth_middleware)
    idempotency.install(
        app,
        timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS),
        pool_of=lambda started: started[http.DEPS].pool,
        fingerprint_key=idempotency.fingerprint_keys(settings.api_keys()),
    )
    app[http.API_KEYS] = settings.api_keys()
    http.add_routes(app)

    async def resources(app: web.Application) -> AsyncIterator[None]:
        # an exit stack, so that a failure half-way through start-up still closes what was opened
        async with contextlib.AsyncExitStack() as stack:
            pool = await db.create_pool(settings.DATABASE_URL, SCHEMA, settings.DB_POOL_SIZE)
            stack.push_async_callback(pool.close)
            session = await stack.enter_async_context(
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=settings.PAYMENT_SVC_TIMEOUT_SECONDS))
            )
            deps = Deps(
                pool=pool,
                payments=PaymentsClient(session, settings.PAYMENT_SVC_URL, settings.internal_api_token()),
                signing_keys=settings.payment_signing_keys(),
            )
            app[http.DEPS] = deps
            connection, publisher = await stack.enter_async_context(
                broker.messaging(settings.AMQP_URL.get_secret_value())
            )
            # the queue this service publishes into must exist before the relay's first mandatory publish
            delays = settings.retry_delays_ms
            await topology.declare_consumers_queue(
                connection, topology.PAYMENT_SVC_ORDER_EVENTS.with_retry_delays(delays)
            )
            # and so must the mailer's own queue, which the relay also publishes into
            await topology.declare_consumers_queue(connection, topology.ORDER_SVC_EMAILS.with_retry_delays(delays))
            start_outbox_work(stack, pool, publisher, settings, SCHEMA)
            purge = asyncio.create_task(idempotency.purge_forever(pool), name="idempotency-purge")
            stack.push_async_callback(cancel_and_wait, purge)
            await start_consumer(
                stack,
                connection,
                topology.ORDER_SVC_PAYMENT_EVENTS.with_retry_delays(delays),
                payment_events_handler(deps),
                publisher,
                prefetch=settings.CONSUMER_PREFETCH,
            )
            await start_consumer(
                stack,
                connection,
                topology.ORDER_SVC_REFUND_EVENTS.with_retry_delays(delays),
                refund_events_handler(deps),
                publisher,
                prefetch=settings.CONSUMER_PREFETCH,
            )
            # a prefetch of its own: each email in flight holds a pool connection while its SMTP server answers
            await start_consumer(
                stack,
                connection,
                topology.ORDER_SVC_EMAILS.with_retry_delays(delays),
                payment_emails_handler(mailer_deps(pool, settings)),
                publisher,
                prefetch=settings.MAILER_PREFETCH,
            )
            yield

    app.cleanup_ctx.append(resources)
    return app
