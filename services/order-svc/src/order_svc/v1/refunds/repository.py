"""asyncpg queries of `refund_details` (what /v1 keeps of a refund beyond payment-svc's), and nothing else."""

from __future__ import annotations

import asyncpg


class RefundDetailsRepository:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def insert(self, refund_id: str, receipt: str | None, speed: str) -> None:
        """Once per refund: a rerun of the same request keeps what the first stored."""
        await self._conn.execute(
            """INSERT INTO refund_details (refund_id, receipt, speed_requested) VALUES ($1, $2, $3)
               ON CONFLICT (refund_id) DO NOTHING""",
            refund_id,
            receipt,
            speed,
        )

    async def of(self, refund_ids: list[str]) -> dict[str, tuple[str | None, str]]:
        """refund id -> (receipt, speed requested)."""
        rows = await self._conn.fetch(
            "SELECT refund_id, receipt, speed_requested FROM refund_details WHERE refund_id = ANY($1::text[])",
            refund_ids,
        )
        return {row["refund_id"]: (row["receipt"], row["speed_requested"]) for row in rows}
