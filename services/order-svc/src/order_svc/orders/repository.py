"""asyncpg queries of `orders`, and nothing else; status changes guarded by the order's state machine."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from order_svc.orders.domain import Order, OrderStatus, moves_from

_COLUMNS = (
    "id, merchant_id, amount, currency, status, receipt, notes, created_at, updated_at, customer_email, customer_name,"
    " manual_capture"
)
# the condition that scopes a view row (an attempt's, a refund's) to the merchant `$2` through its order:
# another merchant's row reads as missing
OF_MERCHANT = "order_id IN (SELECT id FROM orders WHERE merchant_id = $2)"


def _order(row: asyncpg.Record | None) -> Order | None:
    if row is None:
        return None
    values = dict(row)
    return Order(**{**values, "status": OrderStatus(values["status"])})


class OrderRepository:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def insert(
        self,
        order_id: str,
        merchant_id: str,
        amount: int,
        currency: str,
        receipt: str | None,
        notes: dict[str, Any] | None,
        customer_email: str | None = None,
        customer_name: str | None = None,
        request_id: uuid.UUID | None = None,
        manual_capture: bool = False,
    ) -> Order:
        """The new order; or, when `request_id` already created one (an idempotency key's request run
        again after its first process died), that order, unchanged."""
        row = await self._conn.fetchrow(
            f"""INSERT INTO orders (id, merchant_id, amount, currency, receipt, notes, customer_email, customer_name,
                                    request_id, manual_capture)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                ON CONFLICT (request_id) WHERE request_id IS NOT NULL DO NOTHING
                RETURNING {_COLUMNS}""",
            order_id,
            merchant_id,
            amount,
            currency,
            receipt,
            notes,
            customer_email,
            customer_name,
            request_id,
            manual_capture,
        )
        if row is None:
            row = await self._conn.fetchrow(
                f"SELECT {_COLUMNS} FROM orders WHERE request_id = $1 AND merchant_id = $2", request_id, merchant_id
            )
        order = _order(row)
        assert order is not None  # inserted, or the conflicting row of this very request id
        return order

    async def get(self, order_id: str, merchant_id: str) -> Order | None:
        """Scoped to the merchant: another merchant's order reads as missing."""
        row = await self._conn.fetchrow(
            f"SELECT {_COLUMNS} FROM orders WHERE id = $1 AND merchant_id = $2", order_id, merchant_id
        )
        return _order(row)

    async def lock(self, order_id: str) -> Order | None:
        """The order row, locked until the transaction ends: every writer of an order or of its views
        takes it first, so none of them deadlocks another and events of one order apply one at a time."""
        return _order(await self._conn.fetchrow(f"SELECT {_COLUMNS} FROM orders WHERE id = $1 FOR UPDATE", order_id))

    async def move(self, order_id: str, target: OrderStatus) -> bool:
        """Move the order to `target` if the state machine allows it from where it is; True when it moved."""
        result = await self._conn.execute(
            "UPDATE orders SET status = $2, updated_at = now() WHERE id = $1 AND status = ANY($3::text[])",
            order_id,
            target.value,
            moves_from(target),
        )
        return str(result).endswith(" 1")
