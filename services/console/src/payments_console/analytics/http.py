"""GET / : the analytics page."""

from __future__ import annotations

from aiohttp import web

from payments_common.timeutil import utcnow
from payments_console.analytics.domain import PRESETS, WindowError, window_of
from payments_console.analytics.service import figures
from payments_console.deps import ADMIN_API
from payments_console.http import error_page, render


async def analytics(request: web.Request) -> web.Response:
    try:
        window = window_of(request.query, utcnow())
    except WindowError as exc:
        return error_page(request, 400, "That window cannot be shown", str(exc))
    result = await figures(request.app[ADMIN_API], window)
    return render(
        request,
        "analytics.html",
        {
            "window": window,
            "presets": list(PRESETS),
            "query": dict(request.query),
            "payments": result.payments,
            "orders": result.orders,
            "errors": result.errors,
            "chart": result.chart(),
        },
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get("/", analytics)
