"""The admin API's answers, as pydantic models (the console reads them with models of the same shape)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from payments_common.openapi import Timestamp


class OrderBucket(BaseModel):
    at: Timestamp
    orders: int
    paid: int


class OrderAnalytics(BaseModel):
    """Orders created in [from, to) and how many are paid; `conversion` is paid / orders (null: no orders)."""

    model_config = ConfigDict(populate_by_name=True)

    from_: Timestamp = Field(alias="from")
    to: Timestamp
    merchant: str | None
    bucket: Literal["minute", "hour"]
    orders: int
    paid: int
    conversion: float | None
    series: list[OrderBucket]


class AdminOrder(BaseModel):
    id: str
    merchantId: str
    amount: int
    currency: str
    status: str
    receipt: str | None
    createdAt: Timestamp
    updatedAt: Timestamp

    @classmethod
    def of(cls, row: dict[str, object]) -> AdminOrder:
        return cls.model_validate(
            {
                "id": row["id"],
                "merchantId": row["merchant_id"],
                "amount": row["amount"],
                "currency": row["currency"],
                "status": row["status"],
                "receipt": row["receipt"],
                "createdAt": row["created_at"],
                "updatedAt": row["updated_at"],
            }
        )
