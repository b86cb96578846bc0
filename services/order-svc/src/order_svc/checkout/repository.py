"""SQL of the checkout pages' own: the lock that lets one payment of an order start at a time."""

from __future__ import annotations

import asyncpg

# the advisory locks' class of the checkout pages (the first key of the two-key form); the second is the
# order id's hash: a collision only makes two orders' first clicks wait for each other a moment
_CHECKOUT_LOCKS = 0x63686B6F


class CheckoutRepository:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def hold_order(self, order_id: str) -> None:
        """Until the transaction ends: not the order's row, which starting the payment locks on its own."""
        await self._conn.execute("SELECT pg_advisory_xact_lock($1, hashtext($2))", _CHECKOUT_LOCKS, order_id)
