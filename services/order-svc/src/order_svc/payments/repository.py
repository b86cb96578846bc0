"""asyncpg queries of `payment_views`: order-svc's copy of each attempt, kept from payment-svc's snapshots."""

from __future__ import annotations

from typing import Any

import asyncpg

from order_svc.orders.repository import OF_MERCHANT
from order_svc.payments.domain import Moved, PaymentView
from payments_common.events import PaymentSnapshot
from payments_common.methods import summary_or_none

# the view's columns, in `PaymentView`'s order (other reads of the view name them from here)
VIEW_COLUMNS = (
    "id",
    "order_id",
    "status",
    "amount",
    "currency",
    "gateway_payment_id",
    "signature",
    "error_code",
    "error_description",
    "version",
    "created_at",
    "updated_at",
    "method",
)
_COLUMNS = ", ".join(VIEW_COLUMNS)


# `_COLUMNS`' values, in its order, as the upserts bind them (`_view_args`)
_VIEW_VALUES = "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13"
# a snapshot replaces the view's row only when it is newer: events and answers arrive in any order
_NEWER_WINS = """ON CONFLICT (id) DO UPDATE
                    SET status = EXCLUDED.status,
                        gateway_payment_id = EXCLUDED.gateway_payment_id,
                        signature = EXCLUDED.signature,
                        error_code = EXCLUDED.error_code,
                        error_description = EXCLUDED.error_description,
                        version = EXCLUDED.version,
                        updated_at = EXCLUDED.updated_at,
                        method = EXCLUDED.method
                  WHERE payment_views.version < EXCLUDED.version"""


def _view_args(payment: PaymentSnapshot) -> tuple[Any, ...]:
    return (
        payment.id,
        payment.orderId,
        payment.status,
        payment.amount,
        payment.currency,
        payment.gatewayPaymentId,
        payment.signature,
        payment.errorCode,
        payment.errorDescription,
        payment.version,
        payment.createdAt,
        payment.updatedAt,
        # summarised again, though payment-svc sends only summaries: whatever a snapshot carried, no card
        # number can land in this table
        summary_or_none(payment.method),
    )


class PaymentViewRepository:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def of_order(self, order_id: str) -> list[PaymentView]:
        """The order's attempts, oldest first."""
        rows = await self._conn.fetch(
            f"SELECT {_COLUMNS} FROM payment_views WHERE order_id = $1 ORDER BY created_at, id", order_id
        )
        return [PaymentView(**dict(row)) for row in rows]

    async def get(self, payment_id: str) -> PaymentView | None:
        row = await self._conn.fetchrow(f"SELECT {_COLUMNS} FROM payment_views WHERE id = $1", payment_id)
        return PaymentView(**dict(row)) if row else None

    async def holds(self, payment: PaymentSnapshot) -> bool:
        """Whether the view already holds this snapshot's version of the attempt or a newer one."""
        return bool(
            await self._conn.fetchval(
                "SELECT true FROM payment_views WHERE id = $1 AND version >= $2", payment.id, payment.version
            )
        )

    async def merchant_payment(self, payment_id: str, merchant_id: str) -> PaymentView | None:
        """Scoped to the merchant through the attempt's order: another merchant's attempt reads as missing."""
        row = await self._conn.fetchrow(
            f"SELECT {_COLUMNS} FROM payment_views WHERE id = $1 AND {OF_MERCHANT}", payment_id, merchant_id
        )
        return PaymentView(**dict(row)) if row else None

    async def by_gateway_id(self, order_id: str, gateway_payment_id: str) -> PaymentView | None:
        row = await self._conn.fetchrow(
            f"SELECT {_COLUMNS} FROM payment_views WHERE order_id = $1 AND gateway_payment_id = $2",
            order_id,
            gateway_payment_id,
        )
        return PaymentView(**dict(row)) if row else None

    async def known(self, payment_id: str) -> bool:
        return bool(await self._conn.fetchval("SELECT true FROM payment_views WHERE id = $1", payment_id))

    async def upsert(self, payment: PaymentSnapshot) -> Moved | None:
        """Keep the newest snapshot of a payment: the move it made (from which status), or None when the
        view already held this version or a newer one. The status before is read in the same statement
        (its snapshot is the one before the write), which saves a round trip on every event applied;
        writers of one attempt's view hold its order's lock, so nothing moves it in between."""
        row = await self._conn.fetchrow(
            f"""WITH before AS (SELECT status FROM payment_views WHERE id = $1)
                INSERT INTO payment_views ({_COLUMNS}) VALUES ({_VIEW_VALUES})
                {_NEWER_WINS}
                RETURNING (SELECT status FROM before)""",
            *_view_args(payment),
        )
        return None if row is None else Moved(before=row[0])

    async def lock_order_and_upsert(self, payment: PaymentSnapshot) -> bool:
        """`upsert` with the order's row lock taken first by the same statement, outside any transaction
        (one round trip instead of four: BEGIN, the lock, the upsert, COMMIT). The lock is taken before the
        view's row, as every writer of the view takes them, so it cannot deadlock with the consumer. It
        does not say the status before (a read in the statement's snapshot, taken before the lock, could
        miss a move committed meanwhile): for a move that tells no one. True when the view changed."""
        changed = await self._conn.fetchval(
            f"""WITH locked AS (SELECT id FROM orders WHERE id = $2 FOR UPDATE)
                INSERT INTO payment_views ({_COLUMNS})
                SELECT {_VIEW_VALUES.replace("$2", "locked.id")} FROM locked
                {_NEWER_WINS}
                RETURNING true""",
            *_view_args(payment),
        )
        return bool(changed)
