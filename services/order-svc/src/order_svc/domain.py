"""What a client may send, as pydantic models; the validation rules of the contract live here."""

from __future__ import annotations

from collections.abc import Callable
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

from order_svc.customer import Customer
from payments_common.methods import (
    BANKS,
    METHOD_TYPES,
    NETWORKS,
    WALLETS,
    card_digits,
    card_expired,
    cvv_length,
    luhn_valid,
    network_of,
)
from payments_common.money import MAX_AMOUNT, SUPPORTED_CURRENCIES
from payments_common.timeutil import utcnow

MAX_NOTES = 15
MAX_NOTE_KEY = 64
MAX_NOTE_VALUE = 256

NoteValue = Annotated[StrictStr, Field(max_length=MAX_NOTE_VALUE)]


def _notes_bounded(value: dict[str, str]) -> dict[str, str]:
    if len(value) > MAX_NOTES:
        raise ValueError(f"at most {MAX_NOTES} notes")
    if any(len(key) > MAX_NOTE_KEY for key in value):
        raise ValueError(f"note keys are at most {MAX_NOTE_KEY} characters")
    return value


# a client's notes, an order's or a refund's: kept and shown back as they were sent
Notes = Annotated[dict[str, NoteValue], AfterValidator(_notes_bounded)]


class CreateOrder(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: StrictInt = Field(gt=0, le=MAX_AMOUNT)
    currency: StrictStr
    receipt: Annotated[StrictStr, Field(max_length=40)] | None = None
    notes: Notes | None = None
    # who the receipt email goes to once the order is paid; no customer, no email
    customer: Customer | None = None

    @field_validator("currency")
    @classmethod
    def _supported(cls, value: str) -> str:
        if value not in SUPPORTED_CURRENCIES:
            raise ValueError(f"must be one of {', '.join(sorted(SUPPORTED_CURRENCIES))}")
        return value

    @field_validator("receipt")
    @classmethod
    def _storable(cls, value: str | None) -> str | None:
        # PostgreSQL text cannot hold NUL: refused here as a 400 rather than failing the insert as a 500
        if value is not None and "\x00" in value:
            raise ValueError("must not contain NUL characters")
        return value


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
        # the messages never quote the number: an error answer is stored and replayed (idempotency)
        digits = card_digits(value)
        if digits is None:
            raise ValueError("must be 12 to 19 digits (spaces between them allowed)")
        if not luhn_valid(digits):
            raise ValueError("is not a valid card number (its check digit is wrong)")
        return digits

    @field_validator("expiryYear")
    @classmethod
    def _not_expired(cls, year: int, info: ValidationInfo) -> int:
        # the year is the field at fault: the card is good through its expiry month, so only a year
        # (the month's own range is checked on its own) can put that month in the past. A month already
        # refused is not in `info.data`, and is reported by itself
        month = info.data.get("expiryMonth")
        if isinstance(month, int) and card_expired(month, year, utcnow()):
            raise ValueError(f"the card expired at the end of {month:02d}/{year}")
        return year

    @field_validator("cvv")
    @classmethod
    def _cvv(cls, value: str, info: ValidationInfo) -> str:
        number = info.data.get("number")
        network = network_of(number) if isinstance(number, str) else None
        length = cvv_length(network)
        if len(value) != length or not value.isascii() or not value.isdigit():
            brand = f" for {NETWORKS[network]} cards" if network in NETWORKS else ""
            raise ValueError(f"must be {length} digits{brand}")
        return value

    @field_validator("name")
    @classmethod
    def _printable(cls, value: str) -> str:
        if not value.strip() or any(char < " " or char == "\x7f" for char in value):
            raise ValueError("must be the name on the card, without control characters")
        return value


class UpiMethod(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["upi"]
    vpa: Annotated[StrictStr, Field(min_length=3, max_length=100, pattern=r"^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+$")]


def _member_of(names: frozenset[str]) -> Callable[[str], str]:
    """The check that a string is one of `names`, naming them all in the error."""
    listed = ", ".join(sorted(names))

    def known(value: str) -> str:
        if value not in names:
            raise ValueError(f"must be one of {listed}")
        return value

    return known


WalletProvider = Annotated[
    StrictStr, Field(json_schema_extra={"enum": sorted(WALLETS)}), AfterValidator(_member_of(WALLETS))
]
BankCode = Annotated[StrictStr, Field(json_schema_extra={"enum": sorted(BANKS)}), AfterValidator(_member_of(BANKS))]


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


class InitiatePayment(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    orderId: Annotated[StrictStr, Field(min_length=1, max_length=100)]
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


class VerifyPayment(BaseModel):
    """The client's callback after checkout: what the gateway handed its frontend, to be checked."""

    model_config = ConfigDict(extra="forbid")

    orderId: Annotated[StrictStr, Field(min_length=1, max_length=100)]
    gatewayPaymentId: Annotated[StrictStr, Field(min_length=1, max_length=100)]
    # hex(HMAC-SHA256) is 64 characters; the bound only keeps hostile input small
    signature: Annotated[StrictStr, Field(min_length=1, max_length=256)]
