"""`GET /orders/{order_id}/receipt.pdf`: a paid order's receipt, the same bytes every time it is asked for."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence

from aiohttp import web

from order_svc.auth import merchant_of
from order_svc.handlers import Deps
from order_svc.receipt_pdf import Receipt, RefundLine, render
from order_svc.refunds import get_order_with_refunds
from order_svc.repository import Order, PaymentView, RefundView
from payments_common.errors import ORDER_NOT_PAID, ApiError
from payments_common.methods import describe

PATH = "/orders/{order_id}/receipt.pdf"
# the refunds that have reached the customer; PENDING and FAILED ones are listed but not subtracted (unlike
# `amountRefunded` of `GET /orders/{id}`, which holds back pending ones too: a receipt states money moved)
REFUNDED = "PROCESSED"


def receipt_of(order: Order, payment: PaymentView, refunds: Sequence[RefundView] = ()) -> Receipt:
    """What the receipt of `order`, paid by `payment`, shows. API keys carry no display name, so the
    merchant is named by its id."""
    lines = tuple(
        RefundLine(id=refund.id, amount=refund.amount, status=refund.status, created_at=refund.created_at)
        for refund in refunds
        if refund.payment_id == payment.id
    )
    return Receipt(
        merchant_id=order.merchant_id,
        order_id=order.id,
        order_receipt=order.receipt,
        payment_id=payment.id,
        gateway_payment_id=payment.gateway_payment_id,
        amount=payment.amount,
        currency=payment.currency,
        method=describe(payment.method),
        # when payment-svc settled the attempt: it never changes, unlike anything read off the clock
        paid_at=payment.updated_at,
        refunds=lines,
        amount_refunded=sum(line.amount for line in lines if line.status == REFUNDED),
    )


async def load_receipt(deps: Deps, merchant_id: str, order_id: str) -> Receipt:
    # one snapshot for the order, its payment and the payment's refunds: a receipt never shows a refund of
    # a payment it does not show, nor totals that disagree with its lines
    order, payments, refunds = await get_order_with_refunds(deps, merchant_id, order_id)
    # the attempt that paid the order: no other is started once it is PAID
    paid_by = next((view for view in payments if view.status == "SUCCESS"), None)
    if order.status != "PAID" or paid_by is None:
        raise ApiError(409, ORDER_NOT_PAID, "the order is not paid: a receipt exists once it is PAID")
    return receipt_of(order, paid_by, refunds)


async def receipt_response(deps: Deps, merchant_id: str, order_id: str) -> web.Response:
    receipt = await load_receipt(deps, merchant_id, order_id)
    # a quarter of a second of font subsetting and compression: off the event loop
    body = await asyncio.to_thread(render, receipt)
    response = web.Response(
        body=body,
        content_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="receipt-{receipt.order_id}.pdf"',
            "Cache-Control": "private",
        },
    )
    # the same order renders the same bytes, so their hash names this version of the receipt
    response.etag = hashlib.sha256(body).hexdigest()
    return response


def add_route(app: web.Application, deps: web.AppKey[Deps]) -> None:
    async def read_receipt(request: web.Request) -> web.Response:
        return await receipt_response(request.app[deps], merchant_of(request), request.match_info["order_id"])

    app.router.add_get(PATH, read_receipt)
