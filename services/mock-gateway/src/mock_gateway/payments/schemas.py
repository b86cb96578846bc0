"""`POST /v1/payments`'s body as the payment service sends it, and the gateway payment every payment view
answers with."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr
from pydantic.alias_generators import to_camel

from mock_gateway.payments.domain import PaymentTerms
from payments_common.ids import OrderId, PaymentId
from payments_common.money import MAX_AMOUNT
from payments_common.timeutil import IsoDatetime

Amount = Annotated[StrictInt, Field(gt=0, le=MAX_AMOUNT)]
Currency = Annotated[StrictStr, Field(pattern=r"^[A-Z]{3}$")]


class Request(BaseModel):
    # the contract's camelCase names; fields the gateway does not know are ignored, as a real one would
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True)


class CreatePaymentRequest(Request):
    payment_id: PaymentId
    order_id: OrderId
    amount: Amount
    currency: Currency
    # the whole method, a card's number and CVV included: read to decide the outcome, never kept or shown
    method: dict[str, Any] | None = Field(default=None, repr=False)
    # manual: a success is only authorised (its webhook reports AUTHORIZED) until captured or voided
    capture: Literal["automatic", "manual"] = "automatic"


class CapturePaymentRequest(Request):
    """`POST /v1/payments/{id}/capture`: the authorised amount and currency, exactly."""

    amount: Amount
    currency: Currency


class VoidPaymentRequest(Request):
    """`POST /v1/payments/{id}/void`: why, kept on the voided payment's record."""

    error_code: Annotated[StrictStr, Field(max_length=100)] | None = None
    error_description: Annotated[StrictStr, Field(max_length=1000)] | None = None


class GatewayPayment(PaymentTerms):
    """A stored gateway payment, as `GET /v1/payments/…` and the creates show it (built from its row)."""

    status: str
    signature: str
    error_code: str | None
    error_description: str | None
    # the faults the payment's webhooks carry out: kept for operators, never shown
    faults: tuple[str, ...] = Field(default=(), exclude=True)
    created_at: IsoDatetime
    updated_at: IsoDatetime


class TokenSwitch(Request):
    """`PUT /v1/test/tokens/{token}`: whether the token's charges decline from now on."""

    declines: StrictBool
