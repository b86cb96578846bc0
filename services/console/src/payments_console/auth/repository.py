"""SQL of the console's own schema: sessions, the failed-login buckets and the audit log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from payments_console.auth.domain import Bucket


@dataclass(frozen=True, slots=True)
class SessionRow:
    operator: str
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime


async def insert_session(
    conn: asyncpg.Connection, key: str, operator: str, csrf_token: str, address: str, ttl_seconds: float
) -> None:
    await conn.execute(
        """INSERT INTO sessions (id, operator, csrf_token, address, expires_at)
           VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))""",
        key,
        operator,
        csrf_token,
        address,
        ttl_seconds,
    )


async def live_session(conn: asyncpg.Connection, key: str, idle_seconds: float) -> SessionRow | None:
    """The session, unless past its expiry or idle longer than `idle_seconds` (by the database's clock)."""
    row = await conn.fetchrow(
        """SELECT operator, csrf_token, created_at, last_seen_at, expires_at FROM sessions
            WHERE id = $1 AND expires_at > now() AND last_seen_at > now() - make_interval(secs => $2)""",
        key,
        idle_seconds,
    )
    return SessionRow(**dict(row)) if row is not None else None


async def touch_session(conn: asyncpg.Connection, key: str) -> None:
    # at most one write per session every 15 s, however many requests a page makes
    await conn.execute(
        "UPDATE sessions SET last_seen_at = now() WHERE id = $1 AND last_seen_at < now() - interval '15 seconds'",
        key,
    )


async def delete_session(conn: asyncpg.Connection, key: str) -> None:
    await conn.execute("DELETE FROM sessions WHERE id = $1", key)


async def delete_dead_sessions(conn: asyncpg.Connection, idle_seconds: float) -> int:
    status = await conn.execute(
        "DELETE FROM sessions WHERE expires_at <= now() OR last_seen_at <= now() - make_interval(secs => $1)",
        idle_seconds,
    )
    return int(status.split()[-1])


async def lock_bucket(conn: asyncpg.Connection, name: str, address: str) -> Bucket | None:
    """The bucket of (name, address), locked until the transaction ends; None when there is none."""
    row = await conn.fetchrow(
        """SELECT tokens, extract(epoch FROM updated_at)::float8 AS at FROM login_throttle
            WHERE name = $1 AND address = $2 FOR UPDATE""",
        name,
        address,
    )
    return Bucket(row["tokens"], row["at"]) if row is not None else None


async def store_bucket(conn: asyncpg.Connection, name: str, address: str, bucket: Bucket) -> None:
    await conn.execute(
        """INSERT INTO login_throttle (name, address, tokens, updated_at) VALUES ($1, $2, $3, to_timestamp($4))
           ON CONFLICT (name, address) DO UPDATE SET tokens = excluded.tokens, updated_at = excluded.updated_at""",
        name,
        address,
        bucket.tokens,
        bucket.at,
    )


async def delete_bucket(conn: asyncpg.Connection, name: str, address: str) -> None:
    await conn.execute("DELETE FROM login_throttle WHERE name = $1 AND address = $2", name, address)


async def db_now(conn: asyncpg.Connection) -> float:
    value: float = await conn.fetchval("SELECT extract(epoch FROM clock_timestamp())::float8")
    return value


async def record_action(conn: asyncpg.Connection, operator: str, action: str, target: str, outcome: str) -> None:
    await conn.execute(
        "INSERT INTO audit_log (operator, action, target, outcome) VALUES ($1, $2, $3, $4)",
        operator,
        action,
        target[:500],
        outcome[:500],
    )


async def recent_actions(conn: asyncpg.Connection, limit: int = 50) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT operator, action, target, outcome, created_at FROM audit_log ORDER BY id DESC LIMIT $1", limit
    )
    return rows
