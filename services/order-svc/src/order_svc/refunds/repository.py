"""asyncpg queries of `refund_views`: order-svc's copy of each refund, kept from payment-svc's snapshots."""

from __future__ import annotations

import asyncpg

from order_svc.orders.repository import OF_MERCHANT
from order_svc.refunds.domain import RefundView
from payments_common.events import RefundSnapshot

_COLUMNS = """id, payment_id, order_id, amount, currency, status, notes, error_code, error_description, version,
              created_at, updated_at"""


class RefundViewRepository:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def of_order(self, order_id: str) -> list[RefundView]:
        """Every refund of the order's payments, oldest first (`RefundView.payment_id` says whose)."""
        rows = await self._conn.fetch(
            f"SELECT {_COLUMNS} FROM refund_views WHERE order_id = $1 ORDER BY created_at, id", order_id
        )
        return [RefundView(**dict(row)) for row in rows]

    async def get(self, refund_id: str) -> RefundView | None:
        row = await self._conn.fetchrow(f"SELECT {_COLUMNS} FROM refund_views WHERE id = $1", refund_id)
        return RefundView(**dict(row)) if row else None

    async def merchant_refund(self, refund_id: str, merchant_id: str) -> RefundView | None:
        """Scoped to the merchant through the refund's order: another merchant's refund reads as missing."""
        row = await self._conn.fetchrow(
            f"SELECT {_COLUMNS} FROM refund_views WHERE id = $1 AND {OF_MERCHANT}", refund_id, merchant_id
        )
        return RefundView(**dict(row)) if row else None

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
