"""What the gateway's API views share: the app's keys (the pool, the delivery worker, the planner, the
signing key), the answer of a record, and the routes of a collection: its create, and its reads by the
gateway's id or by the caller's."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import asyncpg
from aiohttp import web
from pydantic import BaseModel

from mock_gateway.delivery.plan import Planner
from mock_gateway.delivery.worker import DeliveryWorker
from payments_common.errors import NOT_FOUND, ApiError, bad_request
from payments_common.http import json_response

POOL = web.AppKey("pool", asyncpg.Pool)
WORKER = web.AppKey("worker", DeliveryWorker)
PLANNER = web.AppKey("planner", Planner)
PAYMENT_SIGNING_KEY = web.AppKey("payment_signing_key", bytes)

IDEMPOTENCY_CONFLICT = "IDEMPOTENCY_CONFLICT"

# a repository lookup: the gateway's record under one id, or None
Lookup = Callable[[asyncpg.Pool, str], Awaitable[BaseModel | None]]
Handler = Callable[[web.Request], Awaitable[web.Response]]


def replays(record: BaseModel, request: BaseModel, fields: tuple[str, ...]) -> bool:
    """Whether a create under an id seen before asks for what the first one did: then it is answered with
    the stored record, else refused as an IDEMPOTENCY_CONFLICT."""
    return all(getattr(record, name) == getattr(request, name) for name in fields)


def shown(record: BaseModel, status: int = 200) -> web.Response:
    """A record as the API shows it: by the contract's names, every field present (null included)."""
    return json_response(record.model_dump(mode="json", by_alias=True), status=status)


def add_record_routes(
    app: web.Application,
    path: str,
    noun: str,
    create: Handler,
    *,
    get: Lookup,
    id_key: str,
    find: Lookup,
    caller_id: str,
) -> None:
    """`POST <path>` creates (`create`); `GET <path>/{id}` reads a record by the gateway's own id (`get`);
    `GET <path>?<caller_id>=…` by the caller's id (`find`), for a caller that never learned the gateway's
    (it crashed mid-create). `noun` names the record in a 404."""

    async def read(request: web.Request) -> web.Response:
        return _found(await get(request.app[POOL], request.match_info[id_key]), f"no such {noun}")

    async def find_for_caller(request: web.Request) -> web.Response:
        value = request.query.get(caller_id, "").strip()
        if not value:
            raise bad_request(f"{caller_id}: the query parameter is required", caller_id)
        return _found(await find(request.app[POOL], value), f"no {noun} for this {caller_id}")

    app.router.add_post(path, create)
    app.router.add_get(path, find_for_caller)
    app.router.add_get(f"{path}/{{{id_key}}}", read)


def _found(record: BaseModel | None, missing: str) -> web.Response:
    if record is None:
        raise ApiError(404, NOT_FOUND, missing)
    return shown(record)
