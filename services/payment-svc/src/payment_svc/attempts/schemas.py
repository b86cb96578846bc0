"""The pydantic models of the attempts' internal API: what order-svc sends, and what it is answered."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from payments_common.admin_api.payments import TrailEntry


class InitiateBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    orderId: StrictStr = Field(min_length=1, max_length=64)
    merchantId: StrictStr = Field(min_length=1, max_length=128)
    amount: StrictInt = Field(gt=0)
    currency: StrictStr = Field(pattern=r"^[A-Z]{3}$")
    # the whole method: handed to the gateway, stored and published only as its summary
    method: dict[str, Any] | None = Field(default=None, repr=False)
    # the client's idempotent request, when it sent a key: see `initiate_payment`
    requestId: uuid.UUID | None = None
    # made for manual capture: the gateway authorises it, and it waits AUTHORIZED for a capture
    manualCapture: bool = False


class CaptureBody(BaseModel):
    """A capture of an AUTHORIZED payment: `amount` and `currency` must be the authorised ones."""

    model_config = ConfigDict(extra="forbid")

    merchantId: StrictStr = Field(min_length=1, max_length=128)
    amount: StrictInt = Field(gt=0)
    currency: StrictStr = Field(pattern=r"^[A-Z]{3}$")


class PaymentTrail(BaseModel):
    paymentId: str
    events: list[TrailEntry]
