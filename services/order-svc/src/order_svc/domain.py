"""What a client may send, as pydantic models; the validation rules of the contract live here."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, field_validator

from payments_common.money import MAX_AMOUNT, SUPPORTED_CURRENCIES

MAX_NOTES = 15
MAX_NOTE_KEY = 64
MAX_NOTE_VALUE = 256

NoteValue = Annotated[StrictStr, Field(max_length=MAX_NOTE_VALUE)]


class CreateOrder(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: StrictInt = Field(gt=0, le=MAX_AMOUNT)
    currency: StrictStr
    receipt: Annotated[StrictStr, Field(max_length=40)] | None = None
    notes: dict[str, NoteValue] | None = None

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

    @field_validator("notes")
    @classmethod
    def _notes_bounded(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        if value is not None:
            if len(value) > MAX_NOTES:
                raise ValueError(f"at most {MAX_NOTES} notes")
            if any(len(key) > MAX_NOTE_KEY for key in value):
                raise ValueError(f"note keys are at most {MAX_NOTE_KEY} characters")
        return value


class UpiMethod(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["upi"]
    vpa: Annotated[StrictStr, Field(min_length=3, max_length=100, pattern=r"^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+$")]


class InitiatePayment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    orderId: Annotated[StrictStr, Field(min_length=1, max_length=100)]
    method: UpiMethod | None = None

    def method_dict(self) -> dict[str, Any] | None:
        return self.method.model_dump() if self.method else None


class VerifyPayment(BaseModel):
    """The client's callback after checkout: what the gateway handed its frontend, to be checked."""

    model_config = ConfigDict(extra="forbid")

    orderId: Annotated[StrictStr, Field(min_length=1, max_length=100)]
    gatewayPaymentId: Annotated[StrictStr, Field(min_length=1, max_length=100)]
    # hex(HMAC-SHA256) is 64 characters; the bound only keeps hostile input small
    signature: Annotated[StrictStr, Field(min_length=1, max_length=256)]
