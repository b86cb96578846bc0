"""Messages that cross service boundaries, defined once for producer and consumer."""

from __future__ import annotations

import typing
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, field_validator

from payments_common import methods
from payments_common.money import MAX_AMOUNT
from payments_common.storable import has_nul
from payments_common.timeutil import IsoDatetime

PAYMENT_INITIATED = "payment.initiated"
PAYMENT_SUCCEEDED = "payment.succeeded"
PAYMENT_FAILED = "payment.failed"
# a manually captured payment the gateway authorised: not paid until it is captured
PAYMENT_AUTHORIZED = "payment.authorized"
ORDER_PAID = "order.paid"
REFUND_REQUESTED = "refund.requested"
REFUND_CREATED = "refund.created"
REFUND_UPDATED = "refund.updated"
# the message type the webhook gateway gives a refund report (a payment report's is `payment.webhook`)
REFUND_WEBHOOK_TYPE = "refund.webhook"


class _Snapshot(BaseModel):
    """What payment-svc's snapshots of a payment and of a refund share; `version` orders the snapshots of
    one of them, so a consumer keeps the newest whatever order they arrive in."""

    model_config = ConfigDict(frozen=True)

    id: str
    orderId: str
    merchantId: str
    amount: int
    currency: str
    errorCode: str | None = None
    errorDescription: str | None = None
    version: int = Field(ge=1)
    createdAt: datetime
    updatedAt: datetime


class PaymentSnapshot(_Snapshot):
    """A payment as payment-svc holds it after a change."""

    status: Literal["INITIATED", "AUTHORIZED", "SUCCESS", "FAILED"]
    gatewayPaymentId: str | None = None
    signature: str | None = None
    method: dict[str, Any] | None = None


class PaymentEvent(BaseModel):
    type: Literal["payment.initiated", "payment.authorized", "payment.succeeded", "payment.failed"]
    payment: PaymentSnapshot


class OrderPaidEvent(BaseModel):
    """order-svc has the order paid by this payment (sent again whenever it hears of the SUCCESS)."""

    type: Literal["order.paid"] = "order.paid"
    orderId: str
    paymentId: str
    merchantId: str
    paidAt: datetime


# The fields of the gateway's reports, under the rules the webhook gateway applies at the door: the
# consumer decodes with these same models, so what it reads is exactly what the door let through.
# Any string of sane length: a malformed signature is an INVALID_SIGNATURE, decided by the signature check.
Signature = Annotated[StrictStr, Field(min_length=1, max_length=256)]
# an amount beyond any order's maximum is still passed on: the consumer records it as a mismatch
ReportedAmount = Annotated[StrictInt, Field(gt=0, le=MAX_AMOUNT * 1000)]
Currency = Annotated[StrictStr, Field(pattern=r"^[A-Z]{3}$")]
# PostgreSQL text and jsonb cannot hold NUL: refused at the door, rather than failing the consumer on
# every retry until the event is dead-lettered
Text = Annotated[StrictStr, Field(pattern=r"^[^\x00]*$")]
ErrorCode = Annotated[Text, Field(max_length=100)]
ErrorDescription = Annotated[Text, Field(max_length=1000)]


class _Report(BaseModel):
    """A gateway report's payload. The ids are plain strings here: the webhook gateway's body models
    (`webhook_gateway.payments.schemas`, `webhook_gateway.refunds.schemas`) narrow them to the id formats,
    and the consumer matches them against its own records. Unknown fields are ignored: gateways add
    fields over time."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    def contract_dict(self) -> dict[str, Any]:
        """The payload by the contract's names, without the optional fields the gateway left out."""
        return self.model_dump(mode="json", exclude_none=True)


class WebhookPayload(_Report):
    """The gateway's report of a payment as the webhook gateway accepted it (already verified)."""

    orderId: str
    paymentId: str
    gatewayPaymentId: str
    signature: Signature
    # AUTHORIZED: a payment made for manual capture holds its money until captured (or voided)
    status: Literal["SUCCESS", "FAILED", "AUTHORIZED"]
    amount: ReportedAmount | None = None
    currency: Currency | None = None
    method: dict[str, Any] | None = None
    errorCode: ErrorCode | None = None
    errorDescription: ErrorDescription | None = None

    @field_validator("method")
    @classmethod
    def _method_storable(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None and has_nul(value):
            raise ValueError("must not contain NUL characters")
        # only a summary goes on: a sender that put a whole card in the report must not get its number
        # or CVV into the broker, the inbox or any table behind us (a summary's summary is itself)
        return methods.summary_or_none(value)


class _Envelope(BaseModel):
    """What the webhook gateway publishes: the event id (`webhook-id`) travels with the data, so the
    consumer's inbox can deduplicate redeliveries of one event."""

    eventId: str
    # written as the contract writes times (milliseconds, `Z`)
    receivedAt: IsoDatetime

    def to_json(self) -> bytes:
        """The message body; the payload without the optional fields the gateway left out."""
        return self.model_dump_json(exclude_none=True).encode()


class WebhookEnvelope(_Envelope):
    data: WebhookPayload


class RefundSnapshot(_Snapshot):
    """A refund as payment-svc holds it after a change."""

    paymentId: str
    status: Literal["PENDING", "PROCESSED", "FAILED"]
    notes: dict[str, Any] | None = None
    gatewayRefundId: str | None = None


class RefundEvent(BaseModel):
    """`refund.requested` asks payment-svc's sender to take the refund to the gateway; `refund.created` and
    `refund.updated` carry the snapshot to order-svc."""

    type: Literal["refund.requested", "refund.created", "refund.updated"]
    refund: RefundSnapshot


class RefundWebhookPayload(_Report):
    """The gateway's report of a refund as the webhook gateway accepted it (already verified). Unlike a
    payment's it carries no payment signature: the Standard Webhooks signature vouches for every field."""

    refundId: str
    paymentId: str
    gatewayPaymentId: str
    gatewayRefundId: str
    # the consumer compares them with the refund it asked for: a mismatch goes to an operator
    amount: ReportedAmount
    currency: Currency
    status: Literal["PROCESSED", "FAILED"]
    errorCode: ErrorCode | None = None
    errorDescription: ErrorDescription | None = None


class RefundWebhookEnvelope(_Envelope):
    data: RefundWebhookPayload


# ---------------------------------------------------------------------------------------------------
# Webhooks to merchants: order-svc records each one in its outbox, in the transaction of the change it
# reports, and the merchant-webhooks process delivers it to every endpoint of the merchant subscribed to it

MERCHANT_EVENT_TYPE = "merchant.event"
# the routing key of a merchant event on `orders.events`: `merchant.` + its event name
MERCHANT_EVENT_KEY_PREFIX = "merchant."
MerchantEventName = Literal[
    "payment.authorized",
    "payment.captured",
    "payment.failed",
    "order.paid",
    "refund.created",
    "refund.processed",
    "refund.failed",
    "payment_link.paid",
    "payment_link.cancelled",
    "subscription.authenticated",
    "subscription.activated",
    "subscription.charged",
    "subscription.pending",
    "subscription.halted",
    "subscription.cancelled",
    "subscription.completed",
]
MERCHANT_EVENT_NAMES: tuple[str, ...] = typing.get_args(MerchantEventName)


class MerchantEvent(BaseModel):
    """One event a merchant's endpoints are told of, in Razorpay's webhook shape once delivered.

    `id` (`evt_…`) is fixed when the event is recorded, so every delivery and redelivery of it carries the
    same `X-Razorpay-Event-Id` / `webhook-id`; `payload` maps each entity named in `contains` to
    `{"entity": {…}}`, the `/v1` entity as it was at the change; `created_at` is in Unix seconds."""

    model_config = ConfigDict(frozen=True)

    id: StrictStr = Field(pattern=r"^evt_[A-Za-z0-9]{14,32}$")
    merchant_id: StrictStr
    event: MerchantEventName
    contains: list[StrictStr]
    payload: dict[str, dict[str, Any]]
    created_at: StrictInt


WEBHOOK_ENDPOINT_DISABLED_TYPE = "email.webhook_endpoint_disabled"


class WebhookEndpointDisabled(BaseModel):
    """merchant-webhooks disabled an endpoint that kept failing: order-svc's mailer tells the merchant's
    alert email, once per disabling (`id` is the inbox key)."""

    model_config = ConfigDict(frozen=True)

    id: StrictStr
    merchant_id: StrictStr
    endpoint_id: StrictStr
    url: StrictStr
    failing_since: datetime
    disabled_at: datetime
    last_error: StrictStr | None = None
