"""The body of `POST /v1/payments`, as the payment service sends it."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr
from pydantic.alias_generators import to_camel

from payments_common.ids import OrderId, PaymentId
from payments_common.money import MAX_AMOUNT


class CreatePaymentRequest(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True)

    payment_id: PaymentId
    order_id: OrderId
    amount: Annotated[StrictInt, Field(gt=0, le=MAX_AMOUNT)]
    currency: Annotated[StrictStr, Field(pattern=r"^[A-Z]{3}$")]
    # the whole method, a card's number and CVV included: read to decide the outcome, never kept or shown
    method: dict[str, Any] | None = Field(default=None, repr=False)
