"""The refunds' views: parse the request, call the use case, answer the model the document describes."""

from __future__ import annotations

from aiohttp import web

from order_svc.access.http import merchant_of
from order_svc.deps import DEPS
from order_svc.idempotency.http import REQUEST_ID
from order_svc.refunds.schemas import CreateRefund, RefundCreated, RefundResource
from order_svc.refunds.service import create_refund, get_refund
from payments_common.http import CORRELATION_ID, parse_model, read_json_object
from payments_common.openapi import Route, model_response


async def post_refund(request: web.Request) -> web.Response:
    cmd = parse_model(CreateRefund, await read_json_object(request))
    refund = await create_refund(
        request.app[DEPS],
        merchant_of(request),
        request.match_info["payment_id"],
        cmd,
        request.get(CORRELATION_ID),
        request.get(REQUEST_ID),
    )
    return model_response(RefundCreated.of(refund), status=201)


async def read_refund(request: web.Request) -> web.Response:
    refund = await get_refund(request.app[DEPS], merchant_of(request), request.match_info["refund_id"])
    return model_response(RefundResource.of(refund))


ROUTES = [
    Route("POST", "/payments/{payment_id}/refunds", post_refund, RefundCreated, status=201),
    Route("GET", "/refunds/{refund_id}", read_refund, RefundResource),
]
