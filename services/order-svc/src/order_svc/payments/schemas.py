"""The payments' HTTP surface: what a client sends to start and to verify an attempt, and the answers,
each rendered from the model that documents it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    field_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from order_svc.payments.domain import (
    PaymentView,
    card_number,
    check_cvv,
    check_name_on_card,
    check_not_expired,
    member_of,
)
from order_svc.refunds.domain import RefundView, amount_refunded
from order_svc.refunds.schemas import RefundResource
from payments_common.events import PaymentSnapshot
from payments_common.methods import BANKS, METHOD_TYPES, WALLETS
from payments_common.money import MAX_AMOUNT
from payments_common.openapi import Timestamp

# the mock gateway's succeeding test card, as the document's example
_TEST_CARD = "4111 1111 1111 1111"


class CardMethod(BaseModel):
    """A card, as printed on it. Its number and CVV go on to the gateway and nowhere else: no table,
    message, log line or answer holds them; a payment shows the card's last 4 digits, network and expiry."""

    # the number and CVV are also kept out of the model's repr and of its validation errors
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    type: Literal["card"]
    # spaces allowed, as printed; kept as its digits
    number: Annotated[
        StrictStr,
        Field(repr=False, max_length=40, json_schema_extra={"pattern": "^[0-9 ]+$", "examples": [_TEST_CARD]}),
    ]
    expiryMonth: StrictInt = Field(ge=1, le=12)
    expiryYear: StrictInt = Field(ge=1000, le=9999, json_schema_extra={"examples": [2030]})
    cvv: Annotated[StrictStr, Field(repr=False, json_schema_extra={"pattern": "^[0-9]{3,4}$", "examples": ["123"]})]
    name: Annotated[StrictStr, Field(min_length=1, max_length=100)]

    @field_validator("number")
    @classmethod
    def _card_number(cls, value: str) -> str:
        return card_number(value)

    @field_validator("expiryYear")
    @classmethod
    def _not_expired(cls, year: int, info: ValidationInfo) -> int:
        # the year is the field at fault: only a year (the month's own range is checked on its own) can
        # put the expiry month in the past. A month already refused is not in `info.data`, and is
        # reported by itself
        month = info.data.get("expiryMonth")
        if isinstance(month, int):
            check_not_expired(month, year)
        return year

    @field_validator("cvv")
    @classmethod
    def _cvv(cls, value: str, info: ValidationInfo) -> str:
        number = info.data.get("number")
        check_cvv(value, number if isinstance(number, str) else None)
        return value

    @field_validator("name")
    @classmethod
    def _printable(cls, value: str) -> str:
        check_name_on_card(value)
        return value


class UpiMethod(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["upi"]
    vpa: Annotated[StrictStr, Field(min_length=3, max_length=100, pattern=r"^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+$")]


WalletProvider = Annotated[
    StrictStr, Field(json_schema_extra={"enum": sorted(WALLETS)}), AfterValidator(member_of(WALLETS))
]
BankCode = Annotated[StrictStr, Field(json_schema_extra={"enum": sorted(BANKS)}), AfterValidator(member_of(BANKS))]


class WalletMethod(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["wallet"]
    provider: WalletProvider


class NetbankingMethod(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["netbanking"]
    bank: BankCode


PaymentMethod = Annotated[CardMethod | UpiMethod | WalletMethod | NetbankingMethod, Field(discriminator="type")]

# the errors pydantic gives a tag that is missing or names no method
_TAG_ERRORS = frozenset({"union_tag_invalid", "union_tag_not_found"})


def _by_client_path(exc: ValidationError) -> ValidationError:
    """The errors of a method at the paths the client wrote. pydantic puts the union's tag into the path
    (`card.number`), where the client wrote `method.number`; a missing or unknown tag is `method.type`.
    Inputs are dropped: they may be a card number."""
    details: list[InitErrorDetails] = []
    for error in exc.errors(include_url=False, include_input=False):
        loc = error["loc"]
        message = error["msg"]
        if error["type"] in _TAG_ERRORS:
            loc, message = ("type",), f"must be one of {', '.join(METHOD_TYPES)}"
        elif loc and loc[0] in METHOD_TYPES:
            loc = loc[1:]
        # the message as pydantic rendered it, as a template's only value: braces in it (a pattern's
        # `{3,4}`) stay text
        kind = PydanticCustomError(error["type"], "{message}", {"message": message})
        details.append(InitErrorDetails(type=kind, loc=loc, input=None))
    return ValidationError.from_exception_data(exc.title, details, hide_input=True)


OrderId = Annotated[StrictStr, Field(min_length=1, max_length=100)]


class InitiatePayment(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    orderId: OrderId
    method: PaymentMethod | None = None

    @field_validator("method", mode="wrap")
    @classmethod
    def _method_errors_by_field(cls, value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        try:
            return handler(value)
        except ValidationError as exc:
            raise _by_client_path(exc) from None

    def method_dict(self) -> dict[str, Any] | None:
        """The whole method, for payment-svc to hand to the gateway (a card's number and CVV included)."""
        return self.method.model_dump() if self.method else None


class CapturePayment(BaseModel):
    """`POST /payments/{paymentId}/capture`: capture an AUTHORIZED attempt, for exactly its amount and currency."""

    model_config = ConfigDict(extra="forbid")

    amount: StrictInt = Field(gt=0, le=MAX_AMOUNT)
    currency: Annotated[StrictStr, Field(pattern=r"^[A-Z]{3}$")]


class VerifyPayment(BaseModel):
    """The client's callback after checkout: what the gateway handed its frontend, to be checked."""

    model_config = ConfigDict(extra="forbid")

    orderId: OrderId
    gatewayPaymentId: Annotated[StrictStr, Field(min_length=1, max_length=100)]
    # hex(HMAC-SHA256) is 64 characters; the bound only keeps hostile input small
    signature: Annotated[StrictStr, Field(min_length=1, max_length=256)]


# --- answers ------------------------------------------------------------------------------------------


class CardSummary(BaseModel):
    """What is kept of a card (`payments_common.methods.summary`): never its number, CVV or holder's name."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["card"]
    last4: str | None
    # `visa`, `mastercard`, `rupay`, `amex`, `diners`, `jcb`, `discover`; null for a BIN range not known
    network: str | None
    expiryMonth: int | None
    expiryYear: int | None


class UpiSummary(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["upi"]
    vpa: str | None


class WalletSummary(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["wallet"]
    provider: str | None


class NetbankingSummary(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["netbanking"]
    bank: str | None


MethodSummary = Annotated[CardSummary | UpiSummary | WalletSummary | NetbankingSummary, Field(discriminator="type")]
AttemptStatus = Literal["INITIATED", "AUTHORIZED", "SUCCESS", "FAILED"]
OrderStatusName = Literal["CREATED", "PAID", "FAILED"]


class PaymentAttempt(BaseModel):
    """One payment attempt of an order, as `GET /orders/{id}` shows it."""

    model_config = ConfigDict(extra="forbid")

    id: str
    orderId: str
    status: AttemptStatus
    amount: int
    currency: str
    signature: str | None
    gatewayPaymentId: str | None
    errorCode: str | None
    errorDescription: str | None
    # how it was paid, as a summary; null when no method was given
    method: MethodSummary | None
    createdAt: Timestamp
    updatedAt: Timestamp
    # the sum of its refunds that have not failed (PENDING and PROCESSED): what can no longer be refunded
    amountRefunded: int
    # its refunds, oldest first
    refunds: list[RefundResource]

    @classmethod
    def of(cls, view: PaymentView, refunds: Sequence[RefundView] = ()) -> PaymentAttempt:
        """`refunds`: the order's; the attempt shows its own, oldest first, and what they take from it."""
        mine = [refund for refund in refunds if refund.payment_id == view.id]
        return cls.model_validate(
            {
                "id": view.id,
                "orderId": view.order_id,
                "status": view.status,
                "amount": view.amount,
                "currency": view.currency,
                "signature": view.signature,
                "gatewayPaymentId": view.gateway_payment_id,
                "errorCode": view.error_code,
                "errorDescription": view.error_description,
                "method": view.method,
                "createdAt": view.created_at,
                "updatedAt": view.updated_at,
                "amountRefunded": amount_refunded(mine, view.id),
                "refunds": [RefundResource.of(refund) for refund in mine],
            }
        )


class PaymentInitiated(BaseModel):
    """`POST /payments/initiate` 201; `signature` is hex(HMAC-SHA256(key, orderId|gatewayPaymentId))."""

    model_config = ConfigDict(extra="forbid")

    paymentId: str
    orderId: str
    gatewayPaymentId: str
    signature: str
    status: Literal["INITIATED"]
    method: MethodSummary | None

    @classmethod
    def of(cls, payment: PaymentSnapshot) -> PaymentInitiated:
        # the summary payment-svc kept, never the card the client sent
        return cls.model_validate(
            {
                "paymentId": payment.id,
                "orderId": payment.orderId,
                "gatewayPaymentId": payment.gatewayPaymentId,
                "signature": payment.signature,
                "status": payment.status,
                "method": payment.method,
            }
        )


class PaymentVerified(BaseModel):
    """`POST /payments/verify` 200: the signature is genuine; `status` is the attempt's status now.

    Reading only: the callback never settles a payment, the gateway's webhook (or reconciliation) does,
    so right after checkout `status` may still be INITIATED.
    """

    model_config = ConfigDict(extra="forbid")

    verified: Literal[True]
    orderId: str
    paymentId: str
    gatewayPaymentId: str
    status: AttemptStatus
    orderStatus: OrderStatusName


class PaymentLogEntry(BaseModel):
    """One entry of an attempt's trail; `eventId` is the webhook's id when a webhook caused it."""

    model_config = ConfigDict(extra="forbid")

    id: int
    kind: Literal[
        "created",
        "sent_to_gateway",
        "settled",
        "ignored_already_settled",
        "conflict_ignored",
        "duplicate_ignored",
        "gateway_error",
        "attached_by_reconciliation",
        "republished",
        "refund_requested",
        "refund_sent",
        "refund_processed",
        "refund_failed",
        "refund_ignored_already_settled",
        "refund_conflict_ignored",
    ]
    source: Literal["api", "webhook", "reconciliation", "expiry"]
    eventId: str | None
    # `settled` has `current` (from) and `to`; reports that changed nothing have `reported` and `current`;
    # the `refund_*` kinds (and a refund webhook's `duplicate_ignored`) name the refund in `refundId`
    detail: dict[str, Any]
    createdAt: Timestamp


class PaymentLog(BaseModel):
    """`GET /payments/{payment_id}/events`: what happened to the attempt, oldest first."""

    model_config = ConfigDict(extra="forbid")

    paymentId: str
    events: list[PaymentLogEntry]
