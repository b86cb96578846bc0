"""The admin API's SQL on the orders table: every number counted by PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

# one order in [from, to), of one merchant when asked
_WINDOW = "created_at >= $1 AND created_at < $2 AND ($3::text IS NULL OR merchant_id = $3)"


async def order_analytics(
    conn: asyncpg.Connection, since: datetime, until: datetime, merchant: str | None, bucket: str
) -> dict[str, Any]:
    """Orders created in the window and how many of them are PAID, in total and per `bucket` (minute or hour:
    every bucket of the window, the empty ones as zeros, by generate_series)."""
    totals = await conn.fetchrow(
        f"""SELECT count(*) AS orders, count(*) FILTER (WHERE status = 'PAID') AS paid
              FROM orders WHERE {_WINDOW}""",
        since,
        until,
        merchant,
    )
    series = await conn.fetch(
        """SELECT b.at, count(o.id) AS orders, count(o.id) FILTER (WHERE o.status = 'PAID') AS paid
             FROM generate_series(date_trunc($4, $1::timestamptz), $2::timestamptz - interval '1 microsecond',
                                  ('1 ' || $4)::interval) AS b(at)
             LEFT JOIN orders o ON date_trunc($4, o.created_at) = b.at
                  AND o.created_at >= $1 AND o.created_at < $2 AND ($3::text IS NULL OR o.merchant_id = $3)
            GROUP BY b.at ORDER BY b.at""",
        since,
        until,
        merchant,
        bucket,
    )
    assert totals is not None
    orders, paid = int(totals["orders"]), int(totals["paid"])
    return {
        "orders": orders,
        "paid": paid,
        "conversion": paid / orders if orders else None,
        "series": [dict(row) for row in series],
    }


async def order_by_id(conn: asyncpg.Connection, order_id: str) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        """SELECT id, merchant_id, amount, currency, status, receipt, created_at, updated_at
             FROM orders WHERE id = $1""",
        order_id,
    )
    return row
