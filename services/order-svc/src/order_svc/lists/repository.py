"""asyncpg queries of a merchant's pages of `orders`, `payment_views` and `refund_views`, and nothing else.

Every query is `WHERE merchant_id = $1 [AND filters] ORDER BY created_at DESC, id DESC LIMIT n`, which the
`*_by_merchant_page` / `*_by_merchant_status` indexes (migration 0007) answer as one range scan, in order,
stopping after the page: no sort, and no row of another merchant read.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from order_svc.lists.domain import Page
from order_svc.orders.domain import Order, OrderStatus
from order_svc.payments.domain import PaymentView
from order_svc.refunds.domain import RefundView

_ORDER_COLUMNS = (
    "id, merchant_id, amount, currency, status, receipt, notes, created_at, updated_at, customer_email, customer_name"
)
_PAYMENT_COLUMNS = """id, order_id, status, amount, currency, gateway_payment_id, signature, error_code,
                      error_description, version, created_at, updated_at, method"""
_REFUND_COLUMNS = """id, payment_id, order_id, amount, currency, status, notes, error_code, error_description,
                     version, created_at, updated_at"""
# what /v1 calls an authorised order: one with an attempt that got the money (a captured one was authorised)
_AUTHORIZED = "EXISTS (SELECT 1 FROM payment_views v WHERE v.order_id = orders.id AND v.status = 'SUCCESS')"


class _Query:
    """The WHERE clause and arguments of one page, `$1` being the merchant."""

    def __init__(self, merchant_id: str) -> None:
        self.where = ["merchant_id = $1"]
        self.args: list[Any] = [merchant_id]

    def add(self, condition: str, *values: Any) -> None:
        """`condition` with `{}` for each value, in order."""
        names = []
        for value in values:
            self.args.append(value)
            names.append(f"${len(self.args)}")
        self.where.append(condition.format(*names))

    def page(self, page: Page, *, extra: int = 1) -> str:
        """The page's own conditions, then `ORDER BY … LIMIT … OFFSET …` (one row more than the page by
        default, to know whether another follows)."""
        if page.status is not None:
            self.add("status = {}", page.status)
        if page.since is not None:
            self.add("created_at >= {}", page.since)
        if page.until is not None:
            self.add("created_at <= {}", page.until)
        if page.after is not None:
            self.add("(created_at, id) < ({}, {})", page.after.created_at, page.after.id)
        self.args.extend((page.limit + extra, page.offset))
        n = len(self.args)
        return f"WHERE {' AND '.join(self.where)} ORDER BY created_at DESC, id DESC LIMIT ${n - 1} OFFSET ${n}"


def _order(row: asyncpg.Record) -> Order:
    values = {key: row[key] for key in _ORDER_COLUMNS.split(", ")}
    return Order(**{**values, "status": OrderStatus(values["status"])})


class ListRepository:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def _page(
        self, source: str, merchant_id: str, page: Page, extra: int, *where: str, **equal: str | None
    ) -> list[asyncpg.Record]:
        """`SELECT {source} WHERE merchant_id = $1`, each of `equal` given, then `where`, then the page's own."""
        query = _Query(merchant_id)
        for column, value in equal.items():
            if value is not None:
                query.add(f"{column} = {{}}", value)
        query.where.extend(where)
        tail = query.page(page, extra=extra)
        rows: list[asyncpg.Record] = await self._conn.fetch(f"SELECT {source} {tail}", *query.args)
        return rows

    async def orders(
        self, merchant_id: str, page: Page, *, authorized: bool | None = None, extra: int = 1
    ) -> list[Order]:
        where = () if authorized is None else (_AUTHORIZED if authorized else f"NOT {_AUTHORIZED}",)
        rows = await self._page(f"{_ORDER_COLUMNS} FROM orders", merchant_id, page, extra, *where, receipt=page.receipt)
        return [_order(row) for row in rows]

    async def payments(
        self, merchant_id: str, page: Page, *, order_id: str | None = None, extra: int = 1
    ) -> list[PaymentView]:
        rows = await self._page(f"{_PAYMENT_COLUMNS} FROM payment_views", merchant_id, page, extra, order_id=order_id)
        return [PaymentView(**dict(row)) for row in rows]

    async def refunds(
        self, merchant_id: str, page: Page, *, payment_id: str | None = None, extra: int = 1
    ) -> list[RefundView]:
        rows = await self._page(f"{_REFUND_COLUMNS} FROM refund_views", merchant_id, page, extra, payment_id=payment_id)
        return [RefundView(**dict(row)) for row in rows]

    async def attempts(self, order_ids: list[str]) -> dict[str, int]:
        """How many attempts each order has had."""
        rows = await self._conn.fetch(
            "SELECT order_id, count(*) AS n FROM payment_views WHERE order_id = ANY($1::text[]) GROUP BY order_id",
            order_ids,
        )
        return {row["order_id"]: row["n"] for row in rows}

    async def refunds_of(self, payment_ids: list[str]) -> list[RefundView]:
        """Every refund of these payments, oldest first."""
        rows = await self._conn.fetch(
            f"""SELECT {_REFUND_COLUMNS} FROM refund_views WHERE payment_id = ANY($1::text[])
                ORDER BY created_at, id""",
            payment_ids,
        )
        return [RefundView(**dict(row)) for row in rows]
