"""The client API's refund routes: views parse the request and shape the answer; `refunds` decides."""

from __future__ import annotations

from aiohttp import web

from order_svc import idempotency
from order_svc.auth import merchant_of
from order_svc.handlers import Deps
from order_svc.refunds import CreateRefund, create_refund, get_refund, refund_json
from payments_common.http import CORRELATION_ID, json_response, parse_model, read_json_object


def add_routes(app: web.Application, deps_key: web.AppKey[Deps]) -> None:
    """`deps_key` is the client API's own (`order_svc.http.DEPS`), passed in so this module needs no import of it."""

    async def post_refund(request: web.Request) -> web.Response:
        cmd = parse_model(CreateRefund, await read_json_object(request))
        refund = await create_refund(
            request.app[deps_key],
            merchant_of(request),
            request.match_info["payment_id"],
            cmd,
            request.get(CORRELATION_ID),
            request.get(idempotency.REQUEST_ID),
        )
        return json_response(
            {
                "refundId": refund.id,
                "paymentId": refund.paymentId,
                "amount": refund.amount,
                "currency": refund.currency,
                "status": refund.status,
            },
            status=201,
        )

    async def read_refund(request: web.Request) -> web.Response:
        refund = await get_refund(request.app[deps_key], merchant_of(request), request.match_info["refund_id"])
        return json_response(refund_json(refund))

    app.router.add_post("/payments/{payment_id}/refunds", post_refund)
    app.router.add_get("/refunds/{refund_id}", read_refund)
