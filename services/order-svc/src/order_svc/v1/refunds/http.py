"""/v1 refunds' views."""

from __future__ import annotations

from aiohttp import web

from order_svc.access.http import merchant_of
from order_svc.deps import DEPS
from order_svc.idempotency.http import REQUEST_ID
from order_svc.v1.http import parse_query
from order_svc.v1.refunds import service
from order_svc.v1.refunds.schemas import CreateRefundV1, RefundCollection, RefundEntity
from order_svc.v1.schemas import ListQuery
from payments_common.http import CORRELATION_ID, parse_model, read_json_object
from payments_common.openapi import Route, model_response


async def post_refund(request: web.Request) -> web.Response:
    cmd = parse_model(CreateRefundV1, await read_json_object(request))
    refund = await service.create(
        request.app[DEPS],
        merchant_of(request),
        request.match_info["payment_id"],
        cmd,
        request.get(CORRELATION_ID),
        request.get(REQUEST_ID),
    )
    return model_response(refund)


async def get_payment_refunds(request: web.Request) -> web.Response:
    page = parse_query(ListQuery, request).page()
    payment_id = request.match_info["payment_id"]
    items = await service.list_refunds(request.app[DEPS], merchant_of(request), page, payment_id)
    return model_response(RefundCollection(entity="collection", count=len(items), items=items))


async def get_payment_refund(request: web.Request) -> web.Response:
    refund = await service.fetch(
        request.app[DEPS], merchant_of(request), request.match_info["refund_id"], request.match_info["payment_id"]
    )
    return model_response(refund)


async def get_refunds(request: web.Request) -> web.Response:
    page = parse_query(ListQuery, request).page()
    items = await service.list_refunds(request.app[DEPS], merchant_of(request), page)
    return model_response(RefundCollection(entity="collection", count=len(items), items=items))


async def get_refund(request: web.Request) -> web.Response:
    refund = await service.fetch(request.app[DEPS], merchant_of(request), request.match_info["refund_id"])
    return model_response(refund)


ROUTES = [
    Route("POST", "/v1/payments/{payment_id}/refund", post_refund, RefundEntity),
    Route("GET", "/v1/payments/{payment_id}/refunds", get_payment_refunds, RefundCollection),
    Route("GET", "/v1/payments/{payment_id}/refunds/{refund_id}", get_payment_refund, RefundEntity),
    Route("GET", "/v1/refunds", get_refunds, RefundCollection),
    Route("GET", "/v1/refunds/{refund_id}", get_refund, RefundEntity),
]
