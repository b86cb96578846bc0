"""order-svc's admin API, behind `ADMIN_TOKEN` (`payments_common.admin`): what the operators' console reads
of orders. `GET /admin/analytics/orders` and `GET /admin/orders/{order_id}`."""

from __future__ import annotations

from types import SimpleNamespace

from aiohttp import web
from pydantic import SecretStr

from order_svc.admin.repository import order_analytics, order_by_id
from order_svc.deps import DEPS
from payments_common.admin import admin_middleware, window_query
from payments_common.admin_api.analytics import OrderAnalytics
from payments_common.admin_api.orders import AdminOrder
from payments_common.errors import NOT_FOUND, ApiError
from payments_common.openapi import model_response
from payments_common.records import model_of


async def analytics(request: web.Request) -> web.Response:
    window = window_query(request)
    async with request.app[DEPS].pool.acquire() as conn:
        figures = await order_analytics(conn, window.since, window.until, window.merchant, window.bucket)
    return model_response(OrderAnalytics.model_validate({**window.echo(), **figures}))


async def order(request: web.Request) -> web.Response:
    async with request.app[DEPS].pool.acquire() as conn:
        row = await order_by_id(conn, request.match_info["order_id"])
    if row is None:
        raise ApiError(404, NOT_FOUND, "order not found")
    return model_response(model_of(AdminOrder, SimpleNamespace(**row)))


def add_routes(app: web.Application, token: SecretStr | None) -> None:
    app.middlewares.append(admin_middleware(token))
    app.router.add_get("/admin/analytics/orders", analytics)
    app.router.add_get("/admin/orders/{order_id}", order)
