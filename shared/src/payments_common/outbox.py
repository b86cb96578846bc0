"""The producer side: events are rows written in the state change's own transaction, and a relay
publishes them with confirms.

The relay claims a batch with `FOR UPDATE SKIP LOCKED`, publishes it, and marks in the same short
transaction only what the broker confirmed, so two relays never publish one row twice and an
unconfirmed row is retried later with backoff. `NOTIFY` wakes the relay at commit; a poll covers a
lost notification or a dropped `LISTEN` connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import orjson
from pydantic import BaseModel

from payments_common import metrics
from payments_common.broker import Publisher
from payments_common.ids import new_uuid
from payments_common.logging import get_logger
from payments_common.waiting import wait_set

log = get_logger(__name__)


def notify_channel(schema: str) -> str:
    # NOTIFY channels are database-wide; each service's relay listens for its own schema only
    return f"outbox_{schema}"


MAX_BACKOFF_SECONDS = 60
# how often the relay counts its backlog for the metrics: a scan of the unpublished rows' index, which
# is empty or nearly so when all is well and is never done more than this often when it is not
BACKLOG_REFRESH_SECONDS = 5.0


@dataclass(slots=True)
class OutboxEvent:
    aggregate_type: str
    aggregate_id: str
    event_type: str
    exchange: str
    routing_key: str
    payload: dict[str, Any]
    headers: dict[str, Any] = field(default_factory=dict)
    id: uuid.UUID = field(default_factory=new_uuid)


def event(
    body: BaseModel,
    *,
    aggregate_type: str,
    aggregate_id: str,
    event_type: str,
    exchange: str,
    routing_key: str | None = None,
    correlation_id: str | None = None,
) -> OutboxEvent:
    """The one way an outbox event is made: a typed message, routed by its type unless told otherwise;
    the request's correlation id, when there is one, travels with it as a header."""
    return OutboxEvent(
        aggregate_type=aggregate_type,
        aggregate_id=aggregate_id,
        event_type=event_type,
        exchange=exchange,
        routing_key=routing_key or event_type,
        payload=body.model_dump(mode="json"),
        headers={"correlation-id": correlation_id} if correlation_id else {},
    )


# the rows and the relay's wake-up in one statement, so one round trip whatever the number of events: a
# data-modifying WITH runs to completion whether or not the query reads it. The NOTIFY is delivered at
# commit, and only if the transaction commits.
_WRITE = """WITH written AS (
                INSERT INTO outbox (id, aggregate_type, aggregate_id, event_type, exchange, routing_key,
                                    payload, headers)
                SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                                     $7::jsonb[], $8::jsonb[]))
            SELECT pg_notify('outbox_' || current_schema(), '')"""


async def write(conn: asyncpg.Connection, events: list[OutboxEvent]) -> None:
    if not events:
        return
    await conn.execute(
        _WRITE,
        [e.id for e in events],
        [e.aggregate_type for e in events],
        [e.aggregate_id for e in events],
        [e.event_type for e in events],
        [e.exchange for e in events],
        [e.routing_key for e in events],
        [e.payload for e in events],
        [e.headers for e in events],
    )


def backoff_seconds(attempts: int) -> float:
    return float(min(MAX_BACKOFF_SECONDS, 2 ** max(0, attempts - 1)))


class OutboxRelay:
    def __init__(
        self,
        pool: asyncpg.Pool,
        publisher: Publisher,
        *,
        dsn: str,
        schema: str,
        batch_size: int = 100,
        poll_interval: float = 1.0,
    ) -> None:
        self._pool = pool
        self._publisher = publisher
        self._dsn = dsn
        self._schema = schema
        self._batch_size = batch_size
        self._poll_interval = poll_interval
        self._wakeup = asyncio.Event()
        # the metrics' `service` label; a process that never named itself (a test) is told apart by schema
        self._service = metrics.service_name(default=schema)
        self._backlog_counted_at = float("-inf")

    async def relay_once(self) -> int:
        """Publish one batch; return how many rows it claimed.

        The batch is claimed and marked published by one statement, in a transaction that commits only
        once the publishes are confirmed: a crash or an error before then rolls the marks back with it,
        and the rows whose publish failed are unmarked (with their backoff) before it commits. So a row
        is marked exactly when it was published, in three round trips (begin, claim, commit) where a
        claim followed by a mark took four."""
        async with self._pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                """UPDATE outbox SET published_at = now()
                    WHERE id IN (SELECT id FROM outbox
                                  WHERE published_at IS NULL AND available_at <= now()
                                  ORDER BY available_at, created_at
                                  LIMIT $1
                                  FOR UPDATE SKIP LOCKED)
                RETURNING id, aggregate_id, event_type, exchange, routing_key, payload, headers, attempts,
                          available_at, created_at,
                          -- the lag so far by the database's clock, both ends of it: no skew between hosts
                          extract(epoch FROM clock_timestamp() - created_at)::float8 AS lag""",
                self._batch_size,
            )
            if not rows:
                return 0
            claimed_at = time.monotonic()
            # published in the order they were written (RETURNING keeps none)
            rows.sort(key=lambda row: (row["available_at"], row["created_at"]))
            results = await asyncio.gather(*(self._publish(row) for row in rows), return_exceptions=True)
            publishing = time.monotonic() - claimed_at
            failed = [
                (row["id"], str(result)[:500], backoff_seconds(row["attempts"] + 1))
                for row, result in zip(rows, results, strict=True)
                if result is not None
            ]
            if failed:
                await conn.executemany(
                    """UPDATE outbox SET published_at = NULL, attempts = attempts + 1, last_error = $2,
                              available_at = now() + make_interval(secs => $3)
                        WHERE id = $1""",
                    failed,
                )
                log.warning("outbox.publish_failed", count=len(failed), error=failed[0][1])
                metrics.outbox_publish_failed(self._service, len(failed))
            metrics.outbox_published(
                self._service,
                (row["lag"] + publishing for row, result in zip(rows, results, strict=True) if result is None),
            )
            return len(rows)

    async def count_backlog(self) -> None:
        """Set the backlog metrics: how many rows wait, and how long the oldest has (whether it waits for
        the relay or for its backoff after failed publishes: either way, it is not delivered)."""
        row = await self._pool.fetchrow(
            """SELECT count(*) AS waiting,
                      coalesce(extract(epoch FROM clock_timestamp() - min(created_at)), 0)::float8 AS oldest
                 FROM outbox WHERE published_at IS NULL"""
        )
        assert row is not None
        metrics.outbox_backlog(self._service, row["waiting"], row["oldest"])

    async def _count_backlog_now_and_then(self) -> None:
        now = time.monotonic()
        if now - self._backlog_counted_at < BACKLOG_REFRESH_SECONDS:
            return
        self._backlog_counted_at = now
        try:
            async with asyncio.timeout(BACKLOG_REFRESH_SECONDS):
                await self.count_backlog()
        except Exception as exc:
            # the metrics keep their last values; readiness is what reports the database gone
            log.debug("outbox.backlog_count_failed", error=type(exc).__name__)

    async def _publish(self, row: asyncpg.Record) -> None:
        headers = dict(row["headers"] or {})
        await self._publisher.publish(
            row["exchange"],
            row["routing_key"],
            orjson.dumps(row["payload"]),
            message_id=str(row["id"]),
            headers=headers,
            correlation_id=headers.get("correlation-id"),
            message_type=row["event_type"],
        )

    async def run(self) -> None:
        listener = asyncio.create_task(self._listen(), name="outbox-listen")
        try:
            while True:
                # cleared before the batch, not after it: a NOTIFY for a row committed while the
                # batch runs must survive it and wake the next round, or that row waits a full poll
                self._wakeup.clear()
                await self._count_backlog_now_and_then()
                try:
                    claimed = await self.relay_once()
                except Exception as exc:
                    # whatever it was (a database restart, a pool closing under us), a relay that stops
                    # leaves every later event unpublished: log it and go round again
                    log.warning("outbox.relay_error", error=f"{type(exc).__name__}: {exc}")
                    await asyncio.sleep(self._poll_interval)
                    continue
                if claimed >= self._batch_size:
                    continue
                # not asyncio.wait_for, which can swallow the stopping cancellation when woken at that moment
                await wait_set(self._wakeup, self._poll_interval)
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener

    async def _listen(self) -> None:
        """Keep a LISTEN connection; any notification wakes the relay."""

        def wake(*_: object) -> None:
            self._wakeup.set()

        while True:
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(self._dsn, server_settings={"search_path": self._schema})
                await conn.add_listener(notify_channel(self._schema), wake)
                lost = asyncio.Event()
                conn.add_termination_listener(lambda *_, lost=lost: lost.set())
                self._wakeup.set()  # catch up on whatever was written while not listening
                await lost.wait()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("outbox.listen_error", error=f"{type(exc).__name__}: {exc}")
            finally:
                if conn is not None and not conn.is_closed():
                    with contextlib.suppress(Exception):
                        await conn.close()
            await asyncio.sleep(self._poll_interval)
