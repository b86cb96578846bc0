"""Retention against PostgreSQL: only published outbox rows and old inbox claims go, in batches."""

from __future__ import annotations

import uuid

import asyncpg

from payments_common.retention import Retention, purge_once


async def _outbox_row(conn: asyncpg.Connection, published_days_ago: float | None) -> uuid.UUID:
    row_id = uuid.uuid4()
    await conn.execute(
        """INSERT INTO outbox (id, aggregate_type, aggregate_id, event_type, exchange, routing_key, payload,
                               created_at, published_at)
           VALUES ($1, 'payment', 'pay_1', 'payment.succeeded', 'x', 'y', '{}'::jsonb,
                   now() - interval '40 days',
                   CASE WHEN $2::float8 IS NULL THEN NULL ELSE now() - make_interval(secs => $2 * 86400) END)""",
        row_id,
        published_days_ago,
    )
    return row_id


async def test_published_rows_past_retention_go_unpublished_and_recent_ones_stay(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        old = [await _outbox_row(conn, 8) for _ in range(7)]
        recent = await _outbox_row(conn, 1)
        unpublished = await _outbox_row(conn, None)

    outbox, inbox = await purge_once(pool, Retention(outbox_days=7, inbox_days=30, batch_size=3))

    assert (outbox, inbox) == (len(old), 0)
    async with pool.acquire() as conn:
        left = {row["id"] for row in await conn.fetch("SELECT id FROM outbox")}
    assert left == {recent, unpublished}


async def test_inbox_claims_are_kept_for_their_whole_retention(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        for n, days in enumerate((31, 31, 29, 0)):
            await conn.execute(
                """INSERT INTO inbox (consumer, message_id, processed_at)
                   VALUES ('c', $1, now() - make_interval(days => $2))""",
                f"evt_{n}",
                days,
            )

    _, inbox = await purge_once(pool, Retention(outbox_days=7, inbox_days=30, batch_size=1))

    assert inbox == 2
    async with pool.acquire() as conn:
        kept = sorted(row["message_id"] for row in await conn.fetch("SELECT message_id FROM inbox"))
    assert kept == ["evt_2", "evt_3"]
