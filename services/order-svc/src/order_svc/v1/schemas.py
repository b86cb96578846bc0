"""What the /v1 surface shares: Razorpay's error object, a collection's query (`count`, `skip`, `from`,
`to`) and the payment methods' answer."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from order_svc.lists.domain import DEFAULT_PAGE, MAX_PAGE, Page
from payments_common.methods import BANKS, NETWORKS, WALLETS

# the latest moment `from`/`to` may name (year 2286), so a datetime can always hold it
MAX_UNIX = 9_999_999_999


class RazorpayErrorDetail(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: Literal["BAD_REQUEST_ERROR", "GATEWAY_ERROR", "SERVER_ERROR"]
    description: str
    field: str | None
    source: str
    step: str
    reason: str
    metadata: dict[str, Any]


class RazorpayError(BaseModel):
    """Every /v1 error: the SDK raises `BadRequestError`, `GatewayError` or `ServerError` by `code`."""

    model_config = ConfigDict(extra="forbid")

    error: RazorpayErrorDetail


class ListQuery(BaseModel):
    """A collection's query string: `count` (1 to 100, 10 by default) newest first, past `skip` of them,
    created from `from` to `to` (Unix seconds, both included)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    count: int = Field(default=DEFAULT_PAGE, ge=1, le=MAX_PAGE)
    skip: int = Field(default=0, ge=0, le=1_000_000)
    from_: int | None = Field(default=None, alias="from", ge=0, le=MAX_UNIX)
    to: int | None = Field(default=None, ge=0, le=MAX_UNIX)

    def page(self, **filters: Any) -> Page:
        def moment(value: int | None) -> datetime | None:
            return None if value is None else datetime.fromtimestamp(value, UTC)

        return Page(limit=self.count, offset=self.skip, since=moment(self.from_), until=moment(self.to), **filters)


class OrderListQuery(ListQuery):
    # no NUL: PostgreSQL's text cannot hold one, so such a filter is the caller's 400, not a database error
    receipt: str | None = Field(default=None, max_length=40, pattern="^[^\\u0000]*$")
    # 1: orders with an authorised (or captured) payment; 0: orders without one
    authorized: Literal["0", "1", "true", "false"] | None = None

    def authorized_filter(self) -> bool | None:
        return None if self.authorized is None else self.authorized in ("1", "true")


class Methods(BaseModel):
    """`GET /v1/methods`: what a checkout may offer, as Razorpay lists it."""

    model_config = ConfigDict(extra="forbid")

    entity: Literal["methods"]
    card: bool
    debit_card: bool
    credit_card: bool
    card_networks: dict[str, bool]
    netbanking: dict[str, str]
    wallet: dict[str, bool]
    upi: bool
    emi: bool

    @classmethod
    def all(cls) -> Methods:
        return cls(
            entity="methods",
            card=True,
            debit_card=True,
            credit_card=True,
            card_networks={name: True for name in NETWORKS.values()},
            netbanking=dict(BANKS),
            wallet={code: True for code in WALLETS},
            upi=True,
            emi=False,
        )


class Collection(BaseModel):
    """Razorpay's list answer: `entity` "collection", `count`, and the `items` a subclass types."""

    model_config = ConfigDict(extra="forbid")

    entity: Literal["collection"]
    count: int
