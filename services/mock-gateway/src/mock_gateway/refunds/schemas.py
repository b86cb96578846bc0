"""`POST /v1/refunds`'s body as the payment service sends it, and the gateway refund every refund view
answers with."""

from __future__ import annotations

from mock_gateway.payments.schemas import Amount, Currency, Request
from mock_gateway.refunds.domain import RefundTerms
from payments_common.ids import GatewayPaymentId, RefundId
from payments_common.timeutil import IsoDatetime


class CreateRefundRequest(Request):
    refund_id: RefundId
    gateway_payment_id: GatewayPaymentId
    amount: Amount
    currency: Currency


class GatewayRefund(RefundTerms):
    """A stored gateway refund, as `GET /v1/refunds/…` and the creates show it (built from its row)."""

    status: str
    error_code: str | None
    error_description: str | None
    created_at: IsoDatetime
    updated_at: IsoDatetime
