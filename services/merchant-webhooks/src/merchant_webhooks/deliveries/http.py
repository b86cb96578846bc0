"""The internal API of a merchant's delivery log: an endpoint's deliveries, newest first, and a redelivery.
Behind the `/internal/` token check the endpoints' routes install."""

from __future__ import annotations

from aiohttp import web

from merchant_webhooks.deliveries import schemas
from merchant_webhooks.deliveries.service import DeliveryDeps, endpoint_deliveries, redeliver
from payments_common.admin import int_query
from payments_common.openapi import model_response

DEPS = web.AppKey("delivery_deps", DeliveryDeps)
DEFAULT_LIMIT = 25
MAX_LIMIT = 100


async def get_deliveries(request: web.Request) -> web.Response:
    limit = int_query(request, "limit", DEFAULT_LIMIT, MAX_LIMIT)
    shown = await endpoint_deliveries(
        request.app[DEPS], request.match_info["merchant_id"], request.match_info["endpoint_id"], limit
    )
    return model_response(schemas.delivery_list(shown))


async def post_redeliver(request: web.Request) -> web.Response:
    shown = await redeliver(request.app[DEPS], request.match_info["delivery_id"], request.match_info["merchant_id"])
    return model_response(schemas.delivery(shown), status=202)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/internal/merchants/{merchant_id}/webhook-endpoints/{endpoint_id}/deliveries", get_deliveries)
    app.router.add_post("/internal/merchants/{merchant_id}/webhook-deliveries/{delivery_id}/redeliver", post_redeliver)
