"""Composition root: the pool on the console's schema, the admin APIs' client, the templates, the session
and security middlewares and every feature's routes, wired once."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
from aiohttp import web

from payments_common import db, health, observability
from payments_console import http
from payments_console.admin_api.client import AdminApi, AdminClient
from payments_console.analytics import http as analytics_http
from payments_console.anomalies import http as anomalies_http
from payments_console.auth import http as auth_http
from payments_console.auth.domain import Throttle, parse_operators
from payments_console.auth.service import Auth
from payments_console.dead_letters import http as dead_letters_http
from payments_console.deps import ADMIN_API, SERVICES
from payments_console.health import http as health_http
from payments_console.payments import http as payments_http
from payments_console.settings import SCHEMA, Settings
from payments_console.webhooks import http as webhooks_http

STATIC = Path(__file__).parent / "static"
# the services the health page asks for readiness, in the order it shows them
SERVICE_NAMES = ("order-svc", "payment-svc", "webhook-gateway", "mock-gateway", "merchant-webhooks")
MAX_FORM_BYTES = 256 * 1024


def service_urls(settings: Settings) -> dict[str, str]:
    return {
        "order-svc": settings.ORDER_SVC_URL,
        "payment-svc": settings.PAYMENT_SVC_URL,
        "webhook-gateway": settings.WEBHOOK_GATEWAY_URL,
        "mock-gateway": settings.MOCK_GATEWAY_URL,
        "merchant-webhooks": settings.MERCHANT_WEBHOOKS_URL,
    }


async def create_app(settings: Settings, admin_api: AdminApi | None = None, schema: str = SCHEMA) -> web.Application:
    """`admin_api` replaces the HTTP client of the admin APIs, `schema` the console's own (the tests')."""
    operators = parse_operators(settings.CONSOLE_OPERATORS.get_secret_value())
    app = web.Application(
        client_max_size=MAX_FORM_BYTES,
        middlewares=[observability.metrics_middleware, http.security_headers, auth_http.session_middleware()],
    )
    # /healthz, /readyz (its database and migrations) and /metrics, as base_app gives every service
    observability.install(app)
    live = health.Live()
    health.register(app, live, schema=schema, components=("payments_console",))
    app[http.TEMPLATES] = http.environment()
    app[http.REFRESH_SECONDS] = settings.CONSOLE_REFRESH_SECONDS
    app[auth_http.COOKIE] = auth_http.CookiePolicy(settings.CONSOLE_COOKIE_SECURE, settings.CONSOLE_SESSION_TTL_SECONDS)
    app[SERVICES] = SERVICE_NAMES
    auth_http.add_routes(app)
    analytics_http.add_routes(app)
    payments_http.add_routes(app)
    dead_letters_http.add_routes(app)
    anomalies_http.add_routes(app)
    webhooks_http.add_routes(app)
    health_http.add_routes(app)
    app.router.add_static("/static/", STATIC, append_version=True)

    async def resources(app: web.Application) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            pool = await db.create_pool(settings.DATABASE_URL, schema, settings.DB_POOL_SIZE)
            stack.push_async_callback(pool.close)
            live.pool = pool
            app[auth_http.AUTH] = Auth(
                pool=pool,
                operators=operators,
                throttle=Throttle(settings.CONSOLE_LOGIN_BURST, settings.CONSOLE_LOGIN_REFILL_SECONDS),
                ttl_seconds=settings.CONSOLE_SESSION_TTL_SECONDS,
                idle_seconds=settings.CONSOLE_SESSION_IDLE_SECONDS,
            )
            if admin_api is None:
                session = await stack.enter_async_context(
                    aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=settings.ADMIN_API_TIMEOUT_SECONDS))
                )
                app[ADMIN_API] = AdminClient(session, service_urls(settings), settings.ADMIN_TOKEN.get_secret_value())
            else:
                app[ADMIN_API] = admin_api
            yield

    app.cleanup_ctx.append(resources)
    return app
