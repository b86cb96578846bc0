"""What a paid order's receipt shows, chosen from the order, the payment that paid it and its refunds.
Pure: no I/O (the PDF is `pdf.py`'s)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from order_svc.orders.domain import Order
from order_svc.payments.domain import PaymentView
from order_svc.refunds.domain import RefundStatus, RefundView
from payments_common.methods import describe


@dataclass(frozen=True, slots=True)
class Receipt:
    """Everything a receipt shows, already chosen; amounts in the currency's minor unit."""

    merchant_id: str
    order_id: str
    payment_id: str
    amount: int
    currency: str
    # one line a person reads, e.g. "Visa card ending 1111, expires 12/2030"
    method: str
    paid_at: datetime
    # shown in the header instead of the merchant id when there is one
    merchant_name: str | None = None
    # the merchant's own reference for the order (`receipt` of `POST /orders`)
    order_receipt: str | None = None
    gateway_payment_id: str | None = None
    # the payment's refunds, in its currency
    refunds: tuple[RefundView, ...] = ()
    # what of `refunds` has reached the customer (PROCESSED); pending or failed refunds are listed but not
    # counted (unlike `amountRefunded` of `GET /orders/{id}`, which holds back pending ones too: a receipt
    # states money moved)
    amount_refunded: int = 0

    @property
    def net_amount(self) -> int:
        return self.amount - self.amount_refunded


def receipt_of(order: Order, payment: PaymentView, refunds: Sequence[RefundView] = ()) -> Receipt:
    """What the receipt of `order`, paid by `payment`, shows. API keys carry no display name, so the
    merchant is named by its id."""
    lines = tuple(refund for refund in refunds if refund.payment_id == payment.id)
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
        amount_refunded=sum(line.amount for line in lines if line.status == RefundStatus.PROCESSED),
    )
