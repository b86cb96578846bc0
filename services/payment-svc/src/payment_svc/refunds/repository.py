"""asyncpg queries of payment-svc's refunds, and of the payment columns that track them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from payment_svc.attempts.repository import RowRepository
from payment_svc.refunds.domain import RefundStatus

_REFUND_COLUMNS = """id, payment_id, order_id, merchant_id, amount, currency, status, notes, gateway_refund_id,
                     error_code, error_description, version, created_at, updated_at"""


@dataclass(frozen=True, slots=True)
class Refund:
    id: str
    payment_id: str
    order_id: str
    merchant_id: str
    amount: int
    currency: str
    status: RefundStatus
    notes: dict[str, Any] | None
    gateway_refund_id: str | None
    error_code: str | None
    error_description: str | None
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> Refund:
        values = dict(row)
        values["status"] = RefundStatus(values["status"])
        return cls(**values)


class RefundRepository(RowRepository[Refund]):
    row_type = Refund
    table = "refunds"
    columns = _REFUND_COLUMNS

    async def amount_refunded(self, payment_id: str) -> int:
        return int(await self._conn.fetchval("SELECT amount_refunded FROM payments WHERE id = $1", payment_id))

    async def reserve(self, payment_id: str, amount: int) -> int:
        """Add `amount` to the payment's refunded total and return the new total.

        The table's CHECK (`amount_refunded <= amount`) refuses a total past the payment's amount with
        `asyncpg.CheckViolationError`, whatever the caller checked before.
        """
        return int(
            await self._conn.fetchval(
                "UPDATE payments SET amount_refunded = amount_refunded + $2 WHERE id = $1 RETURNING amount_refunded",
                payment_id,
                amount,
            )
        )

    async def release(self, payment_id: str, amount: int) -> int:
        """Give a failed refund's amount back; return the new total."""
        return int(
            await self._conn.fetchval(
                "UPDATE payments SET amount_refunded = amount_refunded - $2 WHERE id = $1 RETURNING amount_refunded",
                payment_id,
                amount,
            )
        )

    async def insert(
        self,
        refund_id: str,
        payment_id: str,
        order_id: str,
        merchant_id: str,
        amount: int,
        currency: str,
        notes: dict[str, Any] | None,
        request_id: uuid.UUID | None = None,
    ) -> Refund:
        return await self._created(
            f"""INSERT INTO refunds (id, payment_id, order_id, merchant_id, amount, currency, status, notes, request_id)
                VALUES ($1, $2, $3, $4, $5, $6, 'PENDING', $7, $8)
                RETURNING {_REFUND_COLUMNS}""",
            refund_id,
            payment_id,
            order_id,
            merchant_id,
            amount,
            currency,
            notes,
            request_id,
        )

    async def by_request(self, payment_id: str, request_id: uuid.UUID) -> Refund | None:
        """The refund of this payment the client's request created, if an earlier run of it got that far."""
        return await self._by_request("payment_id", payment_id, request_id)

    async def of_payment(self, payment_id: str) -> list[Refund]:
        return await self._many(
            f"SELECT {_REFUND_COLUMNS} FROM refunds WHERE payment_id = $1 ORDER BY created_at, id", payment_id
        )

    async def pending_before(self, cutoff: datetime, limit: int) -> list[Refund]:
        """Refunds still PENDING that were created before `cutoff`, oldest first (`refunds_pending_by_age`)."""
        return await self._many(
            f"""SELECT {_REFUND_COLUMNS} FROM refunds
                 WHERE status = 'PENDING' AND created_at < $1
                 ORDER BY created_at LIMIT $2""",
            cutoff,
            limit,
        )

    async def attach_gateway_refund(self, refund_id: str, gateway_refund_id: str) -> Refund | None:
        """Note the gateway's id once; None when the refund already has one (the same, or another).

        Not a change order-svc shows, so the version stays: snapshots are ordered by what they show."""
        return await self._one(
            f"""UPDATE refunds SET gateway_refund_id = $2
                 WHERE id = $1 AND gateway_refund_id IS NULL
             RETURNING {_REFUND_COLUMNS}""",
            refund_id,
            gateway_refund_id,
        )

    async def settle(
        self,
        refund_id: str,
        status: RefundStatus,
        gateway_refund_id: str | None,
        error_code: str | None,
        error_description: str | None,
    ) -> Refund | None:
        """Move a PENDING refund to `status` once; None when it is no longer PENDING."""
        return await self._one(
            f"""UPDATE refunds
                   SET status = $2, gateway_refund_id = coalesce(gateway_refund_id, $3), error_code = $4,
                       error_description = $5, version = version + 1, updated_at = now()
                 WHERE id = $1 AND status = 'PENDING'
             RETURNING {_REFUND_COLUMNS}""",
            refund_id,
            status.value,
            gateway_refund_id,
            error_code,
            error_description,
        )
