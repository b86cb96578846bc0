"""Messages that cross service boundaries, defined once for producer and consumer."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

PAYMENT_INITIATED = "payment.initiated"
PAYMENT_SUCCEEDED = "payment.succeeded"
PAYMENT_FAILED = "payment.failed"
ORDER_PAID = "order.paid"


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
