"""Composition root: the verification keys and the broker sink, wired once."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from payments_common import health, topology
from payments_common.http import base_app
from webhook_gateway import openapi
from webhook_gateway.ingress import http as ingress_http
from webhook_gateway.ingress import limits
from webhook_gateway.ingress.counting import counting_middleware
from webhook_gateway.ingress.publishing import BrokerSink, Destination, EventSink
from webhook_gateway.payments import http as payments_http
from webhook_gateway.refunds import http as refunds_http
from webhook_gateway.settings import Settings

BROKER_SINK = web.AppKey("broker_sink", BrokerSink)


async def _broker_lifecycle(app: web.Application) -> AsyncIterator[None]:
    sink = app[BROKER_SINK]
    sink.start()
    try:
        yield
    finally:
        await sink.close()


async def create_app(
    settings: Settings,
    *,
    destination: Destination | None = None,
    sink: EventSink | None = None,
) -> web.Application:
    """`sink` replaces the broker (unit tests); `destination` redirects the publishes (integration tests)."""
    app = base_app(max_body_bytes=settings.MAX_BODY_BYTES, success_flag=True)
    limits.install(app, settings)
    # outside the ingress guard: a webhook is counted before any check, and whatever refused it
    app.middlewares.insert(app.middlewares.index(limits.guard_middleware), counting_middleware)
    app[ingress_http.VERIFICATION] = ingress_http.Verification(
        webhook_keys=tuple(settings.webhook_keys()),
        payment_signing_keys=tuple(settings.payment_signing_keys()),
        tolerance_seconds=settings.WEBHOOK_TOLERANCE_SECONDS,
    )
    if sink is None:
        broker_sink = BrokerSink(
            settings.AMQP_URL.get_secret_value(),
            destination or Destination(queue=topology.PAYMENT_SVC_WEBHOOKS.with_retry_delays(settings.retry_delays_ms)),
            timeout=settings.PUBLISH_TIMEOUT_SECONDS,
        )
        app[BROKER_SINK] = broker_sink
        # ready once the background set-up has a connection and a publisher, unready while they are down
        check = health.broker_check(lambda: broker_sink.connection, publisher_getter=lambda: broker_sink.publisher)
        health.readiness(app).add("broker", check)
        app.cleanup_ctx.append(_broker_lifecycle)
        sink = broker_sink
    app[ingress_http.SINK] = sink
    payments_http.add_routes(app)
    refunds_http.add_routes(app)
    openapi.add_route(app)
    return app
