"""The admin API's merchants and keys: what an operator sends, and the answers, each from its model."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictStr

from order_svc.merchants.domain import ApiKey, Merchant
from order_svc.orders.domain import MAX_EMAIL, check_header_safe, deliverable_address
from payments_common.openapi import Timestamp


class CreateMerchant(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[StrictStr, Field(min_length=1, max_length=200), AfterValidator(check_header_safe)]
    # where the merchant is told that one of its webhook endpoints was disabled
    alertEmail: (
        Annotated[StrictStr, Field(min_length=3, max_length=MAX_EMAIL), AfterValidator(deliverable_address)] | None
    ) = None


class MerchantAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    name: str
    alertEmail: str | None
    createdAt: Timestamp

    @classmethod
    def of(cls, merchant: Merchant) -> MerchantAnswer:
        return cls(id=merchant.id, name=merchant.name, alertEmail=merchant.alert_email, createdAt=merchant.created_at)


class MerchantList(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[MerchantAnswer]


class KeyAnswer(BaseModel):
    """A key as listed: never its secret."""

    model_config = ConfigDict(extra="forbid")

    keyId: str
    merchantId: str
    createdAt: Timestamp
    revokedAt: Timestamp | None

    @classmethod
    def of(cls, key: ApiKey) -> KeyAnswer:
        return cls(keyId=key.key_id, merchantId=key.merchant_id, createdAt=key.created_at, revokedAt=key.revoked_at)


class KeyCreatedAnswer(KeyAnswer):
    """The one answer that shows the key's secret: it is stored only as a digest."""

    keySecret: str


class KeyList(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[KeyAnswer]
