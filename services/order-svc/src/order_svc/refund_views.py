"""asyncpg queries of order-svc's `refund_views`: its copy of each refund, kept from payment-svc's snapshots."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from payments_common.events import RefundSnapshot

# PENDING and PROCESSED refunds count against the payment; a FAILED one gave its amount back
NOT_COUNTED = "FAILED"


@dataclass(frozen=True, slots=True)
class RefundView:
    id: str
    payment_id: str
    order_id: str
    amount: int
    currency: str
    status: str
    notes: dict[str, Any] | None
    error_code: str | None
    error_description: str | None
    version: int
    created_at: datetime
    updated_at: datetime


def amount_refunded(refunds: list[RefundView], payment_id: str) -> int:
    """What the payment's refunds take from it: every refund of it that has not failed."""
    return sum(r.amount for r in refunds if r.payment_id == payment_id and r.status != NOT_COUNTED)


_COLUMNS = """id, payment_id, order_id, amount, currency, status, notes, error_code, error_description, version,
              created_at, updated_at"""


class RefundViewRepository:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def of_order(self, order_id: str) -> list[RefundView]:
        """Every refund of the order's payments, oldest first."""
        rows = await self._conn.fetch(
            f"SELECT {_COLUMNS} FROM refund_views WHERE order_id = $1 ORDER BY created_at, id", order_id
        )
        return [RefundView(**dict(row)) for row in rows]

    async def merchant_refund(self, refund_id: str, merchant_id: str) -> RefundView | None:
        """Scoped to the merchant through the refund's order: another merchant's refund reads as missing."""
        row = await self._conn.fetchrow(
            f"""SELECT {_COLUMNS} FROM refund_views
                 WHERE id = $1 AND order_id IN (SELECT id FROM orders WHERE merchant_id = $2)""",
            refund_id,
            merchant_id,
        )
        return RefundView(**dict(row)) if row else None

    async def payment_known(self, payment_id: str) -> bool:
        return bool(await self._conn.fetchval("SELECT true FROM payment_views WHERE id = $1", payment_id))

    async def upsert(self, refund: RefundSnapshot) -> bool:
        """Keep the newest snapshot of a refund; True when this one changed the view."""
        changed = await self._conn.fetchval(
            """INSERT INTO refund_views (id, payment_id, order_id, amount, currency, status, notes, error_code,
                                         error_description, version, created_at, updated_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
               ON CONFLICT (id) DO UPDATE
                  SET status = EXCLUDED.status,
                      error_code = EXCLUDED.error_code,
                      error_description = EXCLUDED.error_description,
                      version = EXCLUDED.version,
                      updated_at = EXCLUDED.updated_at
                WHERE refund_views.version < EXCLUDED.version
            RETURNING 1""",
            refund.id,
            refund.paymentId,
            refund.orderId,
            refund.amount,
            refund.currency,
            refund.status,
            refund.notes,
            refund.errorCode,
            refund.errorDescription,
            refund.version,
            refund.createdAt,
            refund.updatedAt,
        )
        return changed is not None
