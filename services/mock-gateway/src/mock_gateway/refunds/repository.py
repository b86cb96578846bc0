"""The SQL of the gateway's refunds, over its `gateway` schema."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg
import orjson

from mock_gateway.refunds.domain import (
    FAILED,
    REFUND_FAILED_CODE,
    REFUND_FAILED_DESCRIPTION,
    REFUND_WEBHOOK_PATH,
    NewRefund,
    refund_webhook_body,
    reported_status,
)
from mock_gateway.refunds.schemas import GatewayRefund
from mock_gateway.repository import columns, fetch_one


@dataclass(frozen=True, slots=True)
class RefundablePayment:
    id: str
    payment_id: str
    amount: int
    currency: str
    status: str
    method: dict[str, object] | None
    # the refunds that have not failed, pending ones included
    refunded: int


async def lock_payment(conn: asyncpg.Connection, gateway_payment_id: str) -> RefundablePayment | None:
    """The payment, locked until the transaction ends (so its refunds are decided one at a time), with
    what its refunds already take; call inside a transaction."""
    row = await conn.fetchrow(
        """SELECT id, payment_id, amount, currency, status, method FROM payments WHERE id = $1 FOR UPDATE""",
        gateway_payment_id,
    )
    if row is None:
        return None
    refunded = await conn.fetchval(
        "SELECT coalesce(sum(amount), 0) FROM refunds WHERE gateway_payment_id = $1 AND status <> $2",
        gateway_payment_id,
        FAILED,
    )
    return RefundablePayment(**dict(row), refunded=int(refunded))


async def find_refund(conn: asyncpg.Connection | asyncpg.Pool, refund_id: str) -> GatewayRefund | None:
    """By the merchant's refund id."""
    return await fetch_one(conn, GatewayRefund, "refunds", "refund_id", refund_id)


async def get_refund(conn: asyncpg.Connection | asyncpg.Pool, gateway_refund_id: str) -> GatewayRefund | None:
    return await fetch_one(conn, GatewayRefund, "refunds", "id", gateway_refund_id)


async def insert_refund(
    conn: asyncpg.Connection,
    refund: NewRefund,
    *,
    event_id: str,
    settle_after_seconds: float,
    correlation_id: str | None,
) -> GatewayRefund:
    """Store the refund `pending` and plan its webhook through the payments' own delivery machinery."""
    row = await conn.fetchrow(
        f"""INSERT INTO refunds (id, refund_id, gateway_payment_id, payment_id, amount, currency, status, outcome)
            VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7)
            RETURNING {columns(GatewayRefund)}""",
        refund.id,
        refund.refund_id,
        refund.gateway_payment_id,
        refund.payment_id,
        refund.amount,
        refund.currency,
        refund.outcome,
    )
    await conn.execute(
        """INSERT INTO deliveries (event_id, gateway_payment_id, payment_id, reported_status, purpose, body,
                                   not_before, refund_id, path, correlation_id)
           VALUES ($1, $2, $3, $4, 'refund', $5, now() + make_interval(secs => $6), $7, $8, $9)""",
        event_id,
        refund.gateway_payment_id,
        refund.payment_id,
        reported_status(refund.outcome),
        orjson.dumps(refund_webhook_body(refund)),
        settle_after_seconds,
        refund.id,
        REFUND_WEBHOOK_PATH,
        correlation_id,
    )
    return GatewayRefund.model_validate(dict(row))


async def apply_due_outcomes(conn: asyncpg.Connection, gateway_refund_ids: list[str]) -> None:
    """The refunds whose webhooks were just claimed become what they were planned to be, as a payment's
    status moves when its settlement is claimed: never after a webhook already told it."""
    if not gateway_refund_ids:
        return
    await conn.execute(
        """UPDATE refunds
              SET status = outcome,
                  error_code = CASE WHEN outcome = $2 THEN $3 END,
                  error_description = CASE WHEN outcome = $2 THEN $4 END,
                  updated_at = now()
            WHERE id = ANY($1::text[]) AND status = 'pending'""",
        sorted(gateway_refund_ids),
        FAILED,
        REFUND_FAILED_CODE,
        REFUND_FAILED_DESCRIPTION,
    )
