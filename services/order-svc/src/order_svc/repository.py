"""asyncpg queries of order-svc's schema, and nothing else."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

# RefundView re-exported: what `refunds()` returns is this module's to name, as Order and PaymentView are
from order_svc.refund_views import RefundView as RefundView
from order_svc.refund_views import RefundViewRepository
from payments_common.events import PaymentSnapshot
from payments_common.methods import summary_or_none


@dataclass(frozen=True, slots=True)
class Order:
    id: str
    merchant_id: str
    amount: int
    currency: str
    status: str
    receipt: str | None
    notes: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime
    # both or neither: who the receipt email of a successful payment goes to
    customer_email: str | None = None
    customer_name: str | None = None


@dataclass(frozen=True, slots=True)
class PaymentView:
    id: str
    order_id: str
    status: str
    amount: int
    currency: str
    gateway_payment_id: str | None
    signature: str | None
    error_code: str | None
    error_description: str | None
    version: int
    created_at: datetime
    updated_at: datetime
    # the method's summary (`payments_common.methods.summary`); None when the attempt named no method
    method: dict[str, Any] | None = None


_ORDER_COLUMNS = (
    "id, merchant_id, amount, currency, status, receipt, notes, created_at, updated_at, customer_email, customer_name"
)
_VIEW_COLUMNS = """id, order_id, status, amount, currency, gateway_payment_id, signature, error_code,
                   error_description, version, created_at, updated_at, method"""


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
    ) -> Order:
        """The new order; or, when `request_id` already created one (an idempotency key's request run
        again after its first process died), that order, unchanged."""
        row = await self._conn.fetchrow(
            f"""INSERT INTO orders (id, merchant_id, amount, currency, receipt, notes, customer_email, customer_name,
                                    request_id)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                ON CONFLICT (request_id) WHERE request_id IS NOT NULL DO NOTHING
                RETURNING {_ORDER_COLUMNS}""",
            order_id,
            merchant_id,
            amount,
            currency,
            receipt,
            notes,
            customer_email,
            customer_name,
            request_id,
        )
        if row is None:
            row = await self._conn.fetchrow(
                f"SELECT {_ORDER_COLUMNS} FROM orders WHERE request_id = $1 AND merchant_id = $2",
                request_id,
                merchant_id,
            )
        return Order(**dict(row))

    async def get(self, order_id: str, merchant_id: str) -> Order | None:
        """Scoped to the merchant: another merchant's order reads as missing."""
        row = await self._conn.fetchrow(
            f"SELECT {_ORDER_COLUMNS} FROM orders WHERE id = $1 AND merchant_id = $2", order_id, merchant_id
        )
        return Order(**dict(row)) if row else None

    async def lock(self, order_id: str) -> Order | None:
        row = await self._conn.fetchrow(f"SELECT {_ORDER_COLUMNS} FROM orders WHERE id = $1 FOR UPDATE", order_id)
        return Order(**dict(row)) if row else None

    async def payments(self, order_id: str) -> list[PaymentView]:
        rows = await self._conn.fetch(
            f"SELECT {_VIEW_COLUMNS} FROM payment_views WHERE order_id = $1 ORDER BY created_at, id", order_id
        )
        return [PaymentView(**dict(row)) for row in rows]

    async def refunds(self, order_id: str) -> list[RefundView]:
        """Every refund of the order's payments, oldest first (`RefundView.payment_id` says whose)."""
        return await RefundViewRepository(self._conn).of_order(order_id)

    async def merchant_payment(self, payment_id: str, merchant_id: str) -> PaymentView | None:
        """Scoped to the merchant through the attempt's order: another merchant's attempt reads as missing."""
        row = await self._conn.fetchrow(
            f"""SELECT {_VIEW_COLUMNS} FROM payment_views
                 WHERE id = $1 AND order_id IN (SELECT id FROM orders WHERE merchant_id = $2)""",
            payment_id,
            merchant_id,
        )
        return PaymentView(**dict(row)) if row else None

    async def payment_by_gateway_id(self, order_id: str, gateway_payment_id: str) -> PaymentView | None:
        row = await self._conn.fetchrow(
            f"SELECT {_VIEW_COLUMNS} FROM payment_views WHERE order_id = $1 AND gateway_payment_id = $2",
            order_id,
            gateway_payment_id,
        )
        return PaymentView(**dict(row)) if row else None

    async def upsert_payment(self, payment: PaymentSnapshot) -> bool:
        """Keep the newest snapshot of a payment; True when this one changed the view."""
        changed = await self._conn.fetchval(
            """INSERT INTO payment_views (id, order_id, status, amount, currency, gateway_payment_id, signature,
                                          error_code, error_description, version, created_at, updated_at, method)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
               ON CONFLICT (id) DO UPDATE
                  SET status = EXCLUDED.status,
                      gateway_payment_id = EXCLUDED.gateway_payment_id,
                      signature = EXCLUDED.signature,
                      error_code = EXCLUDED.error_code,
                      error_description = EXCLUDED.error_description,
                      version = EXCLUDED.version,
                      updated_at = EXCLUDED.updated_at,
                      method = EXCLUDED.method
                WHERE payment_views.version < EXCLUDED.version
            RETURNING 1""",
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
            # summarised again, though payment-svc sends only summaries: whatever a snapshot carried, no
            # card number can land in this table
            summary_or_none(payment.method),
        )
        return changed is not None

    async def mark_paid(self, order_id: str) -> bool:
        """A PAID order never changes again."""
        result = await self._conn.execute(
            "UPDATE orders SET status = 'PAID', updated_at = now() WHERE id = $1 AND status <> 'PAID'", order_id
        )
        return str(result).endswith(" 1")

    async def mark_failed(self, order_id: str) -> bool:
        result = await self._conn.execute(
            "UPDATE orders SET status = 'FAILED', updated_at = now() WHERE id = $1 AND status = 'CREATED'", order_id
        )
        return str(result).endswith(" 1")
