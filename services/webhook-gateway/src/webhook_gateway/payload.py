"""The gateway's payment report as the contract shapes it, and the envelope it is published in."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, field_validator
from pydantic.alias_generators import to_camel

from payments_common import methods
from payments_common.ids import GatewayPaymentId, OrderId, PaymentId
from payments_common.money import MAX_AMOUNT
from payments_common.storable import has_nul
from payments_common.timeutil import iso

# any string of sane length: a malformed signature is an INVALID_SIGNATURE, decided by the signature check
Signature = Annotated[StrictStr, Field(min_length=1, max_length=256)]
# an amount beyond any order's maximum is still passed on: the consumer records it as a mismatch
Amount = Annotated[StrictInt, Field(gt=0, le=MAX_AMOUNT * 1000)]
Currency = Annotated[StrictStr, Field(pattern=r"^[A-Z]{3}$")]
# PostgreSQL text and jsonb cannot hold NUL: refused here, at the door, rather than failing the consumer
# on every retry until the event is dead-lettered
Text = Annotated[StrictStr, Field(pattern=r"^[^\x00]*$")]


class PaymentWebhook(BaseModel):
    """`POST /webhook/payment`'s body. Unknown fields are ignored: gateways add fields over time."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True)

    order_id: OrderId
    payment_id: PaymentId
    gateway_payment_id: GatewayPaymentId
    signature: Signature
    status: Literal["SUCCESS", "FAILED"]
    amount: Amount | None = None
    currency: Currency | None = None
    method: dict[str, Any] | None = None
    error_code: Annotated[Text, Field(max_length=100)] | None = None
    error_description: Annotated[Text, Field(max_length=1000)] | None = None

    @field_validator("method")
    @classmethod
    def _method_storable(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None and has_nul(value):
            raise ValueError("must not contain NUL characters")
        # only a summary goes on: a sender that put a whole card in the report must not get its number
        # or CVV into the broker, the inbox or any table behind us
        return methods.summary_or_none(value)

    def contract_dict(self) -> dict[str, Any]:
        """The payload by the contract's names, without the optional fields the gateway left out."""
        return self.model_dump(by_alias=True, exclude_none=True)


def envelope(event_id: str, webhook: PaymentWebhook, received_at: datetime) -> dict[str, Any]:
    """What is published: the event id (`webhook-id`) travels with the data, so the consumer's inbox
    can deduplicate redeliveries of one event."""
    return {"eventId": event_id, "receivedAt": iso(received_at), "data": webhook.contract_dict()}
