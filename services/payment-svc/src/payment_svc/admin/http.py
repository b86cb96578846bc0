"""The admin API: what an operator's console needs, behind a bearer token (`ADMIN_TOKEN`).

Every route answers 401 without the token, and 403 when the service has no token configured, so
an unconfigured deployment exposes nothing. The operations are the ones the `payments-admin` console
script runs (`payment_svc.operations`), here on the service's own pool and broker connection.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import asyncpg
from aio_pika.abc import AbstractRobustConnection
from aiohttp import web
from pydantic import SecretStr

from payment_svc.admin import dead_letter_actions, dead_letters
from payment_svc.admin.outbox_status import outbox_status
from payment_svc.admin.schemas import ReconcileBody, SelectionBody
from payment_svc.attempts.repository import list_anomalies
from payment_svc.reconciliation.reconciler import Reconciler
from payments_common import dlq
from payments_common.admin import admin_middleware, int_query
from payments_common.admin_api.payments import Anomalies, AnomalyView
from payments_common.errors import BAD_REQUEST, NOT_FOUND, ApiError
from payments_common.http import json_response, parse_model, read_json_object
from payments_common.openapi import model_response
from payments_common.records import model_of

RECONCILER = web.AppKey("reconciler", Reconciler)
CONNECTION = web.AppKey("admin_connection", AbstractRobustConnection)
POOL = web.AppKey("admin_pool", asyncpg.Pool)

# the services whose outboxes the console watches; they share the database, each in its schema
OUTBOX_SCHEMAS = ("orders", "payments")

Operation = Callable[..., Awaitable[dead_letter_actions.OperationResult]]


async def reconcile(request: web.Request) -> web.Response:
    # `body_exists`, not `can_read_body`: the body middleware has read the body already, and a read body
    # cannot be read again, so `can_read_body` would ignore every olderThanSeconds
    body = parse_model(ReconcileBody, await read_json_object(request)) if request.body_exists else ReconcileBody()
    report = await request.app[RECONCILER].run_once(older_than=body.olderThanSeconds)
    return json_response(report.to_json())


async def anomalies(request: web.Request) -> web.Response:
    include_resolved = _flag(request, "includeResolved")
    limit = int_query(request, "limit", 100, 1000)
    async with request.app[POOL].acquire() as conn:
        rows = await list_anomalies(conn, include_resolved=include_resolved, limit=limit)
    return model_response(Anomalies(anomalies=[model_of(AnomalyView, row) for row in rows]))


def _flag(request: web.Request, name: str) -> bool:
    return request.query.get(name, "false").lower() in ("1", "true", "yes")


def _unknown_queue(exc: dlq.UnknownQueueError) -> ApiError:
    return ApiError(400, BAD_REQUEST, str(exc), field="queue")


async def dlq_list(request: web.Request) -> web.Response:
    queue = request.query.get("queue")
    limit = int_query(request, "limit", None, dead_letters.MAX_SCAN)
    try:
        listing = await dead_letters.list_dead_letters(request.app[CONNECTION], [queue] if queue else None, limit=limit)
    except dlq.UnknownQueueError as exc:
        raise _unknown_queue(exc) from None
    return json_response(listing.to_json(messages=_flag(request, "messages")))


async def dlq_show(request: web.Request) -> web.Response:
    letters = await dead_letters.find(request.app[CONNECTION], request.match_info["message_id"])
    if not letters:
        raise ApiError(404, NOT_FOUND, "no dead letter with this id")
    return json_response({"messages": [letter.to_json(include_body=True) for letter in letters]})


async def _operate(request: web.Request, operation: Operation) -> web.Response:
    body = parse_model(SelectionBody, await read_json_object(request))
    try:
        result = await operation(request.app[CONNECTION], body.selector(), dry_run=body.dryRun)
    except dlq.UnknownQueueError as exc:
        raise _unknown_queue(exc) from None
    return json_response(result.to_json())


async def dlq_requeue(request: web.Request) -> web.Response:
    return await _operate(request, dead_letter_actions.requeue)


async def dlq_purge(request: web.Request) -> web.Response:
    return await _operate(request, dead_letter_actions.purge)


async def outbox(request: web.Request) -> web.Response:
    async with request.app[POOL].acquire() as conn:
        statuses = [await outbox_status(conn, schema) for schema in OUTBOX_SCHEMAS]
    return json_response({"schemas": statuses})


def add_routes(app: web.Application, token: SecretStr | None) -> None:
    app.middlewares.append(admin_middleware(token))
    app.router.add_get("/admin/dlq", dlq_list)
    app.router.add_get("/admin/dlq/{message_id}", dlq_show)
    app.router.add_post("/admin/dlq/requeue", dlq_requeue)
    app.router.add_post("/admin/dlq/purge", dlq_purge)
    app.router.add_get("/admin/outbox", outbox)
    app.router.add_post("/admin/reconcile", reconcile)
    app.router.add_get("/admin/anomalies", anomalies)
