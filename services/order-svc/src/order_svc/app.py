"""Composition root: the pool, the broker, the payments client, the routes and the consumers, wired once."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta

from aiohttp import web

from order_svc import openapi
from order_svc.access import limits
from order_svc.access.http import KEYS, auth_middleware
from order_svc.access.keyring import KeyRing
from order_svc.admin import http as admin_http
from order_svc.deps import DEPS, Deps
from order_svc.emails.messages import PaymentEmailRequested
from order_svc.emails.service import MailerDeps, mailer_deps, send_endpoint_disabled_email, send_payment_email
from order_svc.idempotency import http as idempotency
from order_svc.idempotency.domain import fingerprint_keys
from order_svc.idempotency.service import purge_forever
from order_svc.merchants import http as merchants_http
from order_svc.merchants import service as merchants
from order_svc.merchants.repository import stored_key
from order_svc.merchants.signing import KeySecrets
from order_svc.payments.client import PaymentsClient
from order_svc.payments.service import payment_event_step
from order_svc.refunds.service import refund_event_step
from order_svc.settings import SCHEMA, Settings
from order_svc.subscriptions.scheduler import Scheduler
from order_svc.v1 import http as v1
from order_svc.v1.subscriptions.http import SCHEDULER_WAKE
from order_svc.webhook_endpoints.client import MerchantWebhooksClient
from payments_common import broker, health, metrics, observability, topology
from payments_common.consumer import Consumes, by_message_type, handler, start_consumers
from payments_common.events import WEBHOOK_ENDPOINT_DISABLED_TYPE, PaymentEvent, RefundEvent, WebhookEndpointDisabled
from payments_common.http import base_app
from payments_common.openapi import add_document_route, add_routes
from payments_common.startup import open_pool_and_session
from payments_common.tasks import cancel_and_wait, start_outbox_work

# the queues of the consumer table below, whose dead-letter queues /metrics reports the depth of
CONSUMED = (topology.ORDER_SVC_PAYMENT_EVENTS, topology.ORDER_SVC_REFUND_EVENTS, topology.ORDER_SVC_EMAILS)


def consumers(deps: Deps, mailer: MailerDeps, settings: Settings) -> list[Consumes]:
    """order-svc's consumer table: a queue, what its messages are, and the step each one takes."""
    return [
        Consumes(topology.ORDER_SVC_PAYMENT_EVENTS, handler(PaymentEvent, payment_event_step(deps))),
        Consumes(topology.ORDER_SVC_REFUND_EVENTS, handler(RefundEvent, refund_event_step(deps))),
        # a prefetch of its own: each email in flight holds a pool connection while its SMTP server answers
        Consumes(
            topology.ORDER_SVC_EMAILS,
            by_message_type(
                {
                    WEBHOOK_ENDPOINT_DISABLED_TYPE: handler(
                        WebhookEndpointDisabled, send_endpoint_disabled_email(mailer)
                    )
                },
                default=handler(PaymentEmailRequested, send_payment_email(mailer)),
            ),
            prefetch=settings.MAILER_PREFETCH,
        ),
    ]


def install_routes(app: web.Application) -> None:
    """The client API's routes (each feature's `ROUTES`, which the document also reads) and the document."""
    add_routes(app, openapi.ROUTES)
    add_document_route(app, openapi.document)


async def create_app(settings: Settings) -> web.Application:
    app = base_app(max_body_bytes=settings.MAX_BODY_BYTES)
    limits.install(app, settings, authenticate=auth_middleware)
    idempotency.install(
        app,
        timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS),
        pool_of=lambda started: started[DEPS].pool,
        fingerprint_key=fingerprint_keys(settings.payment_signing_keys()[0]),
    )
    # the keys are read from the database once the pool exists (`resources`), through a short cache
    app[KEYS] = KeyRing(lambda key_id: stored_key(app[DEPS].pool, key_id))
    v1.install(app)
    app[SCHEDULER_WAKE] = asyncio.Event()
    install_routes(app)
    admin_http.add_routes(app, settings.ADMIN_TOKEN)
    merchants_http.add_routes(app)
    live = health.Live()
    health.register(app, live, schema=SCHEMA, components=("payments_common", "order_svc"), broker=True)
    observability.on_scrape(app, metrics.dead_letter_depth(lambda: live.connection, CONSUMED))

    async def resources(app: web.Application) -> AsyncIterator[None]:
        # an exit stack, so that a failure half-way through start-up still closes what was opened
        async with contextlib.AsyncExitStack() as stack:
            pool, session = await open_pool_and_session(
                stack, live, settings.DATABASE_URL, SCHEMA, settings.DB_POOL_SIZE, settings.PAYMENT_SVC_TIMEOUT_SECONDS
            )
            deps = Deps(
                pool=pool,
                payments=PaymentsClient(session, settings.PAYMENT_SVC_URL, settings.internal_api_token()),
                signing_keys=settings.payment_signing_keys(),
                webhooks=MerchantWebhooksClient(session, settings.MERCHANT_WEBHOOKS_URL, settings.internal_api_token()),
                checkout_url=settings.CHECKOUT_URL,
                key_secrets=KeySecrets(
                    pool,
                    settings.sealer(),
                    {key.key_id: key.secret.get_secret_value() for key in settings.api_keys().values()},
                ),
            )
            app[DEPS] = deps
            # API_KEYS is the dev bootstrap: its merchants and keys, made or brought up to date before serving
            await merchants.seed(pool, settings.api_keys(), settings.sealer())
            connection, publisher = await stack.enter_async_context(
                broker.messaging(settings.AMQP_URL.get_secret_value())
            )
            live.connection, live.publisher = connection, publisher
            live.consumers = await start_consumers(
                stack,
                connection,
                publisher,
                consumers(deps, mailer_deps(pool, settings), settings),
                # the relay publishes `order.paid` to payment-svc, the email requests to our own mailer and the
                # merchant events to merchant-webhooks: each queue must exist before its first mandatory publish
                publishes_into=(
                    topology.PAYMENT_SVC_ORDER_EVENTS,
                    topology.ORDER_SVC_EMAILS,
                    topology.MERCHANT_WEBHOOKS_EVENTS,
                ),
                retry_delays_ms=settings.retry_delays_ms,
                prefetch=settings.CONSUMER_PREFETCH,
            )
            start_outbox_work(stack, pool, publisher, settings, SCHEMA)
            purge = asyncio.create_task(purge_forever(pool), name="idempotency-purge")
            stack.push_async_callback(cancel_and_wait, purge)
            # every replica runs it: its steps lock what they work on with SKIP LOCKED (scheduler.py)
            scheduler = Scheduler(deps, settings.subscription_retry_days(), wake=app[SCHEDULER_WAKE])
            schedule = asyncio.create_task(
                scheduler.run_forever(settings.SUBSCRIPTION_SCHEDULER_INTERVAL_SECONDS), name="subscription-scheduler"
            )
            stack.push_async_callback(cancel_and_wait, schedule)
            yield

    app.cleanup_ctx.append(resources)
    return app
