"""/v1 payments' requests and answers, with Razorpay's field names."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt, StrictStr, field_validator

from order_svc.orders.domain import MAX_EMAIL, Notes, deliverable_address
from order_svc.payments.domain import PaymentView
from order_svc.refunds.domain import RefundView
from order_svc.v1.domain import method_fields, payment_error, payment_status, refund_status, refunded_of, unix
from order_svc.v1.payments.repository import PaymentDetails
from payments_common.money import MAX_AMOUNT

# --- the server-to-server checkout ------------------------------------------------------------------


class CardV1(BaseModel):
    """A card as Razorpay's checkout takes it; the number and CVV go on to the gateway and nowhere else."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    number: Annotated[StrictStr, Field(repr=False, max_length=40, json_schema_extra={"pattern": "^[0-9 ]+$"})]
    # "12" or 12; a two-digit year is this century's
    expiry_month: Annotated[StrictStr, Field(pattern="^[0-9]{1,2}$")] | StrictInt
    expiry_year: Annotated[StrictStr, Field(pattern="^[0-9]{2}([0-9]{2})?$")] | StrictInt
    cvv: Annotated[StrictStr, Field(repr=False, json_schema_extra={"pattern": "^[0-9]{3,4}$"})]
    name: Annotated[StrictStr, Field(min_length=1, max_length=100)]

    def native(self) -> dict[str, Any]:
        year = int(self.expiry_year)
        return {
            "type": "card",
            "number": self.number,
            "expiryMonth": int(self.expiry_month),
            "expiryYear": 2000 + year if year < 100 else year,
            "cvv": self.cvv,
            "name": self.name,
        }


Contact = Annotated[StrictStr, Field(min_length=8, max_length=20, pattern="^\\+?[0-9]{8,15}$")]
Email = Annotated[
    StrictStr,
    Field(min_length=3, max_length=MAX_EMAIL, json_schema_extra={"format": "email"}),
    AfterValidator(deliverable_address),
]


class CreatePaymentJson(BaseModel):
    """`POST /v1/payments/create/json`: pay an order server to server. `amount` and `currency` must be the
    order's; `method` is `card` (with `card`), `upi` (with `vpa`), `wallet` (with `wallet`) or
    `netbanking` (with `bank`)."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    amount: StrictInt = Field(gt=0, le=MAX_AMOUNT)
    currency: StrictStr
    order_id: Annotated[StrictStr, Field(min_length=1, max_length=100)]
    email: Email
    contact: Contact
    method: Literal["card", "upi", "wallet", "netbanking"]
    card: CardV1 | None = None
    vpa: Annotated[StrictStr, Field(max_length=100)] | None = None
    wallet: Annotated[StrictStr, Field(max_length=40)] | None = None
    bank: Annotated[StrictStr, Field(max_length=40)] | None = None
    notes: Notes | None = None

    @field_validator("notes")
    @classmethod
    def _storable(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        if value is not None and any("\x00" in k or "\x00" in v for k, v in value.items()):
            raise ValueError("notes must not contain NUL characters")
        return value

    def native_method(self) -> dict[str, Any]:
        """The method as the native `POST /payments/initiate` takes it (validated there)."""
        if self.method == "card":
            return self.card.native() if self.card else {"type": "card"}
        if self.method == "upi":
            return {"type": "upi", "vpa": self.vpa}
        if self.method == "wallet":
            return {"type": "wallet", "provider": self.wallet}
        return {"type": "netbanking", "bank": self.bank}


# the native method's field, by the name /v1 gave it
NATIVE_FIELDS = {
    "method.type": "method",
    "method.number": "card.number",
    "method.expiryMonth": "card.expiry_month",
    "method.expiryYear": "card.expiry_year",
    "method.cvv": "card.cvv",
    "method.name": "card.name",
    "method.vpa": "vpa",
    "method.provider": "wallet",
    "method.bank": "bank",
}


class PaymentCreated(BaseModel):
    """`POST /v1/payments/create/json`: the payment, `created` until the gateway settles it; `next` says
    where its checkout response (with `razorpay_signature`) is read once it is authorised."""

    model_config = ConfigDict(extra="forbid")

    razorpay_payment_id: str
    razorpay_order_id: str
    next: list[dict[str, str]]


class CapturePaymentV1(BaseModel):
    """`POST /v1/payments/{id}/capture` (`payment.capture`): `amount` and `currency` must be the authorised
    ones (Razorpay captures in full here; a partial capture is refused)."""

    model_config = ConfigDict(extra="forbid")

    amount: StrictInt = Field(gt=0, le=MAX_AMOUNT)
    currency: Annotated[StrictStr, Field(pattern="^[A-Z]{3}$")]


class CheckoutResponse(BaseModel):
    """What Razorpay's checkout hands the merchant's front end once the payment is authorised: the three
    fields `client.utility.verify_payment_signature` takes."""

    model_config = ConfigDict(extra="forbid")

    razorpay_payment_id: str
    razorpay_order_id: str
    razorpay_signature: str


class EditPayment(BaseModel):
    """`PATCH /v1/payments/{id}`: the payment's notes, replaced."""

    model_config = ConfigDict(extra="forbid")

    notes: Notes

    @field_validator("notes")
    @classmethod
    def _storable(cls, value: dict[str, str]) -> dict[str, str]:
        if any("\x00" in k or "\x00" in v for k, v in value.items()):
            raise ValueError("notes must not contain NUL characters")
        return value


# --- the payment entity -----------------------------------------------------------------------------


class CardEntity(BaseModel):
    model_config = ConfigDict(extra="forbid")

    entity: Literal["card"]
    last4: str | None
    network: str | None
    expiry_month: int | None
    expiry_year: int | None


class PaymentEntity(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    entity: Literal["payment"]
    amount: int
    currency: str
    status: Literal["created", "authorized", "captured", "refunded", "failed"]
    order_id: str
    method: Literal["card", "upi", "wallet", "netbanking"] | None
    captured: bool
    amount_refunded: int
    refund_status: Literal["partial", "full"] | None
    card: CardEntity | None
    vpa: str | None
    wallet: str | None
    bank: str | None
    email: str | None
    contact: str | None
    error_code: str | None
    error_description: str | None
    error_source: str | None
    error_step: str | None
    error_reason: str | None
    notes: dict[str, str]
    created_at: int

    @classmethod
    def of(cls, view: PaymentView, refunds: Sequence[RefundView], details: PaymentDetails | None) -> PaymentEntity:
        refunded = refunded_of(view, refunds)
        details = details or PaymentDetails()
        return cls.model_validate(
            {
                "id": view.id,
                "entity": "payment",
                "amount": view.amount,
                "currency": view.currency,
                "status": payment_status(view, refunded),
                "order_id": view.order_id,
                **method_fields(view.method),
                "captured": view.status == "SUCCESS",
                "amount_refunded": refunded,
                "refund_status": refund_status(view, refunded),
                "email": details.email,
                "contact": details.contact,
                **payment_error(view),
                "notes": details.notes if details.notes is not None else {},
                "created_at": unix(view.created_at),
            }
        )


class PaymentCollection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    entity: Literal["collection"]
    count: int
    items: list[PaymentEntity]
