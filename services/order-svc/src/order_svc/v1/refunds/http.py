"""/v1 refunds' views."""

from __future__ import annotations

from aiohttp import web

from order_svc.access.http import merchant_of
from order_svc.deps import DEPS
from order_svc.refunds.http import create_for
from order_svc.v1.http import collection, list_page
from order_svc.v1.refunds import service
from order_svc.v1.refunds.schemas import CreateRefundV1, RefundCollection, RefundEntity
from payments_common.http import parse_model, read_json_object
from payments_common.openapi import Route, model_response


async def post_refund(request: web.Request) -> web.Response:
    cmd = parse_model(CreateRefundV1, await read_json_object(request))
    refund = await create_for(request, service.create, cmd)
    return model_response(refund)


async def _refunds(request: web.Request, payment_id: str | None) -> web.Response:
    items = await service.list_refunds(request.app[DEPS], merchant_of(request), list_page(request), payment_id)
    return collection(RefundCollection, items)


async def _refund(request: web.Request, payment_id: str | None) -> web.Response:
    refund = await service.fetch(request.app[DEPS], merchant_of(request), request.match_info["refund_id"], payment_id)
    return model_response(refund)


# no docstrings: a view's name is its summary in the document
async def get_payment_refunds(request: web.Request) -> web.Response:
    return await _refunds(request, request.match_info["payment_id"])


async def get_payment_refund(request: web.Request) -> web.Response:
    return await _refund(request, request.match_info["payment_id"])


async def get_refunds(request: web.Request) -> web.Response:
    return await _refunds(request, None)


async def get_refund(request: web.Request) -> web.Response:
    return await _refund(request, None)


ROUTES = [
    Route("POST", "/v1/payments/{payment_id}/refund", post_refund, RefundEntity),
    Route("GET", "/v1/payments/{payment_id}/refunds", get_payment_refunds, RefundCollection),
    Route("GET", "/v1/payments/{payment_id}/refunds/{refund_id}", get_payment_refund, RefundEntity),
    Route("GET", "/v1/refunds", get_refunds, RefundCollection),
    Route("GET", "/v1/refunds/{refund_id}", get_refund, RefundEntity),
]
