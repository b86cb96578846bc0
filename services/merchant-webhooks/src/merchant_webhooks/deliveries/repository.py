"""The SQL of events, deliveries and attempts.

A worker claims due deliveries with `FOR UPDATE SKIP LOCKED` and, in the same statement, moves them out of
the due set for a lease (`claimed_until`) and stamps them with its claim: two workers never hold one
delivery at once, and a worker that died mid-attempt leaves a claim that lapses, after which the delivery
is due again (at least once, never lost). An attempt's result is recorded only under the claim that made it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from payments_common.events import MerchantEvent


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery claimed for one attempt, with what the attempt needs."""

    id: str
    merchant_id: str
    endpoint_id: str
    event_id: str
    event: str
    failures: int
    series_started_at: datetime
    body: bytes
    url: str
    secret: str
    previous_secret: str | None
    previous_secret_expires_at: datetime | None
    # the claim this attempt is made under: its result is recorded only while the claim still holds
    claim: uuid.UUID


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    id: str
    merchant_id: str
    endpoint_id: str
    event_id: str
    event: str
    status: str
    next_attempt_at: datetime | None
    claimed_until: datetime | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    delivery_id: str
    n: int
    at: datetime
    status_code: int | None
    latency_ms: int | None
    error: str | None


_DELIVERY = "id, merchant_id, endpoint_id, event_id, event, status, next_attempt_at, claimed_until, created_at"

_CLAIM = """
WITH busy AS (
    SELECT * FROM unnest($1::text[], $2::int[]) AS b (endpoint_id, in_flight)
), ready AS (
    -- the endpoints with something due, oldest due first, so that none waits behind the others
    SELECT d.endpoint_id, min(d.next_attempt_at) AS oldest
      FROM deliveries d
      JOIN endpoints e ON e.id = d.endpoint_id AND e.status = 'enabled'
     WHERE d.status = 'pending' AND d.next_attempt_at <= now()
     GROUP BY d.endpoint_id
     ORDER BY oldest
     LIMIT $4
), picked AS (
    -- per endpoint, no more than its free slots: the rest of a slow endpoint's queue waits its turn here,
    -- unclaimed, and holds back no other endpoint
    SELECT p.id
      FROM ready r
      LEFT JOIN busy b ON b.endpoint_id = r.endpoint_id
     CROSS JOIN LATERAL (
           SELECT d.id FROM deliveries d
            WHERE d.endpoint_id = r.endpoint_id AND d.status = 'pending' AND d.next_attempt_at <= now()
            ORDER BY d.next_attempt_at
            LIMIT greatest($3 - coalesce(b.in_flight, 0), 0)
              FOR UPDATE OF d SKIP LOCKED
           ) p
     LIMIT $4
)
UPDATE deliveries d
   SET claim = $5,
       claimed_until = now() + make_interval(secs => $6),
       next_attempt_at = now() + make_interval(secs => $6),
       updated_at = now()
  FROM picked, events ev, endpoints e
 WHERE d.id = picked.id AND ev.id = d.event_id AND e.id = d.endpoint_id
RETURNING d.id, d.merchant_id, d.endpoint_id, d.event_id, d.event, d.failures, d.series_started_at, ev.body, e.url,
          e.secret, e.previous_secret, e.previous_secret_expires_at, d.claim
"""


class DeliveryRepository:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def store_event(self, event: MerchantEvent, body: bytes) -> None:
        await self._conn.execute(
            "INSERT INTO events (id, merchant_id, event, body) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING",
            event.id,
            event.merchant_id,
            event.event,
            body,
        )

    async def fan_out(self, event: MerchantEvent, endpoint_ids: list[str], ids: list[str]) -> int:
        """One pending delivery per endpoint, due now; a pair (event, endpoint) that has one keeps it."""
        result: str = await self._conn.execute(
            """INSERT INTO deliveries (id, merchant_id, endpoint_id, event_id, event, next_attempt_at)
               SELECT d.id, $3, d.endpoint_id, $4, $5, now()
                 FROM unnest($1::text[], $2::text[]) AS d (id, endpoint_id)
               ON CONFLICT (event_id, endpoint_id) DO NOTHING""",
            ids,
            endpoint_ids,
            event.merchant_id,
            event.id,
            event.event,
        )
        return int(result.rsplit(" ", 1)[-1])

    async def claim_due(
        self,
        in_flight: dict[str, int],
        *,
        per_endpoint: int,
        limit: int,
        lease_seconds: float,
        claim: uuid.UUID,
    ) -> list[Claimed]:
        rows = await self._conn.fetch(
            _CLAIM,
            list(in_flight),
            list(in_flight.values()),
            per_endpoint,
            limit,
            claim,
            lease_seconds,
        )
        return [Claimed(**{**dict(row), "body": bytes(row["body"])}) for row in rows]

    async def add_attempt(
        self,
        delivery_id: str,
        at: datetime,
        status_code: int | None,
        latency_ms: int | None,
        error: str | None,
        response_body: str | None,
    ) -> None:
        await self._conn.execute(
            """INSERT INTO attempts (delivery_id, n, at, status_code, latency_ms, error, response_body)
               SELECT $1, coalesce(max(n), 0) + 1, $2, $3, $4, $5, $6 FROM attempts WHERE delivery_id = $1""",
            delivery_id,
            at,
            status_code,
            latency_ms,
            error,
            response_body,
        )

    async def delivered(self, delivery_id: str, claim: uuid.UUID) -> bool:
        done = await self._conn.fetchval(
            """UPDATE deliveries
                  SET status = 'delivered', next_attempt_at = NULL, claim = NULL, claimed_until = NULL,
                      updated_at = now()
                WHERE id = $1 AND claim = $2 RETURNING 1""",
            delivery_id,
            claim,
        )
        return done is not None

    async def retry_or_give_up(self, delivery_id: str, claim: uuid.UUID, next_attempt_at: datetime | None) -> bool:
        """After a failed attempt: due again at `next_attempt_at`, or given up (`failed`) when None."""
        done = await self._conn.fetchval(
            """UPDATE deliveries
                  SET failures = failures + 1,
                      status = CASE WHEN $3::timestamptz IS NULL THEN 'failed' ELSE 'pending' END,
                      next_attempt_at = $3, claim = NULL, claimed_until = NULL, updated_at = now()
                WHERE id = $1 AND claim = $2 RETURNING 1""",
            delivery_id,
            claim,
            next_attempt_at,
        )
        return done is not None

    async def redeliver(self, delivery_id: str, merchant_id: str | None) -> DeliveryRecord | None:
        """A new series of attempts under the same event id, due now; a delivery in flight keeps its claim
        (and its due time, the lease), so the redelivery never runs beside the attempt in flight."""
        row = await self._conn.fetchrow(
            f"""UPDATE deliveries
                   SET status = 'pending', series_started_at = now(), failures = 0, updated_at = now(),
                       next_attempt_at = CASE WHEN claimed_until > now() THEN next_attempt_at ELSE now() END
                 WHERE id = $1 AND ($2::text IS NULL OR merchant_id = $2)
             RETURNING {_DELIVERY}""",
            delivery_id,
            merchant_id,
        )
        return None if row is None else DeliveryRecord(**dict(row))

    async def get(self, delivery_id: str, merchant_id: str | None = None) -> DeliveryRecord | None:
        row = await self._conn.fetchrow(
            f"SELECT {_DELIVERY} FROM deliveries WHERE id = $1 AND ($2::text IS NULL OR merchant_id = $2)",
            delivery_id,
            merchant_id,
        )
        return None if row is None else DeliveryRecord(**dict(row))

    async def search(
        self,
        *,
        merchant_id: str | None = None,
        endpoint_id: str | None = None,
        status: str | None = None,
        event_id: str | None = None,
        limit: int,
    ) -> list[DeliveryRecord]:
        """Newest first, narrowed by whatever is given."""
        rows = await self._conn.fetch(
            f"""SELECT {_DELIVERY} FROM deliveries
                 WHERE ($1::text IS NULL OR merchant_id = $1) AND ($2::text IS NULL OR endpoint_id = $2)
                   AND ($3::text IS NULL OR status = $3) AND ($4::text IS NULL OR event_id = $4)
                 ORDER BY created_at DESC, id DESC
                 LIMIT $5""",
            merchant_id,
            endpoint_id,
            status,
            event_id,
            limit,
        )
        return [DeliveryRecord(**dict(row)) for row in rows]

    async def attempts_of(self, delivery_ids: list[str]) -> dict[str, list[AttemptRecord]]:
        rows = await self._conn.fetch(
            """SELECT delivery_id, n, at, status_code, latency_ms, error FROM attempts
                WHERE delivery_id = ANY($1::text[]) ORDER BY delivery_id, n""",
            delivery_ids,
        )
        found: dict[str, list[AttemptRecord]] = {delivery_id: [] for delivery_id in delivery_ids}
        for row in rows:
            found[row["delivery_id"]].append(AttemptRecord(**dict(row)))
        return found

    async def count_pending(self) -> int:
        count: int = await self._conn.fetchval("SELECT count(*) FROM deliveries WHERE status = 'pending'")
        return count
