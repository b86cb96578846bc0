"""/v1 refunds' requests and answers, with Razorpay's field names."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from order_svc.refunds.domain import RefundView
from order_svc.refunds.schemas import CreateRefund
from order_svc.v1.domain import refund_state, unix
from order_svc.v1.schemas import Collection
from payments_common.money import MAX_AMOUNT


class CreateRefundV1(BaseModel):
    """`POST /v1/payments/{id}/refund`: without `amount`, all that is left of the payment."""

    model_config = ConfigDict(extra="forbid")

    amount: Annotated[StrictInt, Field(gt=0, le=MAX_AMOUNT)] | None = None
    speed: Literal["normal", "optimum"] = "normal"
    receipt: Annotated[StrictStr, Field(max_length=40, pattern="^[^\\u0000]*$")] | None = None
    notes: dict[str, str] | None = None

    def native(self) -> CreateRefund:
        # the native rules of notes (bounded, no NUL) apply; their errors name `notes` as here
        return CreateRefund.model_validate({"amount": self.amount, "notes": self.notes})


class RefundEntity(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    entity: Literal["refund"]
    amount: int
    currency: str
    payment_id: str
    status: Literal["pending", "processed", "failed"]
    speed_requested: Literal["normal", "optimum"]
    speed_processed: Literal["normal"] | None
    notes: dict[str, str]
    receipt: str | None
    created_at: int

    @classmethod
    def of(cls, refund: RefundView, details: tuple[str | None, str] | None) -> RefundEntity:
        receipt, speed = details or (None, "normal")
        status = refund_state(refund)
        return cls.model_validate(
            {
                "id": refund.id,
                "entity": "refund",
                "amount": refund.amount,
                "currency": refund.currency,
                "payment_id": refund.payment_id,
                "status": status,
                "speed_requested": speed,
                # the gateway refunds at one speed
                "speed_processed": "normal" if status == "processed" else None,
                "notes": refund.notes if refund.notes is not None else {},
                "receipt": receipt,
                "created_at": unix(refund.created_at),
            }
        )


class RefundCollection(Collection):
    items: list[RefundEntity]
