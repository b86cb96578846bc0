"""The native lists' query strings and answers: a page of items, newest first, and the cursor of the next."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictStr

from order_svc.lists.domain import DEFAULT_PAGE, MAX_PAGE, Cursor, Page
from order_svc.orders.schemas import OrderSummary
from order_svc.payments.schemas import PaymentAttempt
from order_svc.refunds.schemas import RefundResource
from payments_common.errors import bad_request


class ListQuery(BaseModel):
    """`limit` (1 to 100, 10 by default) newest first, created from `from` to `to` (RFC 3339, both
    included), continuing after `cursor` (a previous page's `nextCursor`)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    limit: int = Field(default=DEFAULT_PAGE, ge=1, le=MAX_PAGE)
    cursor: Annotated[StrictStr, Field(min_length=1, max_length=200)] | None = None
    from_: AwareDatetime | None = Field(default=None, alias="from")
    to: AwareDatetime | None = None

    def page(self, status: str | None = None, receipt: str | None = None) -> Page:
        after = None
        if self.cursor is not None:
            after = Cursor.decode(self.cursor)
            if after is None:
                raise bad_request("cursor: not a cursor this API gave", "cursor")
        return Page(limit=self.limit, after=after, since=self.from_, until=self.to, status=status, receipt=receipt)


class OrderListQuery(ListQuery):
    status: Literal["CREATED", "PAID", "FAILED"] | None = None
    receipt: Annotated[StrictStr, Field(max_length=40, pattern="^[^\\u0000]*$")] | None = None


class PaymentListQuery(ListQuery):
    status: Literal["INITIATED", "AUTHORIZED", "SUCCESS", "FAILED"] | None = None


class RefundListQuery(ListQuery):
    status: Literal["PENDING", "PROCESSED", "FAILED"] | None = None


class OrderPage(BaseModel):
    """`GET /orders`: newest first; `nextCursor` is null on the last page."""

    model_config = ConfigDict(extra="forbid")

    items: list[OrderSummary]
    nextCursor: str | None


class PaymentPage(BaseModel):
    """`GET /payments`: newest first; `nextCursor` is null on the last page."""

    model_config = ConfigDict(extra="forbid")

    items: list[PaymentAttempt]
    nextCursor: str | None


class RefundPage(BaseModel):
    """`GET /refunds`: newest first; `nextCursor` is null on the last page."""

    model_config = ConfigDict(extra="forbid")

    items: list[RefundResource]
    nextCursor: str | None
