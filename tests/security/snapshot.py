"""What an attack could have changed, read before and after it: the attack table's "database changed?".

Scoped to what the run itself made (its victims' orders and payments, the event ids it sent, orders
and payments created since it started), so the system's legitimate background work on older data
(the reconciler expiring an old attempt, the mock gateway finishing an earlier run's deliveries,
retention) never reads as a change.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import aio_pika
import asyncpg

WEBHOOK_QUEUE = "payment-svc.webhooks"
WEBHOOK_CONSUMER = "payment-svc.webhooks"
QUEUES = (WEBHOOK_QUEUE, f"{WEBHOOK_QUEUE}.dlq")


@dataclass
class Scope:
    """The rows an attack run watches: its victims, and anything created since it started."""

    started_at: datetime
    order_ids: list[str] = field(default_factory=list)
    payment_ids: list[str] = field(default_factory=list)
    # every webhook-id the attacks sent, forged or not: an inbox row for one means it was applied
    event_ids: list[str] = field(default_factory=list)


async def _database(database_url: str, scope: Scope) -> dict[str, Any]:
    conn = await asyncpg.connect(database_url)
    try:
        orders = await conn.fetch("SELECT id, status FROM orders.orders WHERE id = ANY($1::text[])", scope.order_ids)
        payments = await conn.fetch(
            "SELECT id, status FROM payments.payments WHERE id = ANY($1::text[])", scope.payment_ids
        )
        return {
            "orders.orders statuses": {row["id"]: row["status"] for row in orders},
            "payments.payments statuses": {row["id"]: row["status"] for row in payments},
            "orders.orders created": await conn.fetchval(
                "SELECT count(*) FROM orders.orders WHERE created_at >= $1", scope.started_at
            ),
            "payments.payments created": await conn.fetchval(
                "SELECT count(*) FROM payments.payments WHERE created_at >= $1", scope.started_at
            ),
            # the trail also records each replay the inbox turned away (`duplicate_ignored`): that row says
            # nothing happened, so it is not counted as a change
            "payments.payment_events rows": await conn.fetchval(
                """SELECT count(*) FROM payments.payment_events
                    WHERE payment_id = ANY($1::text[]) AND kind <> 'duplicate_ignored'""",
                scope.payment_ids,
            ),
            "payments.inbox rows": await conn.fetchval(
                "SELECT count(*) FROM payments.inbox WHERE consumer = $1 AND message_id = ANY($2::text[])",
                WEBHOOK_CONSUMER,
                scope.event_ids,
            ),
            "payments.anomalies rows": await conn.fetchval(
                "SELECT count(*) FROM payments.anomalies WHERE payment_id = ANY($1::text[])", scope.payment_ids
            ),
            "orders.payment_views rows": await conn.fetchval(
                "SELECT count(*) FROM orders.payment_views WHERE order_id = ANY($1::text[])", scope.order_ids
            ),
        }
    finally:
        await conn.close()


async def queue_depths(amqp_url: str) -> dict[str, int]:
    """Messages ready in the webhook queue and its dead letters."""
    connection = await aio_pika.connect(amqp_url)
    try:
        depths: dict[str, int] = {}
        for queue in QUEUES:
            # a passive declare of a missing queue closes its channel: one channel each
            channel = await connection.channel()
            try:
                declared = await channel.declare_queue(queue, passive=True)
                depths[queue] = declared.declaration_result.message_count or 0
            except aio_pika.exceptions.ChannelClosed:
                depths[queue] = 0
            finally:
                if not channel.is_closed:
                    await channel.close()
        return depths
    finally:
        await connection.close()


async def _take(database_url: str, amqp_url: str, scope: Scope) -> dict[str, Any]:
    state = await _database(database_url, scope)
    state["webhook queues (ready)"] = await queue_depths(amqp_url)
    return state


def take(database_url: str, amqp_url: str, scope: Scope) -> dict[str, Any]:
    return asyncio.run(_take(database_url, amqp_url, scope))


def changes(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """The snapshot entries that differ, described for the table's JSON."""
    found: list[str] = []
    for key in before.keys() | after.keys():
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if isinstance(old, dict) and isinstance(new, dict):
            for item in sorted(old.keys() | new.keys()):
                if old.get(item) != new.get(item):
                    found.append(f"{key}[{item}]: {old.get(item)} -> {new.get(item)}")
        else:
            found.append(f"{key}: {old} -> {new}")
    return sorted(found)


def settle(amqp_url: str, timeout: float = 10.0) -> None:
    """Wait until whatever an attack may have published has been consumed (the queue is empty), plus
    a moment for the consumer's transaction to commit."""

    async def drained() -> None:
        await asyncio.sleep(0.5)
        for _ in range(int(timeout / 0.2)):
            if not (await queue_depths(amqp_url))[WEBHOOK_QUEUE]:
                break
            await asyncio.sleep(0.2)
        await asyncio.sleep(0.5)

    asyncio.run(drained())
