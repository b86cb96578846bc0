"""The pydantic models of the refunds' internal API: what order-svc sends to ask for a refund."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, field_validator

from payments_common.money import MAX_AMOUNT
from payments_common.storable import has_nul


class RefundBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    merchantId: StrictStr = Field(min_length=1, max_length=128)
    # absent: everything not refunded yet
    amount: StrictInt | None = Field(default=None, gt=0, le=MAX_AMOUNT)
    # order-svc has checked them as a client's notes
    notes: dict[str, Any] | None = None
    # the client's idempotent request, when it sent a key: see `create_refund`
    requestId: uuid.UUID | None = None

    @field_validator("notes")
    @classmethod
    def _publishable(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        # they go into the outbox's jsonb, which cannot hold NUL: a 400 here rather than a failed insert
        if value is not None and has_nul(value):
            raise ValueError("must not contain NUL characters")
        return value
