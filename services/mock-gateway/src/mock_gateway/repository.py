"""Every SQL statement of the mock gateway, over its `gateway` schema."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg
import orjson

from mock_gateway.faults import canonical
from mock_gateway.outcomes import CREATED, FAILED, STATUS_ORDER
from mock_gateway.plan import Plan
from mock_gateway.records import GatewayPayment, NewPayment, webhook_body
from mock_gateway.refund_repository import apply_due_outcomes

_PAYMENT_COLUMNS = """id, payment_id, order_id, amount, currency, method, signature, status, error_code,
                      error_description, faults, created_at, updated_at"""


async def create_payment(
    conn: asyncpg.Connection, payment: NewPayment, plan: Plan, correlation_id: str | None
) -> tuple[GatewayPayment, bool]:
    """Insert the payment and its planned deliveries; call inside a transaction.

    Returns the stored payment and whether this call created it. A `paymentId` seen before returns
    the existing payment and plans nothing: the unique constraint, not a prior read, decides, so
    concurrent creates of one payment agree on a single row.
    """
    row = await conn.fetchrow(
        f"""INSERT INTO payments (id, payment_id, order_id, amount, currency, method, signature, status, faults)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::text[])
            ON CONFLICT (payment_id) DO NOTHING
            RETURNING {_PAYMENT_COLUMNS}""",
        payment.id,
        payment.payment_id,
        payment.order_id,
        payment.amount,
        payment.currency,
        payment.method,
        payment.signature,
        CREATED,
        canonical(plan.faults),
    )
    if row is None:
        # READ COMMITTED: this statement sees the row the conflicting insert committed
        existing = await find_by_payment_id(conn, payment.payment_id)
        if existing is None:
            raise RuntimeError("paymentId conflicted, yet no payment holds it")
        return existing, False
    if plan.deliveries:
        await conn.executemany(
            """INSERT INTO deliveries (event_id, gateway_payment_id, payment_id, reported_status, purpose, body,
                                       not_before, sets_status, copies, fake_timeouts, after_event_id,
                                       follow_delay_ms, correlation_id)
               VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(secs => $7), $8, $9, $10, $11, $12, $13)""",
            [
                (
                    d.event_id,
                    payment.id,
                    payment.payment_id,
                    d.reports.value,
                    d.purpose.value,
                    orjson.dumps(webhook_body(payment, d.reports)),
                    d.after_seconds,
                    d.sets_status,
                    d.copies,
                    d.fake_timeouts,
                    d.after_event_id,
                    round(d.follow_delay * 1000),
                    correlation_id,
                )
                for d in plan.deliveries
            ],
        )
    return GatewayPayment.from_row(row), True


async def get_payment(conn: asyncpg.Connection | asyncpg.Pool, gateway_payment_id: str) -> GatewayPayment | None:
    row = await conn.fetchrow(f"SELECT {_PAYMENT_COLUMNS} FROM payments WHERE id = $1", gateway_payment_id)
    return None if row is None else GatewayPayment.from_row(row)


async def find_by_payment_id(conn: asyncpg.Connection | asyncpg.Pool, payment_id: str) -> GatewayPayment | None:
    row = await conn.fetchrow(f"SELECT {_PAYMENT_COLUMNS} FROM payments WHERE payment_id = $1", payment_id)
    return None if row is None else GatewayPayment.from_row(row)


@dataclass(frozen=True, slots=True)
class DueDelivery:
    event_id: str
    gateway_payment_id: str
    payment_id: str
    body: bytes
    copies: int
    correlation_id: str | None
    # what is left of the retry window, which runs from the row's creation, by the database's clock
    window_left_seconds: float
    # under the webhook gateway's URL: `/webhook/payment`, or `/webhook/refund` for a refund's report
    path: str = "/webhook/payment"


@dataclass(frozen=True, slots=True)
class Claim:
    deliveries: list[DueDelivery]
    # until the next pending row falls due; None when nothing is waiting
    next_due_in_seconds: float | None


async def claim_due(pool: asyncpg.Pool, *, exclude: list[str], limit: int, retry_window_seconds: float) -> Claim:
    """Take up to `limit` due pending deliveries not in `exclude`, and make their statuses true.

    The status changes in the transaction that claims the event, so the gateway's truth moves at
    settlement time and never after a webhook already told it. The rows stay `pending` until the
    send ends: a crash in between leaves them to be resumed (and their status update is idempotent).
    """
    async with pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(
            """SELECT event_id, gateway_payment_id, payment_id, body, copies, correlation_id, sets_status, path,
                      refund_id,
                      extract(epoch FROM created_at + make_interval(secs => $3) - now())::float8 AS window_left
                 FROM deliveries d
                WHERE state = 'pending' AND not_before <= now() AND NOT (event_id = ANY($1::text[]))
                  AND (after_event_id IS NULL
                       OR NOT EXISTS (SELECT 1 FROM deliveries p
                                       WHERE p.event_id = d.after_event_id AND p.state = 'pending'))
                ORDER BY not_before, event_id
                LIMIT $2
                FOR UPDATE SKIP LOCKED""",
            exclude,
            limit,
            retry_window_seconds,
        )
        await _apply_statuses(conn, rows)
        await apply_due_outcomes(conn, [row["refund_id"] for row in rows if row["refund_id"] is not None])
        next_due = await conn.fetchval(
            """SELECT extract(epoch FROM min(not_before) - now())::float8
                 FROM deliveries WHERE state = 'pending' AND not_before > now()"""
        )
    return Claim(
        [
            DueDelivery(
                event_id=row["event_id"],
                gateway_payment_id=row["gateway_payment_id"],
                payment_id=row["payment_id"],
                body=bytes(row["body"]),
                copies=row["copies"],
                correlation_id=row["correlation_id"],
                window_left_seconds=row["window_left"],
                path=row["path"],
            )
            for row in rows
        ],
        next_due,
    )


async def _apply_statuses(conn: asyncpg.Connection, rows: list[asyncpg.Record]) -> None:
    # one batch may hold several events of one payment (reordered, or all overdue after a restart):
    # the furthest status wins, as it would have one event at a time
    target: dict[str, asyncpg.Record] = {}
    for row in rows:
        status = row["sets_status"]
        current = target.get(row["gateway_payment_id"])
        if status is not None and (
            current is None or STATUS_ORDER.index(status) > STATUS_ORDER.index(current["sets_status"])
        ):
            target[row["gateway_payment_id"]] = row
    if not target:
        return
    ids = sorted(target)
    # a failure reads as the event that makes it true reports it: the decline was decided per method at
    # creation and written into that event's body
    reported = [orjson.loads(target[i]["body"]) for i in ids]
    await conn.execute(
        """UPDATE payments p
              SET status = s.status,
                  error_code = CASE WHEN s.status = $3 THEN s.error_code END,
                  error_description = CASE WHEN s.status = $3 THEN s.error_description END,
                  updated_at = now()
             FROM unnest($1::text[], $2::text[], $4::text[], $5::text[])
                  AS s (id, status, error_code, error_description)
            WHERE p.id = s.id
              AND array_position($6::text[], s.status) > array_position($6::text[], p.status)""",
        ids,
        [target[i]["sets_status"] for i in ids],
        FAILED,
        [body.get("errorCode") for body in reported],
        [body.get("errorDescription") for body in reported],
        list(STATUS_ORDER),
    )


async def record_try(pool: asyncpg.Pool, event_id: str, status_code: int | None, error: str | None) -> bool:
    """Number and record one try; True when the timeout fault says to ignore its answer.

    The number comes from the row, so concurrent copies and tries before a restart never share one,
    and "the first try" of the timeout fault stays the first across restarts.
    """
    treated_as_timeout = await pool.fetchval(
        """WITH bumped AS (
               UPDATE deliveries SET attempts = attempts + 1 WHERE event_id = $1
               RETURNING attempts, fake_timeouts)
           INSERT INTO delivery_attempts (event_id, attempt, status_code, error, treated_as_timeout)
           SELECT $1, attempts, $2::int, $3::text, $2::int IS NOT NULL AND attempts <= fake_timeouts FROM bumped
           RETURNING treated_as_timeout""",
        event_id,
        status_code,
        error,
    )
    return bool(treated_as_timeout)


async def finish(pool: asyncpg.Pool, event_id: str, state: str) -> None:
    """End a delivery, and start the clock of the events held behind it."""
    async with pool.acquire() as conn, conn.transaction():
        done = await conn.fetchval(
            """UPDATE deliveries
                  SET state = $2, delivered_at = CASE WHEN $2 = 'delivered' THEN now() END
                WHERE event_id = $1 AND state = 'pending'
            RETURNING true""",
            event_id,
            state,
        )
        if done:
            await conn.execute(
                """UPDATE deliveries
                      SET not_before = greatest(not_before, now() + make_interval(secs => follow_delay_ms / 1000.0))
                    WHERE after_event_id = $1 AND state = 'pending'""",
                event_id,
            )
