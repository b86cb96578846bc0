"""asyncpg queries of `payment_details` (what /v1 keeps of a payment beyond the attempt), and nothing else."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg


@dataclass(frozen=True, slots=True)
class PaymentDetails:
    email: str | None = None
    contact: str | None = None
    notes: dict[str, Any] | None = None


class PaymentDetailsRepository:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def insert(self, payment_id: str, email: str, contact: str, notes: dict[str, Any] | None) -> None:
        """Once per payment: a rerun of the same request (an idempotency key's) keeps what the first stored."""
        await self._conn.execute(
            """INSERT INTO payment_details (payment_id, email, contact, notes) VALUES ($1, $2, $3, $4)
               ON CONFLICT (payment_id) DO NOTHING""",
            payment_id,
            email,
            contact,
            notes,
        )

    async def set_notes(self, payment_id: str, notes: dict[str, Any]) -> None:
        await self._conn.execute(
            """INSERT INTO payment_details (payment_id, notes) VALUES ($1, $2)
               ON CONFLICT (payment_id) DO UPDATE SET notes = EXCLUDED.notes, updated_at = now()""",
            payment_id,
            notes,
        )

    async def of(self, payment_ids: list[str]) -> dict[str, PaymentDetails]:
        rows = await self._conn.fetch(
            "SELECT payment_id, email, contact, notes FROM payment_details WHERE payment_id = ANY($1::text[])",
            payment_ids,
        )
        return {row["payment_id"]: PaymentDetails(row["email"], row["contact"], row["notes"]) for row in rows}
