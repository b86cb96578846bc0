"""The SQL of the delivery rows, over the gateway's `gateway` schema: claim what is due (moving the
payments and refunds it settles), number each try, end a delivery."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from mock_gateway.payments.repository import apply_due_statuses
from mock_gateway.refunds.repository import apply_due_outcomes


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

    The statuses change before any of the claimed webhooks is sent (the worker sends what this returns),
    so the gateway's truth moves at settlement time and never after a webhook already told it. The rows
    stay `pending` until the send ends: a crash in between leaves them to be resumed, and their status
    update is idempotent (a status only moves forward). So the claim needs no transaction around it:
    one statement reads the due rows and when the next one falls due, then one more makes the claimed
    statuses true (two, in a transaction, when refunds are among them). Most claims find one row or
    none: one or two round trips, where a transaction took four or five.
    """
    rows = await pool.fetch(
        """WITH due AS (
                   SELECT event_id, gateway_payment_id, payment_id, body, copies, correlation_id, sets_status,
                          path, refund_id, not_before,
                          extract(epoch FROM created_at + make_interval(secs => $3) - now())::float8 AS window_left
                     FROM deliveries d
                    WHERE state = 'pending' AND not_before <= now() AND NOT (event_id = ANY($1::text[]))
                      AND (after_event_id IS NULL
                           OR NOT EXISTS (SELECT 1 FROM deliveries p
                                           WHERE p.event_id = d.after_event_id AND p.state = 'pending'))
                    ORDER BY not_before, event_id
                    LIMIT $2
                    FOR UPDATE SKIP LOCKED),
                    next AS (
                   SELECT extract(epoch FROM min(not_before) - now())::float8 AS next_due
                     FROM deliveries WHERE state = 'pending' AND not_before > now())
               -- the one row of `next` always, so a claim of nothing still says when to look again
               SELECT due.*, next.next_due FROM next LEFT JOIN due ON true
                ORDER BY due.not_before, due.event_id""",
        exclude,
        limit,
        retry_window_seconds,
    )
    next_due = rows[0]["next_due"]
    rows = [row for row in rows if row["event_id"] is not None]
    refunds = [row["refund_id"] for row in rows if row["refund_id"] is not None]
    if refunds:
        async with pool.acquire() as conn, conn.transaction():
            await apply_due_statuses(conn, rows)
            await apply_due_outcomes(conn, refunds)
    elif rows:
        async with pool.acquire() as conn:
            await apply_due_statuses(conn, rows)
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
    """End a delivery, and start the clock of the events held behind it: one statement, so both or
    neither (the followers move only when this call ended the row, not when it had ended already)."""
    await pool.execute(
        """WITH done AS (
               UPDATE deliveries
                  SET state = $2, delivered_at = CASE WHEN $2 = 'delivered' THEN now() END
                WHERE event_id = $1 AND state = 'pending'
            RETURNING event_id)
           UPDATE deliveries
              SET not_before = greatest(not_before, now() + make_interval(secs => follow_delay_ms / 1000.0))
            WHERE after_event_id IN (SELECT event_id FROM done) AND state = 'pending'""",
        event_id,
        state,
    )
