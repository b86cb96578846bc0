"""asyncpg queries of `payment_emails`: one row per payment whose success is emailed to the customer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg


@dataclass(frozen=True, slots=True)
class PaymentEmail:
    """A payment email with what the message needs from its order, as locked for sending."""

    payment_id: str
    order_id: str
    status: str
    attempts: int
    message_id: str | None
    sent_at: datetime | None
    customer_email: str
    customer_name: str
    amount: int
    currency: str


class PaymentEmailRepository:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def add(self, payment_id: str, order_id: str) -> bool:
        """True when this payment had no email yet: only then is one to be sent."""
        inserted = await self._conn.fetchval(
            """INSERT INTO payment_emails (payment_id, order_id) VALUES ($1, $2)
               ON CONFLICT (payment_id) DO NOTHING RETURNING 1""",
            payment_id,
            order_id,
        )
        return inserted is not None

    async def lock(self, payment_id: str) -> PaymentEmail | None:
        """The row, locked until the transaction ends: a second mailer taking the same payment waits
        here and then finds it SENT."""
        row = await self._conn.fetchrow(
            """SELECT e.payment_id, e.order_id, e.status, e.attempts, e.message_id, e.sent_at,
                      o.customer_email, o.customer_name, o.amount, o.currency
                 FROM payment_emails e JOIN orders o ON o.id = e.order_id
                WHERE e.payment_id = $1
                  FOR UPDATE OF e""",
            payment_id,
        )
        return PaymentEmail(**dict(row)) if row else None

    async def mark_sent(self, payment_id: str, message_id: str) -> None:
        await self._conn.execute(
            """UPDATE payment_emails
                  SET status = 'SENT', message_id = $2, sent_at = now(), attempts = attempts + 1,
                      last_error = NULL, updated_at = now()
                WHERE payment_id = $1""",
            payment_id,
            message_id,
        )

    async def mark_skipped(self, payment_id: str) -> None:
        await self._conn.execute(
            """UPDATE payment_emails SET status = 'SKIPPED', last_error = 'no SMTP server configured',
                      updated_at = now()
                WHERE payment_id = $1""",
            payment_id,
        )

    async def record_failure(self, payment_id: str, error: str) -> None:
        """Count a failed send; its own transaction, since the one that tried it rolled back."""
        await self._conn.execute(
            """UPDATE payment_emails SET attempts = attempts + 1, last_error = $2, updated_at = now()
                WHERE payment_id = $1 AND status = 'PENDING'""",
            payment_id,
            error[:500],
        )
