"""payment-svc's internal refund API, called by order-svc. Views parse and answer; the service decides."""

from __future__ import annotations

from aiohttp import web

from payment_svc.attempts.http import DEPS
from payment_svc.refunds.messages import refund_snapshot
from payment_svc.refunds.schemas import RefundBody
from payment_svc.refunds.service import CreateRefund, create_refund, get_refund
from payments_common.errors import NOT_FOUND, ApiError
from payments_common.http import CORRELATION_ID, parse_model, read_json_object
from payments_common.openapi import model_response


async def post_refund(request: web.Request) -> web.Response:
    body = parse_model(RefundBody, await read_json_object(request))
    command = CreateRefund(
        payment_id=request.match_info["payment_id"],
        merchant_id=body.merchantId,
        amount=body.amount,
        notes=body.notes,
        correlation_id=request.get(CORRELATION_ID),
        request_id=body.requestId,
    )
    refund = await create_refund(request.app[DEPS], command)
    return model_response(refund_snapshot(refund), status=201)


async def read_refund(request: web.Request) -> web.Response:
    refund = await get_refund(request.app[DEPS], request.match_info["refund_id"])
    if refund is None:
        raise ApiError(404, NOT_FOUND, "refund not found")
    return model_response(refund_snapshot(refund))


def add_routes(app: web.Application) -> None:
    """Under the `/internal/` prefix, behind the bearer token `attempts.http.add_routes` checks there."""
    app.router.add_post("/internal/payments/{payment_id}/refunds", post_refund)
    app.router.add_get("/internal/refunds/{refund_id}", read_refund)
