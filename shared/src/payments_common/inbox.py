"""The consumer side of exactly-once effects: a message id is claimed inside the transaction that
applies it, so a redelivery finds the claim and does nothing, and a rollback releases the claim."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import asyncpg

from payments_common import metrics
from payments_common.consumer import M, Step
from payments_common.logging import bound, get_logger
from payments_common.uow import UnitOfWork

log = get_logger(__name__)

# the part of a step that runs inside the unit of work, after the claim
Apply = Callable[[UnitOfWork, M, str | None], Awaitable[None]]
Duplicate = Callable[[UnitOfWork, M], Awaitable[None]]


async def claim(conn: asyncpg.Connection, consumer: str, message_id: str) -> bool:
    """True when this is the first time `consumer` sees `message_id`.

    A concurrent duplicate blocks on the primary key until the first transaction ends, then sees
    the row (committed) or takes the claim itself (rolled back).
    """
    row = await conn.fetchval(
        "INSERT INTO inbox (consumer, message_id) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING 1",
        consumer,
        message_id,
    )
    if row is None:
        metrics.inbox_duplicate(consumer)
        return False
    return True


def claim_once(
    pool: asyncpg.Pool, consumer: str, apply: Apply[M], *, on_duplicate: Duplicate[M] | None = None
) -> Step[M]:
    """The step every consumer of this system takes: open a unit of work, claim the message for
    `consumer`, and apply it in that same transaction; a message claimed before is logged (and handed to
    `on_duplicate`, which may record it) and applies nothing. An exception rolls back the claim with
    the effects, so the retry tiers bring the message back whole."""

    async def step(message_id: str, message: M, correlation_id: str | None) -> None:
        async with UnitOfWork(pool) as uow:
            if not await claim(uow.conn, consumer, message_id):
                if on_duplicate is not None:
                    await on_duplicate(uow, message)
                log.info("message.duplicate_ignored", consumer=consumer)
                return
            await apply(uow, message, correlation_id)

    return step


def bound_to(step: Step[M], context: Callable[[M], dict[str, str]]) -> Step[M]:
    """`step` with `context(message)` (ids naming what the message is about) bound to every log line it
    writes, the duplicate's included."""

    async def bound_step(message_id: str, message: M, correlation_id: str | None) -> None:
        with bound(**context(message)):
            await step(message_id, message, correlation_id)

    return bound_step
