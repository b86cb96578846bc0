"""The refunds' views: parse the request, call the use case, answer the model the document describes."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiohttp import web

from order_svc.access.http import merchant_of
from order_svc.deps import DEPS, Deps
from order_svc.idempotency.http import REQUEST_ID
from order_svc.refunds.schemas import CreateRefund, RefundCreated, RefundResource
from order_svc.refunds.service import create_refund, get_refund
from payments_common.http import CORRELATION_ID, parse_model, read_json_object
from payments_common.openapi import Route, model_response

C = TypeVar("C")
T = TypeVar("T")
# a refund's creation, native or /v1: deps, merchant, payment id, command, correlation id, request id
Create = Callable[[Deps, str, str, C, str | None, uuid.UUID | None], Awaitable[T]]


async def create_for(request: web.Request, create: Create[C, T], cmd: C) -> T:
    """`create` a refund of the request's `payment_id`, for its merchant, with its correlation id and its
    idempotency key's request id."""
    return await create(
        request.app[DEPS],
        merchant_of(request),
        request.match_info["payment_id"],
        cmd,
        request.get(CORRELATION_ID),
        request.get(REQUEST_ID),
    )


async def post_refund(request: web.Request) -> web.Response:
    cmd = parse_model(CreateRefund, await read_json_object(request))
    refund = await create_for(request, create_refund, cmd)
    return model_response(RefundCreated.of(refund), status=201)


async def read_refund(request: web.Request) -> web.Response:
    refund = await get_refund(request.app[DEPS], merchant_of(request), request.match_info["refund_id"])
    return model_response(RefundResource.of(refund))


ROUTES = [
    Route("POST", "/payments/{payment_id}/refunds", post_refund, RefundCreated, status=201),
    Route("GET", "/refunds/{refund_id}", read_refund, RefundResource),
]
