"""The receipt of a paid order, read in one snapshot and rendered off the event loop."""

from __future__ import annotations

import asyncio

from order_svc.deps import Deps
from order_svc.orders.domain import OrderStatus
from order_svc.orders.service import read_order
from order_svc.payments.domain import PaymentStatus
from order_svc.receipts.domain import Receipt, receipt_of
from order_svc.receipts.pdf import render
from payments_common.errors import ORDER_NOT_PAID, ApiError


async def load_receipt(deps: Deps, merchant_id: str, order_id: str) -> Receipt:
    # one snapshot for the order, its payment and the payment's refunds: a receipt never shows a refund of
    # a payment it does not show, nor totals that disagree with its lines
    read = await read_order(deps, merchant_id, order_id)
    # the attempt that paid the order: no other is started once it is PAID
    paid_by = next((view for view in read.payments if view.status == PaymentStatus.SUCCESS), None)
    if read.order.status != OrderStatus.PAID or paid_by is None:
        raise ApiError(409, ORDER_NOT_PAID, "the order is not paid: a receipt exists once it is PAID")
    return receipt_of(read.order, paid_by, read.refunds)


async def receipt_pdf(deps: Deps, merchant_id: str, order_id: str) -> tuple[Receipt, bytes]:
    receipt = await load_receipt(deps, merchant_id, order_id)
    # a quarter of a second of font subsetting and compression: off the event loop
    return receipt, await asyncio.to_thread(render, receipt)
