"""SQL of `payment_links`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from order_svc.payment_links.domain import PaymentLink

_COLUMNS = """id, merchant_id, order_id, token, short_url, description, customer_name, customer_email, customer_contact,
              expire_by, reference_id, callback_url, callback_method, notes, status, paid_payment_id,
              cancelled_at, created_at, updated_at"""


def _link(row: asyncpg.Record | None) -> PaymentLink | None:
    return PaymentLink(**dict(row)) if row is not None else None


class PaymentLinkRepository:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def insert(self, link: dict[str, Any]) -> PaymentLink:
        """`link`: every column but the status, the payment, the cancellation and the timestamps."""
        names = list(link)
        row = await self._conn.fetchrow(
            f"""INSERT INTO payment_links ({", ".join(names)})
                VALUES ({", ".join(f"${n}" for n in range(1, len(names) + 1))}) RETURNING {_COLUMNS}""",
            *link.values(),
        )
        found = _link(row)
        assert found is not None
        return found

    async def get(self, link_id: str, merchant_id: str) -> PaymentLink | None:
        """Scoped to the merchant: another merchant's link reads as missing."""
        row = await self._conn.fetchrow(
            f"SELECT {_COLUMNS} FROM payment_links WHERE id = $1 AND merchant_id = $2", link_id, merchant_id
        )
        return _link(row)

    async def lock(self, link_id: str, merchant_id: str) -> PaymentLink | None:
        row = await self._conn.fetchrow(
            f"SELECT {_COLUMNS} FROM payment_links WHERE id = $1 AND merchant_id = $2 FOR UPDATE", link_id, merchant_id
        )
        return _link(row)

    async def by_token(self, token: str) -> PaymentLink | None:
        row = await self._conn.fetchrow(f"SELECT {_COLUMNS} FROM payment_links WHERE token = $1", token)
        return _link(row)

    async def by_order(self, order_id: str) -> PaymentLink | None:
        row = await self._conn.fetchrow(f"SELECT {_COLUMNS} FROM payment_links WHERE order_id = $1", order_id)
        return _link(row)

    async def page(
        self, merchant_id: str, limit: int, offset: int, reference_id: str | None = None
    ) -> list[PaymentLink]:
        rows = await self._conn.fetch(
            f"""SELECT {_COLUMNS} FROM payment_links
                 WHERE merchant_id = $1 AND ($4::text IS NULL OR reference_id = $4)
                 ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3""",
            merchant_id,
            limit,
            offset,
            reference_id,
        )
        return [PaymentLink(**dict(row)) for row in rows]

    async def edit(
        self, link_id: str, notes: dict[str, Any] | None, expire_by: datetime | None, reference_id: str | None
    ) -> PaymentLink:
        """Each given (not None) field replaced; the others kept."""
        row = await self._conn.fetchrow(
            f"""UPDATE payment_links
                   SET notes = COALESCE($2::json, notes), expire_by = COALESCE($3, expire_by),
                       reference_id = COALESCE($4, reference_id), updated_at = now()
                 WHERE id = $1 RETURNING {_COLUMNS}""",
            link_id,
            notes,
            expire_by,
            reference_id,
        )
        found = _link(row)
        assert found is not None
        return found

    async def cancel(self, link_id: str) -> PaymentLink:
        row = await self._conn.fetchrow(
            f"""UPDATE payment_links SET status = 'cancelled', cancelled_at = now(), updated_at = now()
                 WHERE id = $1 RETURNING {_COLUMNS}""",
            link_id,
        )
        found = _link(row)
        assert found is not None
        return found

    async def mark_paid(self, order_id: str, payment_id: str) -> PaymentLink | None:
        """The order's link, now paid by `payment_id`; None when the order has no link or it was paid already.
        A payment started before a cancellation or the expiry that succeeds after it still pays the link:
        the money moved, and the link says so."""
        row = await self._conn.fetchrow(
            f"""UPDATE payment_links
                   SET status = 'paid', paid_payment_id = $2, cancelled_at = NULL, updated_at = now()
                 WHERE order_id = $1 AND status <> 'paid' RETURNING {_COLUMNS}""",
            order_id,
            payment_id,
        )
        return _link(row)
