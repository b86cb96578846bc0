"""`GET /admin/analytics?from=&to=&merchant=&bucket=`, behind the admin API's bearer guard (payment_svc.admin)."""

from __future__ import annotations

from aiohttp import web

from payment_svc.admin.http import POOL
from payment_svc.analytics.repository import payment_analytics
from payments_common.admin import window_query
from payments_common.admin_api.analytics import PaymentAnalytics
from payments_common.openapi import model_response


async def analytics(request: web.Request) -> web.Response:
    window = window_query(request)
    async with request.app[POOL].acquire() as conn:
        figures = await payment_analytics(conn, window.since, window.until, window.merchant, window.bucket)
    return model_response(PaymentAnalytics.model_validate({**window.echo(), **figures}))


def add_routes(app: web.Application) -> None:
    app.router.add_get("/admin/analytics", analytics)
