"""The refunds' HTTP surface: what a client sends to ask for a refund, and the answers, each rendered from
the model that documents it."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt

from order_svc.orders.domain import Notes
from order_svc.refunds.domain import RefundView
from payments_common.events import RefundSnapshot
from payments_common.money import MAX_AMOUNT
from payments_common.openapi import Timestamp
from payments_common.storable import has_nul


def _publishable(notes: dict[str, str]) -> dict[str, str]:
    if has_nul(notes):
        raise ValueError("notes must not contain NUL characters")
    return notes


class CreateRefund(BaseModel):
    """`POST /payments/{payment_id}/refunds`: without `amount`, everything not refunded yet."""

    model_config = ConfigDict(extra="forbid")

    amount: Annotated[StrictInt, Field(gt=0, le=MAX_AMOUNT)] | None = None
    # unlike an order's, a refund's notes travel in events (jsonb), which cannot hold NUL
    notes: Annotated[Notes, AfterValidator(_publishable)] | None = None


RefundStatus = Literal["PENDING", "PROCESSED", "FAILED"]


class RefundResource(BaseModel):
    """`GET /refunds/{refund_id}`, and each refund in a payment's `refunds`. A refund is `PENDING` until the
    gateway reports it `PROCESSED` or `FAILED`; a FAILED one gives its amount back to the payment."""

    model_config = ConfigDict(extra="forbid")

    refundId: str
    paymentId: str
    orderId: str
    amount: int
    currency: str
    status: RefundStatus
    notes: dict[str, str]
    errorCode: str | None
    errorDescription: str | None
    createdAt: Timestamp
    updatedAt: Timestamp

    @classmethod
    def of(cls, refund: RefundView) -> RefundResource:
        return cls.model_validate(
            {
                "refundId": refund.id,
                "paymentId": refund.payment_id,
                "orderId": refund.order_id,
                "amount": refund.amount,
                "currency": refund.currency,
                "status": refund.status,
                "notes": refund.notes if refund.notes is not None else {},
                "errorCode": refund.error_code,
                "errorDescription": refund.error_description,
                "createdAt": refund.created_at,
                "updatedAt": refund.updated_at,
            }
        )


class RefundCreated(BaseModel):
    """`POST /payments/{payment_id}/refunds` 201: the refund, PENDING; the gateway settles it by webhook."""

    model_config = ConfigDict(extra="forbid")

    refundId: str
    paymentId: str
    amount: int
    currency: str
    status: Literal["PENDING"]

    @classmethod
    def of(cls, refund: RefundSnapshot) -> RefundCreated:
        shown = refund.model_dump(include={"paymentId", "amount", "currency", "status"})
        return cls.model_validate({"refundId": refund.id, **shown})
