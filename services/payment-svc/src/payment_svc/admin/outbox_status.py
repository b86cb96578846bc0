"""How far behind a service's outbox is: what the operator console and the admin API show (read-only SQL
over each service schema's `outbox` table, which the common library's migrations create)."""

from __future__ import annotations

from typing import Any

import asyncpg

from payments_common.timeutil import iso

# the failing rows shown in full; the count covers the rest
OUTBOX_ERRORS_SHOWN = 5


async def outbox_status(conn: asyncpg.Connection, schema: str) -> dict[str, Any]:
    """Backlog of one service schema's outbox: unpublished rows, the oldest one's age, the failing ones."""
    status: dict[str, Any] = {"schema": schema, "exists": False}
    if not await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", f"{schema}.outbox"):
        return status
    outbox = f'"{schema}".outbox'
    # one pass; published rows have no index on published_at, so the last-minute count reads the table
    counts = await conn.fetchrow(
        f"""SELECT count(*) FILTER (WHERE published_at IS NULL) AS unpublished,
                   extract(epoch FROM now() - min(created_at) FILTER (WHERE published_at IS NULL))::float8
                       AS oldest_unpublished_age_seconds,
                   count(*) FILTER (WHERE published_at IS NULL AND attempts > 0) AS retrying,
                   count(*) FILTER (WHERE published_at >= now() - interval '1 minute') AS published_last_minute
              FROM {outbox}"""
    )
    rows = await conn.fetch(
        f"""SELECT id, event_type, aggregate_id, attempts, last_error, created_at, available_at
              FROM {outbox}
             WHERE published_at IS NULL AND attempts > 0
             ORDER BY created_at
             LIMIT $1""",
        OUTBOX_ERRORS_SHOWN,
    )
    oldest = counts["oldest_unpublished_age_seconds"]
    status.update(
        exists=True,
        unpublished=counts["unpublished"],
        oldest_unpublished_age_seconds=round(oldest, 3) if oldest is not None else None,
        retrying=counts["retrying"],
        retrying_rows=[
            {
                "id": str(row["id"]),
                "event_type": row["event_type"],
                "aggregate_id": row["aggregate_id"],
                "attempts": row["attempts"],
                "last_error": row["last_error"],
                "created_at": iso(row["created_at"]),
                "next_attempt_at": iso(row["available_at"]),
            }
            for row in rows
        ],
        published_last_minute=counts["published_last_minute"],
    )
    return status
