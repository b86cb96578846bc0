"""The admin API: what an operator's console needs, behind a bearer token (`ADMIN_TOKEN`).

Every route answers 401 without the token, and 403 when the service has no token configured, so
an unconfigured deployment exposes nothing. The operations are the ones the `payments-admin` console
script runs (`payment_svc.operations`), here on the service's own pool and broker connection; and what the
operators' console reads beyond them: the payment search, one payment with everything about it, queue
depths, the reconciler's last pass, and an anomaly's resolution.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from types import SimpleNamespace
from typing import Any, TypeVar

import asyncpg
from aio_pika.abc import AbstractRobustConnection
from aiohttp import web
from pydantic import BaseModel, SecretStr

from payment_svc.admin import dead_letter_actions, dead_letters, repository
from payment_svc.admin.outbox_status import outbox_status
from payment_svc.admin.repository import list_anomalies
from payment_svc.admin.schemas import ReconcileBody, ResolveBody, SelectionBody
from payment_svc.admin.service import resolve_anomaly
from payment_svc.attempts.domain import PaymentStatus
from payment_svc.attempts.http import DEPS
from payment_svc.attempts.repository import PaymentRepository
from payment_svc.reconciliation.reconciler import Reconciler
from payment_svc.refunds.repository import RefundRepository
from payments_common import dlq, topology
from payments_common.admin import admin_middleware, int_query, text_query, time_query
from payments_common.admin_api.operations import QueueDepth, QueueDepths, ReconcileLast, ReconcileRun
from payments_common.admin_api.payments import (
    Anomalies,
    AnomalyView,
    PaymentDetail,
    PaymentRow,
    PaymentSearch,
    RefundRow,
    ResolveResult,
    TrailEntry,
)
from payments_common.broker import queue_count
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
    _add_inspection_routes(app)


M = TypeVar("M", bound=BaseModel)
STATUSES = tuple(status.value for status in PaymentStatus)
METHODS = ("card", "upi", "wallet", "netbanking")
MAX_RESULTS = 500


def _of(model: type[M], row: dict[str, Any]) -> M:
    return model_of(model, SimpleNamespace(**row))


def _one_of(request: web.Request, name: str, allowed: tuple[str, ...]) -> str | None:
    value = text_query(request, name)
    if value is not None and value not in allowed:
        raise ApiError(400, BAD_REQUEST, f"{name} is one of {', '.join(allowed)}", field=name)
    return value


async def search(request: web.Request) -> web.Response:
    """`GET /admin/payments?id=&merchant=&status=&method=&from=&to=&limit=`: newest first; `id` is any id an
    operator may hold (payment, order, gateway payment, refund, gateway refund)."""
    wanted = repository.Search(
        ident=text_query(request, "id"),
        merchant=text_query(request, "merchant", 64),
        status=_one_of(request, "status", STATUSES),
        method=_one_of(request, "method", METHODS),
        since=time_query(request, "from"),
        until=time_query(request, "to"),
        limit=int_query(request, "limit", 100, MAX_RESULTS),
    )
    async with request.app[POOL].acquire() as conn:
        rows = await repository.search_payments(conn, wanted)
    return model_response(PaymentSearch(payments=[_of(PaymentRow, row) for row in rows]))


async def payment(request: web.Request) -> web.Response:
    payment_id = request.match_info["payment_id"]
    async with request.app[POOL].acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        # one snapshot: the attempt, its order's attempts, its refunds, trail and anomalies agree
        row = await repository.payment_row(conn, payment_id)
        if row is None:
            raise ApiError(404, NOT_FOUND, "payment not found")
        attempts = await repository.attempts_of_order(conn, row["order_id"])
        refunds = await RefundRepository(conn).of_payment(payment_id)
        trail = await PaymentRepository(conn).events_of(payment_id)
        anomalies = await repository.anomalies_of(conn, payment_id)
    detail = PaymentDetail(
        payment=_of(PaymentRow, row),
        attempts=[_of(PaymentRow, attempt) for attempt in attempts],
        refunds=[model_of(RefundRow, refund) for refund in refunds],
        events=[model_of(TrailEntry, entry) for entry in trail],
        anomalies=[model_of(AnomalyView, anomaly) for anomaly in anomalies],
    )
    return model_response(detail)


async def _depth(connection: AbstractRobustConnection, name: str) -> QueueDepth:
    counted = await queue_count(connection, name)
    if counted is None:
        return QueueDepth(queue=name, messages=None, consumers=None, exists=False)
    return QueueDepth(queue=name, messages=counted.messages, consumers=counted.consumers, exists=True)


async def queues(request: web.Request) -> web.Response:
    """`GET /admin/queues`: every consumer queue of the system and its dead-letter queue, as the broker counts."""
    names = [name for spec in topology.CONSUMER_QUEUES for name in (spec.name, spec.dlq)]
    connection = request.app[CONNECTION]
    return model_response(QueueDepths(queues=[await _depth(connection, name) for name in names]))


async def reconcile_last(request: web.Request) -> web.Response:
    last = request.app[RECONCILER].last
    run = None
    if last is not None:
        run = ReconcileRun(
            startedAt=last.started_at,
            finishedAt=last.finished_at,
            checked=last.checked + last.refunds.checked,
            settled=len(last.settled) + len(last.refunds.settled),
            stillPending=last.still_pending + last.refunds.still_pending,
            republished=len(last.republished),
            errors=list(last.errors),
        )
    return model_response(ReconcileLast(lastRun=run))


async def resolve(request: web.Request) -> web.Response:
    try:
        anomaly_id = int(request.match_info["anomaly_id"])
    except ValueError:
        raise ApiError(404, NOT_FOUND, "anomaly not found") from None
    body = parse_model(ResolveBody, await read_json_object(request))
    resolved = await resolve_anomaly(request.app[DEPS], anomaly_id, body.operator, body.action, body.note)
    return model_response(ResolveResult(anomaly=model_of(AnomalyView, resolved.anomaly), refundId=resolved.refund_id))


def _add_inspection_routes(app: web.Application) -> None:
    app.router.add_get("/admin/payments", search)
    app.router.add_get("/admin/payments/{payment_id}", payment)
    app.router.add_get("/admin/queues", queues)
    app.router.add_get("/admin/reconcile/last", reconcile_last)
    app.router.add_post("/admin/anomalies/{anomaly_id}/resolve", resolve)
