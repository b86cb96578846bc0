"""Unit of work: one connection, one transaction, and the events that commit with it."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, ClassVar, TypeVar

import asyncpg

from payments_common import ids, outbox
from payments_common.errors import not_found
from payments_common.outbox import OutboxEvent

R = TypeVar("R")


class UnitOfWork:
    """`async with UnitOfWork(pool) as uow:` commits on a clean exit and rolls back on an exception.

    Handlers emit events with `uow.emit(...)`; they are written to the outbox inside the same
    transaction, just before it commits, so state and events are never out of step.
    """

    # how the transaction is opened: asyncpg's defaults (read committed, read-write) here
    _transaction_options: ClassVar[dict[str, Any]] = {}

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._conn: asyncpg.Connection | None = None
        self._tx: asyncpg.transaction.Transaction | None = None
        self.events: list[OutboxEvent] = []
        self._repositories: dict[Callable[[asyncpg.Connection], Any], Any] = {}

    @property
    def conn(self) -> asyncpg.Connection:
        if self._conn is None:
            raise RuntimeError("unit of work used outside `async with`")
        return self._conn

    def repo(self, repository: Callable[[asyncpg.Connection], R]) -> R:
        """The repository class `repository` on this unit's connection (one instance per unit), so every
        query a use case makes runs in the unit's transaction."""
        found = self._repositories.get(repository)
        if found is None:
            found = self._repositories[repository] = repository(self.conn)
        return found

    def emit(self, event: OutboxEvent) -> None:
        self.events.append(event)

    async def __aenter__(self) -> UnitOfWork:
        self._conn = await self._pool.acquire()
        try:
            self._tx = self._conn.transaction(**self._transaction_options)
            await self._tx.start()
        except BaseException:
            await self._pool.release(self._conn)
            self._conn = None
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._conn is not None and self._tx is not None
        try:
            if exc_type is None:
                await outbox.write(self._conn, self.events)
                await self._tx.commit()
            else:
                # a broken connection cannot roll back; the pool discards it and the error that
                # brought us here is the one worth raising
                with contextlib.suppress(Exception):
                    await self._tx.rollback()
        finally:
            await self._pool.release(self._conn)
            self._conn = None
            self._tx = None
            self._repositories.clear()


class ReadSnapshot(UnitOfWork):
    """`async with ReadSnapshot(pool) as snapshot:` a read-only REPEATABLE READ transaction, so that every
    read through `snapshot.repo(...)` sees one moment (an order and its attempts never disagree in one
    answer). It emits nothing; leaving it ends the transaction."""

    _transaction_options: ClassVar[dict[str, Any]] = {"isolation": "repeatable_read", "readonly": True}

    async def __aenter__(self) -> ReadSnapshot:
        await super().__aenter__()
        return self


class SingleRead(ReadSnapshot):
    """`async with SingleRead(pool) as read:` a pooled connection outside any transaction, for a read of
    ONE statement: PostgreSQL runs a lone statement in a snapshot of its own, so BEGIN and COMMIT would add
    two round trips and nothing else. A read of several statements that must agree takes a ReadSnapshot."""

    async def __aenter__(self) -> SingleRead:
        self._conn = await self._pool.acquire()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._conn is not None
        try:
            await self._pool.release(self._conn)
        finally:
            self._conn = None
            self._repositories.clear()


class SingleWrite(SingleRead):
    """`async with SingleWrite(pool) as write:` a pooled connection outside any transaction, for writes that
    each stand alone: PostgreSQL commits a lone statement by itself, all or nothing, so BEGIN and COMMIT
    would add two round trips and nothing else. Statements made through it are not atomic together (a
    write that must be, with another or with a read before it, takes a UnitOfWork), and it cannot emit
    events, which must commit with their change."""

    async def __aenter__(self) -> SingleWrite:
        await super().__aenter__()
        return self

    def emit(self, event: OutboxEvent) -> None:
        raise RuntimeError("a single-statement write has no transaction to commit events with")


async def _read_found(
    unit: type[ReadSnapshot],
    pool: asyncpg.Pool,
    what: str,
    prefix: str,
    wanted: str,
    read: Callable[[ReadSnapshot], Awaitable[R | None]],
) -> R:
    if not ids.is_valid(prefix, wanted):
        raise not_found(what)
    async with unit(pool) as snapshot:
        found = await read(snapshot)
    if found is None:
        raise not_found(what)
    return found


async def read_found(
    pool: asyncpg.Pool, what: str, prefix: str, wanted: str, read: Callable[[ReadSnapshot], Awaitable[R | None]]
) -> R:
    """What `read` finds in one snapshot, or the 404 of `what`: when `wanted` is no id of `prefix`'s kind, or
    `read` finds nothing (there is no such thing, or it is not the caller's)."""
    return await _read_found(ReadSnapshot, pool, what, prefix, wanted, read)


async def read_one_found(
    pool: asyncpg.Pool, what: str, prefix: str, wanted: str, read: Callable[[ReadSnapshot], Awaitable[R | None]]
) -> R:
    """`read_found` for a `read` of one statement, made through a SingleRead (no BEGIN and COMMIT): the
    hot paths' lookups of one order or one attempt."""
    return await _read_found(SingleRead, pool, what, prefix, wanted, read)
