"""/v1 orders' requests and answers, with Razorpay's field names."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, field_validator

from order_svc.orders.domain import Notes, Order
from order_svc.orders.schemas import CreateOrder, SupportedCurrency
from order_svc.v1.domain import amount_paid, order_status, unix
from order_svc.v1.schemas import Collection
from payments_common.money import MAX_AMOUNT


class CreateOrderV1(BaseModel):
    """`POST /v1/orders`. `payment_capture`: 1 or true (the default) captures a payment as it succeeds; 0 or
    false leaves it `authorized` until `POST /v1/payments/{id}/capture`."""

    model_config = ConfigDict(extra="forbid")

    amount: StrictInt = Field(gt=0, le=MAX_AMOUNT)
    currency: SupportedCurrency
    receipt: Annotated[StrictStr, Field(max_length=40, pattern="^[^\\u0000]*$")] | None = None
    notes: Notes | None = None
    partial_payment: Literal[False] = False
    # Razorpay takes the flag as 0/1 or as a boolean
    payment_capture: StrictBool | StrictInt | None = None

    @field_validator("payment_capture")
    @classmethod
    def _capture_flag(cls, value: bool | int | None) -> bool | int | None:
        if value is not None and value not in (0, 1):
            raise ValueError("must be 0, 1, true or false")
        return value

    def native(self) -> CreateOrder:
        capture = "manual" if self.payment_capture is not None and not self.payment_capture else "automatic"
        return CreateOrder(
            amount=self.amount, currency=self.currency, receipt=self.receipt, notes=self.notes, capture=capture
        )


class OrderEntity(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    entity: Literal["order"]
    amount: int
    amount_paid: int
    amount_due: int
    currency: str
    receipt: str | None
    offer_id: None
    status: Literal["created", "attempted", "paid"]
    attempts: int
    notes: dict[str, str]
    created_at: int

    @classmethod
    def of(cls, order: Order, attempts: int) -> OrderEntity:
        paid = amount_paid(order)
        return cls.model_validate(
            {
                "id": order.id,
                "entity": "order",
                "amount": order.amount,
                "amount_paid": paid,
                "amount_due": order.amount - paid,
                "currency": order.currency,
                "receipt": order.receipt,
                "offer_id": None,
                "status": order_status(order, attempts),
                "attempts": attempts,
                "notes": order.notes if order.notes is not None else {},
                "created_at": unix(order.created_at),
            }
        )


class OrderCollection(Collection):
    items: list[OrderEntity]
