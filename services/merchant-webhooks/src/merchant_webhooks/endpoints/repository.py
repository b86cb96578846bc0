"""The SQL of webhook endpoints. Every read and change by a merchant names the merchant: another merchant's
endpoint is not found."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from payments_common.merchant_webhooks import ALL_EVENTS

_COLUMNS = """id, merchant_id, url, events, description, status, disabled_reason, secret, previous_secret,
              previous_secret_expires_at, failing_since, last_error, created_at, updated_at"""


@dataclass(frozen=True, slots=True)
class EndpointRecord:
    id: str
    merchant_id: str
    url: str
    events: list[str]
    description: str | None
    status: str
    disabled_reason: str | None
    secret: str
    previous_secret: str | None
    previous_secret_expires_at: datetime | None
    failing_since: datetime | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime


def _record(row: asyncpg.Record | None) -> EndpointRecord | None:
    return None if row is None else EndpointRecord(**{**dict(row), "events": list(row["events"])})


class EndpointRepository:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def insert(
        self, endpoint_id: str, merchant_id: str, url: str, events: list[str], description: str | None, secret: str
    ) -> EndpointRecord:
        row = await self._conn.fetchrow(
            f"""INSERT INTO endpoints (id, merchant_id, url, events, description, secret)
                VALUES ($1, $2, $3, $4, $5, $6) RETURNING {_COLUMNS}""",
            endpoint_id,
            merchant_id,
            url,
            events,
            description,
            secret,
        )
        found = _record(row)
        assert found is not None
        return found

    async def get(self, merchant_id: str, endpoint_id: str, *, for_update: bool = False) -> EndpointRecord | None:
        lock = " FOR UPDATE" if for_update else ""
        return _record(
            await self._conn.fetchrow(
                f"SELECT {_COLUMNS} FROM endpoints WHERE id = $1 AND merchant_id = $2{lock}", endpoint_id, merchant_id
            )
        )

    async def by_id(self, endpoint_id: str) -> EndpointRecord | None:
        return _record(await self._conn.fetchrow(f"SELECT {_COLUMNS} FROM endpoints WHERE id = $1", endpoint_id))

    async def of_merchant(self, merchant_id: str) -> list[EndpointRecord]:
        rows = await self._conn.fetch(
            f"SELECT {_COLUMNS} FROM endpoints WHERE merchant_id = $1 ORDER BY created_at, id", merchant_id
        )
        return [found for row in rows if (found := _record(row)) is not None]

    async def update(self, endpoint_id: str, changes: dict[str, Any]) -> EndpointRecord:
        """Set `changes` (column -> value; the names come from the service, never from a request)."""
        names = list(changes)
        assignments = ", ".join(f"{name} = ${n + 2}" for n, name in enumerate(names))
        row = await self._conn.fetchrow(
            f"UPDATE endpoints SET {assignments}, updated_at = now() WHERE id = $1 RETURNING {_COLUMNS}",
            endpoint_id,
            *(changes[name] for name in names),
        )
        found = _record(row)
        assert found is not None
        return found

    async def delete(self, merchant_id: str, endpoint_id: str) -> bool:
        deleted = await self._conn.fetchval(
            "DELETE FROM endpoints WHERE id = $1 AND merchant_id = $2 RETURNING 1", endpoint_id, merchant_id
        )
        return deleted is not None

    async def subscribed(self, merchant_id: str, event: str) -> list[str]:
        """The enabled endpoints of the merchant subscribed to `event` or to every event."""
        rows = await self._conn.fetch(
            """SELECT id FROM endpoints
                WHERE merchant_id = $1 AND status = 'enabled' AND events && ARRAY[$2, $3]::text[]
                ORDER BY id""",
            merchant_id,
            event,
            ALL_EVENTS,
        )
        return [row["id"] for row in rows]

    async def succeeded(self, endpoint_id: str) -> None:
        """A 2xx ends the endpoint's failing streak."""
        await self._conn.execute(
            "UPDATE endpoints SET failing_since = NULL WHERE id = $1 AND failing_since IS NOT NULL", endpoint_id
        )

    async def failed(self, endpoint_id: str, at: datetime, error: str) -> None:
        """A failed attempt begins the failing streak unless one is running (its first failure stays)."""
        await self._conn.execute(
            "UPDATE endpoints SET failing_since = coalesce(failing_since, $2), last_error = $3 WHERE id = $1",
            endpoint_id,
            at,
            error,
        )

    async def disable_failing(self, endpoint_id: str, failing_before: datetime) -> EndpointRecord | None:
        """Disable the endpoint if it is still enabled and has been failing since before `failing_before`:
        the row lock makes exactly one of concurrent attempts the one that disables it."""
        return _record(
            await self._conn.fetchrow(
                f"""UPDATE endpoints SET status = 'disabled', disabled_reason = 'failing', updated_at = now()
                     WHERE id = $1 AND status = 'enabled' AND failing_since < $2
                 RETURNING {_COLUMNS}""",
                endpoint_id,
                failing_before,
            )
        )
