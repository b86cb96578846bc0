"""`POST /payments/verify`: the merchant's frontend reports what the gateway handed it after checkout.

It only reads. The callback and the gateway's webhook may arrive in either order, and the callback
comes from a browser, so it cannot be trusted to settle anything: the webhook (or the reconciler)
settles, and this answers whether the signature is genuine and what the attempt's status is now.
"""

from __future__ import annotations

from dataclasses import dataclass

from order_svc.domain import VerifyPayment
from order_svc.handlers import Deps
from order_svc.repository import OrderRepository
from payments_common import ids
from payments_common.errors import INVALID_SIGNATURE, NOT_FOUND, ApiError
from payments_common.signatures import verify_payment_signature


@dataclass(frozen=True, slots=True)
class Verified:
    order_id: str
    order_status: str
    payment_id: str
    gateway_payment_id: str
    status: str


async def verify_payment(deps: Deps, merchant_id: str, cmd: VerifyPayment) -> Verified:
    if not ids.is_valid(ids.ORDER, cmd.orderId):
        raise ApiError(404, NOT_FOUND, "order not found")
    async with deps.pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        # one snapshot, so the order's status and the attempt's never disagree in one answer
        repo = OrderRepository(conn)
        order = await repo.get(cmd.orderId, merchant_id)
        if order is None:
            raise ApiError(404, NOT_FOUND, "order not found")
        # the signature before the lookup, so a forged one learns nothing about which gateway ids exist
        if not verify_payment_signature(deps.signing_keys, cmd.orderId, cmd.gatewayPaymentId, cmd.signature):
            raise ApiError(400, INVALID_SIGNATURE, "the payment signature does not verify", field="signature")
        view = await repo.payment_by_gateway_id(order.id, cmd.gatewayPaymentId)
    if view is None:
        raise ApiError(404, NOT_FOUND, "no payment attempt of this order has that gatewayPaymentId")
    return Verified(
        order_id=order.id,
        order_status=order.status,
        payment_id=view.id,
        gateway_payment_id=cmd.gatewayPaymentId,
        status=view.status,
    )
