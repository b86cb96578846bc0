"""The gateway's refund report, `POST /webhook/refund`'s body, and the envelope it is published in.

Unlike a payment report it carries no payment signature: that one binds a gateway payment to an order
for the paying client, who never sees a refund. The Standard Webhooks signature over the raw body is
what vouches for every field here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from payments_common.ids import GatewayPaymentId, GatewayRefundId, PaymentId, RefundId
from payments_common.timeutil import iso
from webhook_gateway.payload import Amount, Currency, Text


class RefundWebhook(BaseModel):
    """Unknown fields are ignored: gateways add fields over time."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True)

    refund_id: RefundId
    payment_id: PaymentId
    gateway_payment_id: GatewayPaymentId
    gateway_refund_id: GatewayRefundId
    # the consumer compares them with the refund it asked for: a mismatch goes to an operator
    amount: Amount
    currency: Currency
    status: Literal["PROCESSED", "FAILED"]
    error_code: Annotated[Text, Field(max_length=100)] | None = None
    error_description: Annotated[Text, Field(max_length=1000)] | None = None

    def contract_dict(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True)


def refund_envelope(event_id: str, webhook: RefundWebhook, received_at: datetime) -> dict[str, Any]:
    """As a payment report's: the event id travels with the data, for the consumer's inbox."""
    return {"eventId": event_id, "receivedAt": iso(received_at), "data": webhook.contract_dict()}
