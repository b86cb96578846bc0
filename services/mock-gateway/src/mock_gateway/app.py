"""Composition root: the pool, the webhook sender with its shared HTTP session, the delivery worker."""

from __future__ import annotations

import contextlib
import random
from collections.abc import AsyncIterator

from aiohttp import web
from tenacity.wait import WaitBaseT

from mock_gateway.delivery.plan import Planner
from mock_gateway.delivery.sender import DEFAULT_WAIT, WebhookSender
from mock_gateway.delivery.worker import DeliveryWorker
from mock_gateway.http import PAYMENT_SIGNING_KEY, PLANNER, POOL, WORKER
from mock_gateway.payments import http as payments_http
from mock_gateway.refunds import http as refunds_http
from mock_gateway.settings import SCHEMA, Settings
from payments_common import db, health, ids
from payments_common.http import base_app


async def create_app(
    settings: Settings, *, schema: str = SCHEMA, retry_wait: WaitBaseT = DEFAULT_WAIT, poll_interval: float = 0.1
) -> web.Application:
    """`schema`, `retry_wait` and `poll_interval` let tests isolate and speed up what they run."""
    app = base_app(max_body_bytes=settings.MAX_BODY_BYTES)
    app[PLANNER] = Planner(
        rates=settings.fault_rates,
        settle_delay=settings.MOCK_GATEWAY_SETTLE_DELAY_MS / 1000,
        fault_delay=settings.MOCK_GATEWAY_FAULT_DELAY_MS / 1000,
        new_event_id=lambda: ids.new_id(ids.EVENT),
        rng=random.Random(settings.MOCK_GATEWAY_FAULT_SEED),
    )
    app[PAYMENT_SIGNING_KEY] = settings.payment_signing_key()
    live = health.Live()
    health.register(app, live, schema=schema, components=("mock_gateway",))

    async def resources(app: web.Application) -> AsyncIterator[None]:
        # an exit stack, so that a failure half-way through start-up still closes what was opened;
        # on the way down the worker stops first, as its sends use the session and the pool
        async with contextlib.AsyncExitStack() as stack:
            pool = await db.create_pool(settings.DATABASE_URL, schema, settings.DB_POOL_SIZE)
            stack.push_async_callback(pool.close)
            live.pool = pool
            # each delivery names its path under this URL (`gateway.deliveries.path`)
            sender = WebhookSender(
                settings.WEBHOOK_GATEWAY_URL,
                settings.webhook_signing_key(),
                timeout_seconds=settings.MOCK_GATEWAY_DELIVERY_TIMEOUT_SECONDS,
                wait=retry_wait,
            )
            await sender.open()
            stack.push_async_callback(sender.close)
            worker = DeliveryWorker(
                pool,
                sender,
                retry_window_seconds=settings.MOCK_GATEWAY_RETRY_WINDOW_SECONDS,
                poll_interval=poll_interval,
            )
            app[POOL] = pool
            app[WORKER] = worker
            worker.start()
            stack.push_async_callback(worker.close)
            yield

    app.cleanup_ctx.append(resources)
    payments_http.add_routes(app)
    refunds_http.add_routes(app)
    return app
