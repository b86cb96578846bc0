"""The orders' HTTP surface: what a client may send to create an order, and the answers, each rendered
from the model that documents it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt, StrictStr, field_validator
from pydantic.json_schema import SkipJsonSchema

from order_svc.orders.domain import MAX_EMAIL, MAX_NAME, Notes, Order, check_header_safe, deliverable_address
from order_svc.payments.domain import PaymentView
from order_svc.payments.schemas import PaymentAttempt
from order_svc.refunds.domain import RefundView
from payments_common import openapi
from payments_common.money import MAX_AMOUNT, SUPPORTED_CURRENCIES
from payments_common.openapi import Timestamp


def _supported(value: str) -> str:
    if value not in SUPPORTED_CURRENCIES:
        raise ValueError(f"must be one of {', '.join(sorted(SUPPORTED_CURRENCIES))}")
    return value


# a currency this system takes (an order's, here and in /v1)
SupportedCurrency = Annotated[StrictStr, AfterValidator(_supported)]


# the customer of an order: who the receipt email of a successful payment goes to (no docstring: it
# would become the schema's description in the document)
class Customer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Annotated[
        StrictStr,
        Field(min_length=3, max_length=MAX_EMAIL, json_schema_extra={"format": "email"}),
        AfterValidator(deliverable_address),
    ]
    name: Annotated[StrictStr, Field(min_length=1, max_length=MAX_NAME), AfterValidator(check_header_safe)]

    @classmethod
    def of(cls, order: Order) -> Customer | None:
        """As stored: checked when the order was created, so not validated (nor normalised) again."""
        if order.customer_email is None or order.customer_name is None:
            return None
        return cls.model_construct(email=order.customer_email, name=order.customer_name)


class CreateOrder(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: StrictInt = Field(gt=0, le=MAX_AMOUNT)
    currency: SupportedCurrency
    receipt: Annotated[StrictStr, Field(max_length=40)] | None = None
    notes: Notes | None = None
    # who the receipt email goes to once the order is paid; no customer, no email
    customer: Customer | None = None
    # manual: a successful payment is only authorised (AUTHORIZED) until `POST /payments/{id}/capture`
    capture: Literal["automatic", "manual"] = "automatic"

    @field_validator("receipt")
    @classmethod
    def _storable(cls, value: str | None) -> str | None:
        # PostgreSQL text cannot hold NUL: refused here as a 400 rather than failing the insert as a 500
        if value is not None and "\x00" in value:
            raise ValueError("must not contain NUL characters")
        return value


class OrderCreated(BaseModel):
    """`POST /orders` 201; `receipt` and `notes` only when the client gave them, `customer` null without one."""

    model_config = ConfigDict(extra="forbid")

    orderId: str
    amount: int
    currency: str
    status: Literal["CREATED"]
    receipt: str | SkipJsonSchema[None] = openapi.absent_when_none()
    notes: dict[str, str] | SkipJsonSchema[None] = openapi.absent_when_none()
    customer: Customer | None
    createdAt: Timestamp

    @classmethod
    def of(cls, order: Order) -> OrderCreated:
        return cls(
            orderId=order.id,
            amount=order.amount,
            currency=order.currency,
            status=order.status,  # a new order's, CREATED (validated)
            receipt=order.receipt,
            notes=order.notes,
            customer=Customer.of(order),
            createdAt=order.created_at,
        )


class OrderSummary(BaseModel):
    """An order in `GET /orders`: as `GET /orders/{id}` shows it, without its attempts."""

    model_config = ConfigDict(extra="forbid")

    id: str
    amount: int
    currency: str
    status: Literal["CREATED", "PAID", "FAILED"]
    receipt: str | None
    notes: dict[str, str]
    # who the email of a successful payment goes to; null when the order was created without one
    customer: Customer | None
    createdAt: Timestamp
    updatedAt: Timestamp


class OrderResource(OrderSummary):
    """`GET /orders/{id}`: the order, its latest attempt (`payment`) and every attempt, oldest first."""

    payment: PaymentAttempt | None
    payments: list[PaymentAttempt]

    @classmethod
    def of(cls, order: Order, payments: Sequence[PaymentView], refunds: Sequence[RefundView] = ()) -> OrderResource:
        attempts = [PaymentAttempt.of(view, refunds) for view in payments]
        return cls(
            id=order.id,
            amount=order.amount,
            currency=order.currency,
            status=order.status,  # an OrderStatus, validated as its value
            receipt=order.receipt,
            notes=order.notes if order.notes is not None else {},
            customer=Customer.of(order),
            createdAt=order.created_at,
            updatedAt=order.updated_at,
            payment=attempts[-1] if attempts else None,
            payments=attempts,
        )
