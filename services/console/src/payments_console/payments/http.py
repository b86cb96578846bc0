"""GET /payments (the search) and GET /payments/{id} (one payment's page)."""

from __future__ import annotations

from aiohttp import web

from payments_console.admin_api.client import AdminApiError, NotFound
from payments_console.deps import ADMIN_API
from payments_console.http import error_page, render
from payments_console.payments.domain import METHODS, STATUSES, SearchError, search_params


async def search(request: web.Request) -> web.Response:
    try:
        params = search_params(request.query)
    except SearchError as exc:
        return error_page(request, 400, "That search cannot be run", str(exc))
    results = None
    error = None
    if params is not None:
        try:
            results = (await request.app[ADMIN_API].search_payments(params)).payments
        except AdminApiError as exc:
            error = str(exc)
    context = {"query": dict(request.query), "results": results, "error": error}
    return render(request, "payments.html", {**context, "statuses": STATUSES, "methods": METHODS})


async def payment(request: web.Request) -> web.Response:
    api = request.app[ADMIN_API]
    payment_id = request.match_info["payment_id"]
    try:
        detail = await api.payment(payment_id)
    except NotFound:
        return error_page(request, 404, "No such payment", f"payment-svc has no payment {payment_id}.")
    order, order_error = None, None
    try:
        order = await api.order(detail.payment.orderId)
    except AdminApiError as exc:
        order_error = str(exc)
    return render(
        request, "payment.html", {"detail": detail, "p": detail.payment, "order": order, "order_error": order_error}
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get("/payments", search)
    app.router.add_get("/payments/{payment_id}", payment)
