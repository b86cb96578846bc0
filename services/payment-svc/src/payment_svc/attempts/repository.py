"""asyncpg queries of the payment attempts, their order rows, their trail and their anomalies."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Protocol, Self, TypeVar

import asyncpg

from payment_svc.attempts.domain import PaymentStatus, moves_from

_PAYMENT_COLUMNS = """id, order_id, merchant_id, amount, currency, method, status, gateway_payment_id, signature,
                      error_code, error_description, settled_by, version, created_at, updated_at,
                      manual_capture"""


# the order's row, created on first use and locked until the transaction ends ($1 to $4: the order's id,
# merchant, amount and currency), by `lock_order` alone and by `start` with the attempt
_LOCK_ORDER = """INSERT INTO order_payments (order_id, merchant_id, amount, currency) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (order_id) DO UPDATE SET order_id = EXCLUDED.order_id
                 RETURNING order_id, merchant_id, amount, currency, paid_payment_id"""


# the partial unique indexes that keep one open (INITIATED or AUTHORIZED) attempt per order
OPEN_ATTEMPT_INDEXES = frozenset({"payments_one_initiated_per_order", "payments_one_open_per_order"})


@dataclass(frozen=True, slots=True)
class Trail:
    """An entry of a payment's trail (`payment_events`), written by the statement that makes the change it
    tells of: one round trip for both, and the entry exists exactly when the change happened."""

    kind: str
    source: str
    event_id: str | None = None
    detail: dict[str, Any] | None = None

    def args(self) -> tuple[Any, ...]:
        return (self.kind, self.source, self.event_id, self.detail or {})


def _with_trail(
    change: str,
    first: int,
    trail: Trail | None,
    *,
    also: str = "",
    before: str = "",
    result: str = "SELECT * FROM changed",
) -> tuple[str, tuple[Any, ...]]:
    """`change` (an INSERT or UPDATE of payments ... RETURNING the payment's columns, with `first - 1`
    parameters) and, when there is one, the trail entry of the payment it returns: the statement and the
    entry's parameters (kind, source, event id and detail as `first` to `first + 3`). `before` and `also`
    are more named statements made by the same round trip, before `changed` and after it, and `result`
    what it answers."""
    ctes = [before] if before else []
    ctes.append(f"changed AS ({change})")
    if trail is not None:
        ctes.append(
            f"""trail AS (INSERT INTO payment_events (payment_id, kind, source, event_id, detail)
                         SELECT id, ${first}, ${first + 1}, ${first + 2}, ${first + 3} FROM changed)"""
        )
    if also:
        ctes.append(also)
    if len(ctes) == 1:
        return change, ()
    return f"WITH {', '.join(ctes)} {result}", trail.args() if trail is not None else ()


# a SUCCESS pays its order: the order's row names it, the first time (settle's `also`)
_PAYS_ITS_ORDER = """paid AS (UPDATE order_payments o SET paid_payment_id = changed.id FROM changed
                              WHERE o.order_id = changed.order_id AND o.paid_payment_id IS NULL
                                AND changed.status = 'SUCCESS')"""


class _FromRow(Protocol):
    @classmethod
    def from_row(cls, row: asyncpg.Record) -> Self: ...


R = TypeVar("R", bound=_FromRow)


class RowRepository(Generic[R]):
    """A repository of one kind of row (`row_type`): its queries answer that row, None, or a list of them."""

    row_type: type[R]
    # the table the rows are read from, and the columns that make one
    table: str
    columns: str

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def _one(self, sql: str, *args: Any) -> R | None:
        row = await self._conn.fetchrow(sql, *args)
        return self.row_type.from_row(row) if row else None

    async def _created(self, sql: str, *args: Any) -> R:
        found = await self._one(sql, *args)
        assert found is not None  # an INSERT ... RETURNING answers the row it made
        return found

    async def _many(self, sql: str, *args: Any) -> list[R]:
        return [self.row_type.from_row(row) for row in await self._conn.fetch(sql, *args)]

    async def get(self, row_id: str, *, for_update: bool = False) -> R | None:
        lock = " FOR UPDATE" if for_update else ""
        return await self._one(f"SELECT {self.columns} FROM {self.table} WHERE id = $1{lock}", row_id)

    async def _by_request(self, parent: str, parent_id: str, request_id: uuid.UUID) -> R | None:
        """The row the client's request `request_id` created under `parent_id` (of the column `parent`), if an
        earlier run of that request got that far."""
        return await self._one(
            f"SELECT {self.columns} FROM {self.table} WHERE request_id = $1 AND {parent} = $2", request_id, parent_id
        )


@dataclass(frozen=True, slots=True)
class Payment:
    id: str
    order_id: str
    merchant_id: str
    amount: int
    currency: str
    method: dict[str, Any] | None
    status: PaymentStatus
    gateway_payment_id: str | None
    signature: str | None
    error_code: str | None
    error_description: str | None
    settled_by: str | None
    version: int
    created_at: datetime
    updated_at: datetime
    # made for manual capture: the gateway authorises it, and it is captured (or voided) later
    manual_capture: bool = False

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> Payment:
        values = dict(row)
        values["status"] = PaymentStatus(values["status"])
        return cls(**values)


@dataclass(frozen=True, slots=True)
class PaymentEventRow:
    """One entry of a payment's append-only trail (`payment_events`)."""

    id: int
    kind: str
    source: str
    event_id: str | None
    detail: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class OrderPayments:
    order_id: str
    merchant_id: str
    amount: int
    currency: str
    paid_payment_id: str | None


class PaymentRepository(RowRepository[Payment]):
    row_type = Payment
    table = "payments"
    columns = _PAYMENT_COLUMNS

    async def lock_order(self, order_id: str, merchant_id: str, amount: int, currency: str) -> OrderPayments:
        """The order's row, created on first use, locked until the transaction ends."""
        row = await self._conn.fetchrow(_LOCK_ORDER, order_id, merchant_id, amount, currency)
        return OrderPayments(**dict(row))

    async def start(
        self, payment_id: str, order: OrderPayments, method: dict[str, Any] | None, manual_capture: bool, trail: Trail
    ) -> tuple[OrderPayments, Payment | None]:
        """`lock_order` and `insert` as one statement, atomic without a transaction around it: the order's
        row (created on first use, locked while the statement runs) and the attempt inserted with its
        `trail` when that order is `order.merchant_id`'s and unpaid, else None. Raises the unique violation
        `insert` does for a second open attempt."""
        sql, trailing = _with_trail(
            f"""INSERT INTO payments (id, order_id, merchant_id, amount, currency, method, status, request_id,
                                      manual_capture)
                SELECT $5, order_id, merchant_id, amount, currency, $6, 'INITIATED', NULL, $7 FROM o
                 WHERE merchant_id = $2 AND paid_payment_id IS NULL
                RETURNING {_PAYMENT_COLUMNS}""",
            8,
            trail,
            before=f"o AS ({_LOCK_ORDER})",
            result="SELECT to_jsonb(o) AS order_row, changed.* FROM o LEFT JOIN changed ON true",
        )
        order_args = (order.order_id, order.merchant_id, order.amount, order.currency)
        row = await self._conn.fetchrow(sql, *order_args, payment_id, method, manual_capture, *trailing)
        values = dict(row)
        locked = OrderPayments(**values.pop("order_row"))
        return locked, Payment.from_row(values) if values["id"] is not None else None

    async def lock_existing_order(self, order_id: str) -> OrderPayments | None:
        row = await self._conn.fetchrow(
            """SELECT order_id, merchant_id, amount, currency, paid_payment_id
                 FROM order_payments WHERE order_id = $1 FOR UPDATE""",
            order_id,
        )
        return OrderPayments(**dict(row)) if row else None

    async def insert(
        self,
        payment_id: str,
        order: OrderPayments,
        method: dict[str, Any] | None,
        request_id: uuid.UUID | None = None,
        manual_capture: bool = False,
        *,
        trail: Trail | None = None,
    ) -> Payment:
        sql, trailing = _with_trail(
            f"""INSERT INTO payments (id, order_id, merchant_id, amount, currency, method, status, request_id,
                                          manual_capture)
                    VALUES ($1, $2, $3, $4, $5, $6, 'INITIATED', $7, $8)
                    RETURNING {_PAYMENT_COLUMNS}""",
            9,
            trail,
        )
        return await self._created(
            sql,
            payment_id,
            order.order_id,
            order.merchant_id,
            order.amount,
            order.currency,
            method,
            request_id,
            manual_capture,
            *trailing,
        )

    async def by_request(self, order_id: str, request_id: uuid.UUID) -> Payment | None:
        """The attempt the client's request created for this order, if an earlier run of it got that far."""
        return await self._by_request("order_id", order_id, request_id)

    async def order_of(self, payment_id: str) -> str | None:
        value = await self._conn.fetchval("SELECT order_id FROM payments WHERE id = $1", payment_id)
        return str(value) if value is not None else None

    async def attach_gateway_payment(
        self, payment_id: str, gateway_payment_id: str, signature: str, *, trail: Trail | None = None
    ) -> Payment | None:
        """The attempt with the gateway's payment attached, and `trail` recorded; None (and nothing recorded)
        when it is no longer an INITIATED attempt without one."""
        sql, trailing = _with_trail(
            f"""UPDATE payments
                   SET gateway_payment_id = $2, signature = $3, version = version + 1, updated_at = now()
                 WHERE id = $1 AND status = 'INITIATED' AND gateway_payment_id IS NULL
             RETURNING {_PAYMENT_COLUMNS}""",
            4,
            trail,
        )
        return await self._one(sql, payment_id, gateway_payment_id, signature, *trailing)

    async def settle(
        self,
        payment_id: str,
        status: PaymentStatus,
        error_code: str | None,
        error_description: str | None,
        settled_by: str,
        *,
        trail: Trail | None = None,
    ) -> Payment | None:
        """Move a payment to `status` where the state machine allows it (INITIATED to any other, AUTHORIZED
        to SUCCESS or FAILED), recording `trail`, and a SUCCESS on its order's row (unless another already
        is); None (and nothing recorded) when it is in no status that may move there."""
        sql, trailing = _with_trail(
            f"""UPDATE payments
                   SET status = $2, error_code = $3, error_description = $4, settled_by = $5,
                       version = version + 1, updated_at = now()
                 WHERE id = $1 AND status = ANY($6::text[])
             RETURNING {_PAYMENT_COLUMNS}""",
            7,
            trail,
            also=_PAYS_ITS_ORDER,
        )
        return await self._one(
            sql,
            payment_id,
            status.value,
            error_code,
            error_description,
            settled_by,
            moves_from(status),
            *trailing,
        )

    async def record(
        self,
        payment_id: str,
        kind: str,
        source: str,
        event_id: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        await self._conn.execute(
            "INSERT INTO payment_events (payment_id, kind, source, event_id, detail) VALUES ($1, $2, $3, $4, $5)",
            payment_id,
            kind,
            source,
            event_id,
            detail or {},
        )

    async def events_of(self, payment_id: str) -> list[PaymentEventRow]:
        """The trail of one payment, oldest first (the identity column orders rows by insertion)."""
        rows = await self._conn.fetch(
            """SELECT id, kind, source, event_id, detail, created_at
                 FROM payment_events WHERE payment_id = $1 ORDER BY id""",
            payment_id,
        )
        return [PaymentEventRow(**dict(row)) for row in rows]

    async def initiated_before(self, cutoff: datetime, limit: int) -> list[Payment]:
        """Attempts still open that were started before `cutoff`, oldest first."""
        return await self._many(
            f"""SELECT {_PAYMENT_COLUMNS} FROM payments
                 WHERE status = 'INITIATED' AND created_at < $1
                 ORDER BY created_at LIMIT $2""",
            cutoff,
            limit,
        )

    async def authorized_before(self, cutoff: datetime, limit: int) -> list[Payment]:
        """Authorisations nobody captured (nor voided) since before `cutoff`, oldest first."""
        return await self._many(
            f"""SELECT {_PAYMENT_COLUMNS} FROM payments
                 WHERE status = 'AUTHORIZED' AND updated_at < $1
                 ORDER BY updated_at LIMIT $2""",
            cutoff,
            limit,
        )

    async def unconfirmed_successes(self, cutoff: datetime, limit: int) -> list[Payment]:
        """SUCCESS attempts whose order the order service has not confirmed paid since before `cutoff`,
        skipping those published again after `cutoff` (give the last one time to arrive)."""
        return await self._many(
            f"""SELECT {_PAYMENT_COLUMNS} FROM payments
                 WHERE status = 'SUCCESS' AND order_confirmed_at IS NULL AND updated_at < $1
                   AND (republished_at IS NULL OR republished_at < $1)
                 ORDER BY updated_at LIMIT $2""",
            cutoff,
            limit,
        )

    async def mark_republished(self, payment_id: str) -> None:
        await self._conn.execute("UPDATE payments SET republished_at = now() WHERE id = $1", payment_id)

    async def confirm_order_paid(self, payment_id: str) -> bool:
        """Note that the order service has the order paid by this payment; False if unknown or not SUCCESS."""
        status = await self._conn.fetchval(
            """UPDATE payments SET order_confirmed_at = coalesce(order_confirmed_at, now())
                WHERE id = $1 AND status = 'SUCCESS' RETURNING status""",
            payment_id,
        )
        return status is not None

    async def record_anomaly(
        self,
        payment: Payment,
        kind: str,
        source: str,
        event_id: str | None,
        detail: dict[str, Any],
    ) -> bool:
        """True when recorded now; the same report delivered again is recorded once."""
        value = await self._conn.fetchval(
            """INSERT INTO anomalies (payment_id, order_id, kind, source, event_id, detail)
               VALUES ($1, $2, $3, $4, $5, $6)
               ON CONFLICT (payment_id, kind, coalesce(event_id, '')) DO NOTHING
               RETURNING id""",
            payment.id,
            payment.order_id,
            kind,
            source,
            event_id,
            detail,
        )
        return value is not None
