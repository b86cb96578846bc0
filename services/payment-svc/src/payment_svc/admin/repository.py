"""The admin API's SQL on payment-svc's tables: the payment search, one payment with everything about it,
the anomalies listed and counted, and an anomaly's resolution."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg


@dataclass(frozen=True, slots=True)
class Anomaly:
    id: int
    payment_id: str
    order_id: str
    kind: str
    source: str
    event_id: str | None
    detail: dict[str, Any]
    created_at: datetime
    resolved_at: datetime | None
    resolution: str | None
    resolved_by: str | None = None
    resolution_note: str | None = None
    refund_id: str | None = None


# an anomaly's columns, as `Anomaly` holds them
ANOMALY_COLUMNS = (
    "id, payment_id, order_id, kind, source, event_id, detail, created_at, resolved_at, resolution,"
    " resolved_by, resolution_note, refund_id"
)


async def list_anomalies(
    conn: asyncpg.Connection, *, include_resolved: bool = False, limit: int = 100
) -> list[Anomaly]:
    rows = await conn.fetch(
        f"""SELECT {ANOMALY_COLUMNS}
             FROM anomalies WHERE $1 OR resolved_at IS NULL ORDER BY id DESC LIMIT $2""",
        include_resolved,
        limit,
    )
    return [Anomaly(**dict(row)) for row in rows]


async def count_open_anomalies(conn: asyncpg.Connection) -> int:
    count: int = await conn.fetchval("SELECT count(*) FROM anomalies WHERE resolved_at IS NULL")
    return count


_PAYMENT_ROW = """p.id, p.order_id, p.merchant_id, p.amount, p.currency, p.method->>'type' AS method, p.status,
       p.gateway_payment_id, p.error_code, p.error_description, p.settled_by, p.amount_refunded,
       p.created_at, p.updated_at"""

# `ident` is whichever id an operator has: the payment's, its order's, the gateway's, or a refund's (ours
# or the gateway's); each of those is a primary key or a unique column, so each arm is an index lookup
_SEARCH = f"""
SELECT {_PAYMENT_ROW}
  FROM payments p
 WHERE ($1::text IS NULL OR p.id = $1 OR p.order_id = $1 OR p.gateway_payment_id = $1
        OR p.id IN (SELECT r.payment_id FROM refunds r WHERE r.id = $1 OR r.gateway_refund_id = $1))
   AND ($2::text IS NULL OR p.merchant_id = $2)
   AND ($3::text IS NULL OR p.status = $3)
   AND ($4::text IS NULL OR p.method->>'type' = $4)
   AND ($5::timestamptz IS NULL OR p.created_at >= $5)
   AND ($6::timestamptz IS NULL OR p.created_at < $6)
 ORDER BY p.created_at DESC, p.id DESC
 LIMIT $7
"""


@dataclass(frozen=True, slots=True)
class Search:
    ident: str | None = None
    merchant: str | None = None
    status: str | None = None
    method: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 100


async def search_payments(conn: asyncpg.Connection, search: Search) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        _SEARCH,
        search.ident,
        search.merchant,
        search.status,
        search.method,
        search.since,
        search.until,
        search.limit,
    )
    return [dict(row) for row in rows]


async def payment_row(conn: asyncpg.Connection, payment_id: str) -> dict[str, Any] | None:
    row = await conn.fetchrow(f"SELECT {_PAYMENT_ROW} FROM payments p WHERE p.id = $1", payment_id)
    return dict(row) if row is not None else None


async def attempts_of_order(conn: asyncpg.Connection, order_id: str) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        f"SELECT {_PAYMENT_ROW} FROM payments p WHERE p.order_id = $1 ORDER BY p.created_at, p.id", order_id
    )
    return [dict(row) for row in rows]


async def anomalies_of(conn: asyncpg.Connection, payment_id: str) -> list[Anomaly]:
    rows = await conn.fetch(f"SELECT {ANOMALY_COLUMNS} FROM anomalies WHERE payment_id = $1 ORDER BY id", payment_id)
    return [Anomaly(**dict(row)) for row in rows]


async def get_anomaly(conn: asyncpg.Connection, anomaly_id: int, *, for_update: bool = False) -> Anomaly | None:
    lock = " FOR UPDATE" if for_update else ""
    row = await conn.fetchrow(f"SELECT {ANOMALY_COLUMNS} FROM anomalies WHERE id = $1{lock}", anomaly_id)
    return Anomaly(**dict(row)) if row is not None else None


async def mark_resolved(
    conn: asyncpg.Connection, anomaly_id: int, operator: str, resolution: str, note: str, refund_id: str | None
) -> Anomaly:
    row = await conn.fetchrow(
        f"""UPDATE anomalies
               SET resolved_at = now(), resolved_by = $2, resolution = $3, resolution_note = $4, refund_id = $5
             WHERE id = $1
         RETURNING {ANOMALY_COLUMNS}""",
        anomaly_id,
        operator,
        resolution,
        note,
        refund_id,
    )
    assert row is not None  # locked by the caller
    return Anomaly(**dict(row))
