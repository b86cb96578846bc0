"""The SQL of the gateway's payments, over its `gateway` schema: a payment stored with its planned
deliveries, read back, and moved on as its deliveries fall due."""

from __future__ import annotations

import asyncpg
import orjson

from mock_gateway.delivery.faults import canonical
from mock_gateway.delivery.plan import Plan
from mock_gateway.payments.domain import (
    AUTHORIZED,
    CAPTURED,
    CREATED,
    FAILED,
    STATUS_ORDER,
    VOIDED,
    NewPayment,
    webhook_body,
)
from mock_gateway.payments.schemas import GatewayPayment
from mock_gateway.repository import columns, fetch_one


async def create_payment(
    conn: asyncpg.Connection | asyncpg.Pool, payment: NewPayment, plan: Plan, correlation_id: str | None
) -> tuple[GatewayPayment, bool]:
    """Insert the payment and its planned deliveries, in one statement (atomic without a transaction
    around it, one round trip).

    Returns the stored payment and whether this call created it. A `paymentId` seen before returns
    the existing payment and plans nothing: the unique constraint, not a prior read, decides, so
    concurrent creates of one payment agree on a single row. The deliveries' references (to the payment,
    and of a late success to its failure) are checked at the statement's end, when all its rows exist.
    """
    deliveries = plan.deliveries
    row = await conn.fetchrow(
        f"""WITH created AS (
                INSERT INTO payments (id, payment_id, order_id, amount, currency, method, signature, status, faults)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::text[])
                ON CONFLICT (payment_id) DO NOTHING
                RETURNING {columns(GatewayPayment)}),
            planned AS (
                INSERT INTO deliveries (event_id, gateway_payment_id, payment_id, reported_status, purpose, body,
                                        not_before, sets_status, copies, fake_timeouts, after_event_id,
                                        follow_delay_ms, correlation_id)
                SELECT d.event_id, created.id, created.payment_id, d.reported_status, d.purpose, d.body,
                       now() + make_interval(secs => d.after_seconds), d.sets_status, d.copies, d.fake_timeouts,
                       d.after_event_id, d.follow_delay_ms, $10
                  FROM created,
                       unnest($11::text[], $12::text[], $13::text[], $14::bytea[], $15::float8[], $16::text[],
                              $17::int[], $18::int[], $19::text[], $20::int[])
                       AS d (event_id, reported_status, purpose, body, after_seconds, sets_status, copies,
                             fake_timeouts, after_event_id, follow_delay_ms))
            SELECT * FROM created""",
        payment.id,
        payment.payment_id,
        payment.order_id,
        payment.amount,
        payment.currency,
        payment.method,
        payment.signature,
        CREATED,
        canonical(plan.faults),
        correlation_id,
        [d.event_id for d in deliveries],
        [d.reports.value for d in deliveries],
        [d.purpose.value for d in deliveries],
        [orjson.dumps(webhook_body(payment, d.reports)) for d in deliveries],
        [float(d.after_seconds) for d in deliveries],
        [d.sets_status for d in deliveries],
        [d.copies for d in deliveries],
        [d.fake_timeouts for d in deliveries],
        [d.after_event_id for d in deliveries],
        [round(d.follow_delay * 1000) for d in deliveries],
    )
    if row is None:
        # READ COMMITTED: this statement sees the row the conflicting insert committed
        existing = await find_by_payment_id(conn, payment.payment_id)
        if existing is None:
            raise RuntimeError("paymentId conflicted, yet no payment holds it")
        return existing, False
    return GatewayPayment.model_validate(dict(row)), True


async def get_payment(conn: asyncpg.Connection | asyncpg.Pool, gateway_payment_id: str) -> GatewayPayment | None:
    return await fetch_one(conn, GatewayPayment, "payments", "id", gateway_payment_id)


async def find_by_payment_id(conn: asyncpg.Connection | asyncpg.Pool, payment_id: str) -> GatewayPayment | None:
    return await fetch_one(conn, GatewayPayment, "payments", "payment_id", payment_id)


async def apply_due_statuses(conn: asyncpg.Connection, rows: list[asyncpg.Record]) -> None:
    """The payments whose deliveries were just claimed (`rows`) take the statuses those make true."""
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


async def lock_payment(conn: asyncpg.Connection, gateway_payment_id: str) -> GatewayPayment | None:
    """The payment, its row locked until the transaction ends: a capture and a void of it take turns."""
    row = await conn.fetchrow(
        f"SELECT {columns(GatewayPayment)} FROM payments WHERE id = $1 FOR UPDATE", gateway_payment_id
    )
    return None if row is None else GatewayPayment.model_validate(dict(row))


async def capture(conn: asyncpg.Connection, gateway_payment_id: str) -> GatewayPayment:
    """An authorised payment (locked by the caller) becomes captured."""
    return await _finish(conn, gateway_payment_id, CAPTURED, None, None)


async def void(
    conn: asyncpg.Connection, gateway_payment_id: str, error_code: str | None, error_description: str | None
) -> GatewayPayment:
    """An authorised payment (locked by the caller) becomes voided, with the reason it was given."""
    return await _finish(conn, gateway_payment_id, VOIDED, error_code, error_description)


async def _finish(
    conn: asyncpg.Connection, gateway_payment_id: str, status: str, code: str | None, description: str | None
) -> GatewayPayment:
    row = await conn.fetchrow(
        f"""UPDATE payments SET status = $2, error_code = $3, error_description = $4, updated_at = now()
             WHERE id = $1 AND status = $5
         RETURNING {columns(GatewayPayment)}""",
        gateway_payment_id,
        status,
        code,
        description,
        AUTHORIZED,
    )
    if row is None:
        raise RuntimeError("only an authorised payment is captured or voided")
    return GatewayPayment.model_validate(dict(row))


async def token_state(conn: asyncpg.Connection | asyncpg.Pool, token: str, saved_id: str) -> tuple[str | None, bool]:
    """The status of the payment `token` was saved from (None: no such payment), and whether its switch declines."""
    row = await conn.fetchrow(
        """SELECT (SELECT status FROM payments WHERE id = $2) AS status,
                  COALESCE((SELECT declines FROM token_switches WHERE token = $1), false) AS declines""",
        token,
        saved_id,
    )
    assert row is not None
    return row["status"], bool(row["declines"])


async def switch_token(conn: asyncpg.Connection | asyncpg.Pool, token: str, declines: bool) -> None:
    await conn.execute(
        """INSERT INTO token_switches (token, declines) VALUES ($1, $2)
           ON CONFLICT (token) DO UPDATE SET declines = EXCLUDED.declines, updated_at = now()""",
        token,
        declines,
    )
