"""GET /system: the health page. (The console's own liveness is GET /health, as every service's.)"""

from __future__ import annotations

from aiohttp import web

from payments_common import http, observability
from payments_console.auth import repository
from payments_console.auth.http import AUTH
from payments_console.deps import ADMIN_API, SERVICES
from payments_console.health.service import health
from payments_console.http import render


async def system(request: web.Request) -> web.Response:
    found = await health(request.app[ADMIN_API], request.app[SERVICES])
    async with request.app[AUTH].pool.acquire() as conn:
        actions = await repository.recent_actions(conn, 20)
    return render(request, "system.html", {"health": found, "actions": actions})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/system", system)
    app.router.add_get(observability.HEALTH_PATH, http.health)
