"""The bodies of `POST /v1/payments` and `POST /v1/refunds`, as the payment service sends them."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr
from pydantic.alias_generators import to_camel

from payments_common.ids import GatewayPaymentId, OrderId, PaymentId, RefundId
from payments_common.money import MAX_AMOUNT

Amount = Annotated[StrictInt, Field(gt=0, le=MAX_AMOUNT)]
Currency = Annotated[StrictStr, Field(pattern=r"^[A-Z]{3}$")]


class _Request(BaseModel):
    # the contract's camelCase names; fields the gateway does not know are ignored, as a real one would
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True)


class CreatePaymentRequest(_Request):
    payment_id: PaymentId
    order_id: OrderId
    amount: Amount
    currency: Currency
    # the whole method, a card's number and CVV included: read to decide the outcome, never kept or shown
    method: dict[str, Any] | None = Field(default=None, repr=False)


class CreateRefundRequest(_Request):
    refund_id: RefundId
    gateway_payment_id: GatewayPaymentId
    amount: Amount
    currency: Currency
