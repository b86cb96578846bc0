"""Composition root: the store, the webhook sender with its shared HTTP session, the settlement."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web
from tenacity.wait import WaitBaseT

from mock_gateway import views
from mock_gateway.delivery import DEFAULT_WAIT, WebhookSender
from mock_gateway.settings import Settings
from mock_gateway.settlement import Settlement
from mock_gateway.store import PaymentStore
from payments_common.http import base_app

SENDER = web.AppKey("sender", WebhookSender)


async def _lifecycle(app: web.Application) -> AsyncIterator[None]:
    await app[SENDER].open()
    try:
        yield
    finally:
        # in-flight deliveries first: they use the sender's session
        await app[views.SETTLEMENT].close()
        await app[SENDER].close()


async def create_app(settings: Settings, *, retry_wait: WaitBaseT = DEFAULT_WAIT) -> web.Application:
    """`retry_wait` lets tests retry without the production backoff."""
    app = base_app(max_body_bytes=settings.MAX_BODY_BYTES)
    sender = WebhookSender(
        f"{settings.WEBHOOK_GATEWAY_URL}/webhook/payment",
        settings.webhook_signing_key(),
        timeout_seconds=settings.MOCK_GATEWAY_DELIVERY_TIMEOUT_SECONDS,
        retry_window_seconds=settings.MOCK_GATEWAY_RETRY_WINDOW_SECONDS,
        wait=retry_wait,
    )
    app[SENDER] = sender
    app[views.STORE] = PaymentStore()
    app[views.SETTLEMENT] = Settlement(sender, settings.MOCK_GATEWAY_SETTLE_DELAY_MS / 1000)
    app[views.PAYMENT_SIGNING_KEY] = settings.payment_signing_key()
    app.cleanup_ctx.append(_lifecycle)
    views.add_routes(app)
    return app
