"""GET /webhooks (the deliveries), GET /webhooks/{id} (one delivery's attempts) and
POST /webhooks/{id}/redeliver."""

from __future__ import annotations

from urllib.parse import quote

from aiohttp import web

from payments_common.logging import get_logger
from payments_console.admin_api.client import AdminApiError, NotFound
from payments_console.auth import service as auth_service
from payments_console.auth.http import AUTH
from payments_console.deps import ADMIN_API
from payments_console.http import SESSION, error_page, redirect, render
from payments_console.webhooks.domain import STATUSES, FilterError, delivery_filters, delivery_id_of

log = get_logger(__name__)


async def listing(request: web.Request) -> web.Response:
    try:
        params = delivery_filters(request.query)
    except FilterError as exc:
        return error_page(request, 400, "That search cannot be run", str(exc))
    try:
        deliveries, error = (await request.app[ADMIN_API].webhook_deliveries(params)).items, None
    except AdminApiError as exc:
        deliveries, error = [], str(exc)
    context = {"query": dict(request.query), "deliveries": deliveries, "error": error, "statuses": STATUSES}
    return render(request, "webhooks.html", context)


async def show(request: web.Request) -> web.Response:
    delivery_id = delivery_id_of(request.match_info["delivery_id"])
    if delivery_id is None:
        return error_page(request, 404, "No such delivery", "")
    try:
        delivery = await request.app[ADMIN_API].webhook_delivery(delivery_id)
    except NotFound:
        return error_page(request, 404, "No such delivery", f"merchant-webhooks has no delivery {delivery_id}.")
    except AdminApiError as exc:
        return error_page(request, 502, "The delivery could not be read", str(exc))
    redelivered = request.query.get("redelivered") == "1"
    return render(request, "webhook_delivery.html", {"d": delivery, "redelivered": redelivered})


async def redeliver(request: web.Request) -> web.Response:
    """A new series of attempts of the same event (same id, same body) to the same endpoint."""
    delivery_id = delivery_id_of(request.match_info["delivery_id"])
    if delivery_id is None:
        return error_page(request, 404, "No such delivery", "")
    operator = request[SESSION].operator
    try:
        delivery = await request.app[ADMIN_API].redeliver_webhook(delivery_id)
    except NotFound:
        return error_page(request, 404, "No such delivery", f"merchant-webhooks has no delivery {delivery_id}.")
    except AdminApiError as exc:
        return error_page(request, 502, "The delivery was not redelivered", str(exc))
    outcome = f"{delivery.event} {delivery.eventId} to {delivery.endpointId}: {delivery.status}"
    log.info("console.webhook_redelivered", operator=operator, delivery=delivery_id)
    await auth_service.record_action(
        request.app[AUTH], operator, "webhook.redeliver", f"delivery {delivery_id}", outcome
    )
    return redirect(f"/webhooks/{quote(delivery_id, safe='')}?redelivered=1")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/webhooks", listing)
    app.router.add_get("/webhooks/{delivery_id}", show)
    app.router.add_post("/webhooks/{delivery_id}/redeliver", redeliver)
