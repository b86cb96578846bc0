"""The admin API: what an operator's console needs, behind a bearer token (`ADMIN_TOKEN`).

Every route answers 401 without the token, and 403 when the service has no token configured, so
an unconfigured deployment exposes nothing. The operations are the library's, the same ones the
`payments-admin` console script runs.
"""

from __future__ import annotations

import hmac
from typing import Any

import asyncpg
from aio_pika.abc import AbstractRobustConnection
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from payment_svc.reconciler import Reconciler
from payment_svc.repository import Anomaly, list_anomalies
from payments_common.errors import UNAUTHORIZED, ApiError
from payments_common.http import Handler, json_response, parse_model, read_json_object
from payments_common.timeutil import iso

PREFIX = "/admin/"
RECONCILER = web.AppKey("reconciler", Reconciler)
CONNECTION = web.AppKey("admin_connection", AbstractRobustConnection)
POOL = web.AppKey("admin_pool", asyncpg.Pool)
_TOKEN = web.AppKey("admin_token", bytes)

FORBIDDEN = "FORBIDDEN"


def _bearer(header: str | None) -> bytes | None:
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip().encode()


@web.middleware
async def admin_auth(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith(PREFIX):
        expected = request.app[_TOKEN]
        if not expected:
            raise ApiError(403, FORBIDDEN, "the admin API is disabled: ADMIN_TOKEN is not set")
        given = _bearer(request.headers.get("Authorization"))
        # constant time, so the answer's timing says nothing about how much of a guess was right
        if given is None or not hmac.compare_digest(given, expected):
            raise ApiError(401, UNAUTHORIZED, "a valid admin bearer token is required")
    return await handler(request)


class ReconcileBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    olderThanSeconds: float | None = Field(default=None, ge=0)


async def reconcile(request: web.Request) -> web.Response:
    body = parse_model(ReconcileBody, await read_json_object(request)) if request.can_read_body else ReconcileBody()
    report = await request.app[RECONCILER].run_once(older_than=body.olderThanSeconds)
    return json_response(report.to_json())


def anomaly_json(anomaly: Anomaly) -> dict[str, Any]:
    return {
        "id": anomaly.id,
        "paymentId": anomaly.payment_id,
        "orderId": anomaly.order_id,
        "kind": anomaly.kind,
        "source": anomaly.source,
        "eventId": anomaly.event_id,
        "detail": anomaly.detail,
        "createdAt": iso(anomaly.created_at),
        "resolvedAt": iso(anomaly.resolved_at) if anomaly.resolved_at else None,
        "resolution": anomaly.resolution,
    }


async def anomalies(request: web.Request) -> web.Response:
    include_resolved = request.query.get("includeResolved", "false").lower() in ("1", "true", "yes")
    try:
        limit = max(1, min(int(request.query.get("limit", "100")), 1000))
    except ValueError:
        raise ApiError(400, "BAD_REQUEST_ERROR", "limit must be an integer", field="limit") from None
    async with request.app[POOL].acquire() as conn:
        rows = await list_anomalies(conn, include_resolved=include_resolved, limit=limit)
    return json_response({"anomalies": [anomaly_json(row) for row in rows]})


def add_routes(app: web.Application, token: SecretStr | None) -> None:
    app[_TOKEN] = token.get_secret_value().encode() if token is not None else b""
    app.middlewares.append(admin_auth)
    app.router.add_post("/admin/reconcile", reconcile)
    app.router.add_get("/admin/anomalies", anomalies)
