"""The consumer side of exactly-once effects: a message id is claimed inside the transaction that
applies it, so a redelivery finds the claim and does nothing, and a rollback releases the claim."""

from __future__ import annotations

import asyncpg


async def claim(conn: asyncpg.Connection, consumer: str, message_id: str) -> bool:
    """True when this is the first time `consumer` sees `message_id`.

    A concurrent duplicate blocks on the primary key until the first transaction ends, then sees
    the row (committed) or takes the claim itself (rolled back).
    """
    row = await conn.fetchval(
        "INSERT INTO inbox (consumer, message_id) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING 1",
        consumer,
        message_id,
    )
    return row is not None
