"""Messages that cross service boundaries, defined once for producer and consumer."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

PAYMENT_INITIATED = "payment.initiated"
PAYMENT_SUCCEEDED = "payment.succeeded"
PAYMENT_FAILED = "payment.failed"
ORDER_PAID = "order.paid"
REFUND_REQUESTED = "refund.requested"
REFUND_CREATED = "refund.created"
REFUND_UPDATED = "refund.updated"
# the message type the webhook gateway gives a refund report (a payment report's is `payment.webhook`)
REFUND_WEBHOOK_TYPE = "refund.webhook"


class PaymentSnapshot(BaseModel):
    """A payment as payment-svc holds it after a change; `version` orders snapshots of one payment,
    so a consumer keeps the newest whatever order they arrive in."""

    model_config = ConfigDict(frozen=True)

    id: str
    orderId: str
    merchantId: str
    amount: int
    currency: str
    status: Literal["INITIATED", "SUCCESS", "FAILED"]
    gatewayPaymentId: str | None = None
    signature: str | None = None
    method: dict[str, Any] | None = None
    errorCode: str | None = None
    errorDescription: str | None = None
    version: int = Field(ge=1)
    createdAt: datetime
    updatedAt: datetime


class PaymentEvent(BaseModel):
    type: Literal["payment.initiated", "payment.succeeded", "payment.failed"]
    payment: PaymentSnapshot


class OrderPaidEvent(BaseModel):
    """order-svc has the order paid by this payment (sent again whenever it hears of the SUCCESS)."""

    type: Literal["order.paid"] = "order.paid"
    orderId: str
    paymentId: str
    merchantId: str
    paidAt: datetime


class WebhookPayload(BaseModel):
    """The gateway's report as the webhook gateway accepted it (already verified)."""

    orderId: str
    paymentId: str
    gatewayPaymentId: str
    signature: str
    status: Literal["SUCCESS", "FAILED"]
    amount: int | None = None
    currency: str | None = None
    method: dict[str, Any] | None = None
    errorCode: str | None = None
    errorDescription: str | None = None


class WebhookEnvelope(BaseModel):
    """What the webhook gateway publishes: the event id (`webhook-id`) and the verified payload."""

    eventId: str
    receivedAt: datetime
    data: WebhookPayload


class RefundSnapshot(BaseModel):
    """A refund as payment-svc holds it after a change; `version` orders snapshots of one refund."""

    model_config = ConfigDict(frozen=True)

    id: str
    paymentId: str
    orderId: str
    merchantId: str
    amount: int
    currency: str
    status: Literal["PENDING", "PROCESSED", "FAILED"]
    notes: dict[str, Any] | None = None
    gatewayRefundId: str | None = None
    errorCode: str | None = None
    errorDescription: str | None = None
    version: int = Field(ge=1)
    createdAt: datetime
    updatedAt: datetime


class RefundEvent(BaseModel):
    """`refund.requested` asks payment-svc's sender to take the refund to the gateway; `refund.created` and
    `refund.updated` carry the snapshot to order-svc."""

    type: Literal["refund.requested", "refund.created", "refund.updated"]
    refund: RefundSnapshot


class RefundWebhookPayload(BaseModel):
    """The gateway's report of a refund as the webhook gateway accepted it (already verified)."""

    refundId: str
    paymentId: str
    gatewayPaymentId: str
    gatewayRefundId: str
    amount: int
    currency: str
    status: Literal["PROCESSED", "FAILED"]
    errorCode: str | None = None
    errorDescription: str | None = None


class RefundWebhookEnvelope(BaseModel):
    eventId: str
    receivedAt: datetime
    data: RefundWebhookPayload
