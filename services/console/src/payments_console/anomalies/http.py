"""GET /anomalies and POST /anomalies/{id}/resolve."""

from __future__ import annotations

from aiohttp import web

from payments_common.logging import get_logger
from payments_console.admin_api.client import AdminApiError, NotFound
from payments_console.anomalies.domain import REFUNDABLE_KINDS, ResolutionError, resolution_from_form
from payments_console.auth import service as auth_service
from payments_console.auth.http import AUTH
from payments_console.deps import ADMIN_API
from payments_console.http import SESSION, error_page, form_of, redirect, render

log = get_logger(__name__)


async def listing(request: web.Request) -> web.Response:
    include_resolved = request.query.get("resolved") == "1"
    try:
        found = (await request.app[ADMIN_API].anomalies(include_resolved=include_resolved)).anomalies
        error = None
    except AdminApiError as exc:
        found, error = [], str(exc)
    context = {"anomalies": found, "error": error, "include_resolved": include_resolved}
    return render(request, "anomalies.html", {**context, "refundable": REFUNDABLE_KINDS})


async def resolve(request: web.Request) -> web.Response:
    try:
        anomaly_id = int(request.match_info["anomaly_id"])
    except ValueError:
        return error_page(request, 404, "No such anomaly", "")
    try:
        resolution = resolution_from_form(await form_of(request))
    except ResolutionError as exc:
        return error_page(request, 400, "The anomaly was not resolved", str(exc))
    operator = request[SESSION].operator
    try:
        result = await request.app[ADMIN_API].resolve_anomaly(anomaly_id, operator, resolution.action, resolution.note)
    except NotFound:
        return error_page(request, 404, "No such anomaly", f"payment-svc has no anomaly {anomaly_id}.")
    except AdminApiError as exc:
        return error_page(request, 409 if exc.status == 409 else 502, "The anomaly was not resolved", exc.message)
    outcome = f"refund {result.refundId}" if result.refundId else "resolved"
    log.info("console.anomaly_resolved", operator=operator, anomaly=anomaly_id, action=resolution.action)
    await auth_service.record_action(
        request.app[AUTH], operator, f"anomaly.{resolution.action}", f"anomaly {anomaly_id}", outcome
    )
    return redirect(f"/anomalies?resolved=1#anomaly-{anomaly_id}")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/anomalies", listing)
    app.router.add_post("/anomalies/{anomaly_id}/resolve", resolve)
