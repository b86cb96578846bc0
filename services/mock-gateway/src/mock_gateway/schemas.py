"""The body of `POST /v1/payments`, as the payment service sends it."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt, StrictStr
from pydantic.alias_generators import to_camel

from payments_common import ids
from payments_common.money import MAX_AMOUNT


def _prefixed_id(prefix: str) -> AfterValidator:
    def check(value: str) -> str:
        if not ids.is_valid(prefix, value):
            raise ValueError(f"expected an id like {prefix}_<uuid>")
        return value

    return AfterValidator(check)


class CreatePaymentRequest(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True)

    payment_id: Annotated[StrictStr, Field(max_length=64), _prefixed_id(ids.PAYMENT)]
    order_id: Annotated[StrictStr, Field(max_length=64), _prefixed_id(ids.ORDER)]
    amount: Annotated[StrictInt, Field(gt=0, le=MAX_AMOUNT)]
    currency: Annotated[StrictStr, Field(pattern=r"^[A-Z]{3}$")]
    method: dict[str, Any] | None = None
