"""The operators' admin API of deliveries (`ADMIN_TOKEN`, as every service's `/admin/`): the deliveries by
status, endpoint, merchant or event; one with its attempts; a redelivery. `payments-admin webhooks` calls it."""

from __future__ import annotations

from aiohttp import web
from pydantic import SecretStr

from merchant_webhooks.deliveries import schemas
from merchant_webhooks.deliveries.http import DEFAULT_LIMIT, DEPS, MAX_LIMIT
from merchant_webhooks.deliveries.service import get_delivery, redeliver, search_deliveries
from payments_common.admin import admin_middleware, int_query
from payments_common.errors import bad_request
from payments_common.openapi import model_response

STATUSES = ("pending", "delivered", "failed")


async def list_deliveries(request: web.Request) -> web.Response:
    status = request.query.get("status") or None
    if status is not None and status not in STATUSES:
        raise bad_request(f"status must be one of {', '.join(STATUSES)}", "status")
    shown = await search_deliveries(
        request.app[DEPS],
        merchant_id=request.query.get("merchant") or None,
        endpoint_id=request.query.get("endpoint") or None,
        status=status,
        event_id=request.query.get("event") or None,
        limit=int_query(request, "limit", DEFAULT_LIMIT, MAX_LIMIT),
    )
    return model_response(schemas.delivery_list(shown))


async def show_delivery(request: web.Request) -> web.Response:
    return model_response(schemas.delivery(await get_delivery(request.app[DEPS], request.match_info["delivery_id"])))


async def post_redeliver(request: web.Request) -> web.Response:
    shown = await redeliver(request.app[DEPS], request.match_info["delivery_id"])
    return model_response(schemas.delivery(shown), status=202)


def add_routes(app: web.Application, token: SecretStr | None) -> None:
    app.middlewares.append(admin_middleware(token))
    app.router.add_get("/admin/webhook-deliveries", list_deliveries)
    app.router.add_get("/admin/webhook-deliveries/{delivery_id}", show_delivery)
    app.router.add_post("/admin/webhook-deliveries/{delivery_id}/redeliver", post_redeliver)
