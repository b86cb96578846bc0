"""The application keys app.py fills and the views read: the admin APIs' client and the audit log."""

from __future__ import annotations

from aiohttp import web

from payments_console.admin_api.client import AdminApi

ADMIN_API = web.AppKey("admin_api", AdminApi)
# the services whose readiness the health page shows, by the names the admin client knows their URLs by
SERVICES = web.AppKey("services", tuple[str, ...])
