"""The one read a merchant event of an attempt needs: the attempt's view row, its /v1 details, whether
it has refunds, and how many attempts its order has had, in one statement (the refunds themselves
only when there are any: a payment event on the way to PAID has none)."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from order_svc.payments.domain import PaymentView
from order_svc.payments.repository import VIEW_COLUMNS
from order_svc.v1.payments.repository import PaymentDetails

_READ = f"""
    SELECT {", ".join(f"v.{column}" for column in VIEW_COLUMNS)},
           d.payment_id IS NOT NULL AS has_details, d.email, d.contact, d.notes,
           EXISTS (SELECT 1 FROM refund_views r WHERE r.payment_id = v.id) AS has_refunds,
           (SELECT count(*) FROM payment_views a WHERE a.order_id = v.order_id) AS attempts
      FROM payment_views v
      LEFT JOIN payment_details d ON d.payment_id = v.id
     WHERE v.id = $1"""


@dataclass(frozen=True, slots=True)
class AttemptFacts:
    view: PaymentView
    details: PaymentDetails | None
    has_refunds: bool
    attempts: int  # of the attempt's order, this one included


class EventReadRepository:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def attempt(self, payment_id: str) -> AttemptFacts | None:
        row = await self._conn.fetchrow(_READ, payment_id)
        if row is None:
            return None
        details = PaymentDetails(row["email"], row["contact"], row["notes"]) if row["has_details"] else None
        view = PaymentView(**{column: row[column] for column in VIEW_COLUMNS})
        return AttemptFacts(view, details, row["has_refunds"], row["attempts"])
