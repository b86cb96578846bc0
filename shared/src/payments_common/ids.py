"""Prefixed, time-ordered identifiers: `order_<uuid7>`, `pay_<uuid7>`, `gw_<uuid7>`, `rfnd_<uuid7>`.

UUIDv7 keeps b-tree inserts append-mostly and makes ids sort by creation time.
"""

from __future__ import annotations

import re
import uuid
from typing import Annotated

import uuid_utils.compat
from pydantic import AfterValidator, Field, StrictStr

ORDER = "order"
PAYMENT = "pay"
GATEWAY_PAYMENT = "gw"
EVENT = "evt"
REFUND = "rfnd"
# the gateway's own id of a refund, as `gw_` is of a payment
GATEWAY_REFUND = "gwrf"

_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_PATTERNS = {p: re.compile(rf"^{p}_{_UUID}$") for p in (ORDER, PAYMENT, GATEWAY_PAYMENT, EVENT, REFUND, GATEWAY_REFUND)}


def new_uuid() -> uuid.UUID:
    # the standard library's UUID type, made without a round trip through its text
    return uuid_utils.compat.uuid7()


def new_id(prefix: str) -> str:
    return f"{prefix}_{new_uuid()}"


def is_valid(prefix: str, value: object) -> bool:
    return isinstance(value, str) and bool(_PATTERNS[prefix].match(value))


def _checked(prefix: str) -> AfterValidator:
    def check(value: str) -> str:
        if not is_valid(prefix, value):
            raise ValueError(f"expected an id like {prefix}_<uuid>")
        return value

    return AfterValidator(check)


# for pydantic models at the edges: a string that is an id of that kind
OrderId = Annotated[StrictStr, Field(min_length=1, max_length=64), _checked(ORDER)]
PaymentId = Annotated[StrictStr, Field(min_length=1, max_length=64), _checked(PAYMENT)]
GatewayPaymentId = Annotated[StrictStr, Field(min_length=1, max_length=64), _checked(GATEWAY_PAYMENT)]
RefundId = Annotated[StrictStr, Field(min_length=1, max_length=64), _checked(REFUND)]
GatewayRefundId = Annotated[StrictStr, Field(min_length=1, max_length=64), _checked(GATEWAY_REFUND)]
