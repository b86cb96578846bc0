"""asyncpg queries of `plans`, `subscriptions`, `subscription_invoices` and `test_clocks`, and nothing else."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from order_svc.lists.domain import Page
from order_svc.subscriptions.domain import FrozenClock, Invoice, Plan, Subscription, SubscriptionStatus

_PLAN = "id, merchant_id, period, interval, item_name, item_description, amount, currency, notes, created_at"
_SUBSCRIPTION = (
    "s.id, s.merchant_id, s.plan_id, s.status, s.total_count, s.quantity, s.start_at, s.expire_by, s.notes,"
    " s.test_clock_id, s.catch_up, s.token, s.next_cycle, s.next_charge_at, s.paid_count, s.cancel_at_cycle_end,"
    " s.ended_at, s.created_at, s.updated_at"
)
_INVOICE = (
    "i.id, i.subscription_id, i.cycle, i.order_id, i.billing_start, i.billing_end, i.status, i.attempts,"
    " i.next_attempt_at, i.payment_id, i.paid_at, i.created_at"
)
_CLOCK = "id, merchant_id, name, frozen_time, created_at"
# the time a subscription lives in: its test clock's frozen time, or the database's
CLOCK_NOW = "COALESCE((SELECT frozen_time FROM test_clocks c WHERE c.id = s.test_clock_id), now())"


def _page(page: Page, args: list[Any], alias: str = "") -> str:
    """The page's own conditions on `created_at` and `id` (each prefixed with `alias`), as ` AND …`
    clauses, and its `ORDER BY … LIMIT … OFFSET …`: newest first, one row more than the page, so the caller
    knows whether another follows (`lists.domain.next_cursor`). Appends the values to `args`."""

    def arg(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    where = ""
    if page.since is not None:
        where += f" AND {alias}created_at >= {arg(page.since)}"
    if page.until is not None:
        where += f" AND {alias}created_at <= {arg(page.until)}"
    if page.after is not None:
        where += f" AND ({alias}created_at, {alias}id) < ({arg(page.after.created_at)}, {arg(page.after.id)})"
    order = f"ORDER BY {alias}created_at DESC, {alias}id DESC"
    return f"{where} {order} LIMIT {arg(page.limit + 1)} OFFSET {arg(page.offset)}"


def _subscription(row: asyncpg.Record) -> Subscription:
    values = dict(row)
    return Subscription(**{**values, "status": SubscriptionStatus(values["status"])})


class SubscriptionRepository:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    # --- plans

    async def insert_plan(self, plan: Plan) -> None:
        await self._conn.execute(
            f"INSERT INTO plans ({_PLAN}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            plan.id,
            plan.merchant_id,
            plan.period,
            plan.interval,
            plan.item_name,
            plan.item_description,
            plan.amount,
            plan.currency,
            plan.notes,
            plan.created_at,
        )

    async def plan(self, plan_id: str, merchant_id: str) -> Plan | None:
        row = await self._conn.fetchrow(
            f"SELECT {_PLAN} FROM plans WHERE id = $1 AND merchant_id = $2", plan_id, merchant_id
        )
        return None if row is None else Plan(**dict(row))

    async def plans(self, merchant_id: str, page: Page) -> list[Plan]:
        """The page of the merchant's plans, and the first plan after it when there is one."""
        args: list[Any] = [merchant_id]
        tail = _page(page, args)
        rows = await self._conn.fetch(f"SELECT {_PLAN} FROM plans WHERE merchant_id = $1{tail}", *args)
        return [Plan(**dict(row)) for row in rows]

    # --- subscriptions

    async def insert_subscription(self, sub: Subscription) -> None:
        await self._conn.execute(
            """INSERT INTO subscriptions (id, merchant_id, plan_id, status, total_count, quantity, start_at, expire_by,
                                          notes, test_clock_id, catch_up, next_cycle, next_charge_at, created_at,
                                          updated_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14)""",
            sub.id,
            sub.merchant_id,
            sub.plan_id,
            sub.status.value,
            sub.total_count,
            sub.quantity,
            sub.start_at,
            sub.expire_by,
            sub.notes,
            sub.test_clock_id,
            sub.catch_up,
            sub.next_cycle,
            sub.next_charge_at,
            sub.created_at,
        )

    async def subscription(self, sub_id: str, merchant_id: str, *, lock: bool = False) -> Subscription | None:
        row = await self._conn.fetchrow(
            f"SELECT {_SUBSCRIPTION} FROM subscriptions s WHERE s.id = $1 AND s.merchant_id = $2"
            + (" FOR UPDATE" if lock else ""),
            sub_id,
            merchant_id,
        )
        return None if row is None else _subscription(row)

    async def subscription_by_id(self, sub_id: str) -> Subscription | None:
        row = await self._conn.fetchrow(f"SELECT {_SUBSCRIPTION} FROM subscriptions s WHERE s.id = $1", sub_id)
        return None if row is None else _subscription(row)

    async def subscriptions(self, merchant_id: str, page: Page, plan_id: str | None = None) -> list[Subscription]:
        """The page of the merchant's subscriptions (of `plan_id`'s only, when given), and the first one
        after it when there is one."""
        args: list[Any] = [merchant_id, plan_id]
        tail = _page(page, args, "s.")
        rows = await self._conn.fetch(
            f"SELECT {_SUBSCRIPTION} FROM subscriptions s"
            f" WHERE s.merchant_id = $1 AND ($2::text IS NULL OR s.plan_id = $2){tail}",
            *args,
        )
        return [_subscription(row) for row in rows]

    async def now_of(self, sub_id: str) -> datetime:
        """The time the subscription lives in."""
        value = await self._conn.fetchval(f"SELECT {CLOCK_NOW} FROM subscriptions s WHERE s.id = $1", sub_id)
        assert isinstance(value, datetime)
        return value

    async def update_subscription(self, sub_id: str, **fields: Any) -> None:
        """Set `fields` (column names of this module's own table) on the subscription."""
        if "status" in fields and isinstance(fields["status"], SubscriptionStatus):
            fields["status"] = fields["status"].value
        names = list(fields)
        assignments = ", ".join(f"{name} = ${index}" for index, name in enumerate(names, start=2))
        await self._conn.execute(
            f"UPDATE subscriptions SET {assignments}, updated_at = now() WHERE id = $1", sub_id, *fields.values()
        )

    async def claim_due(self) -> tuple[Subscription, datetime] | None:
        """One subscription that has something to do now, locked; others' schedulers pass it over (SKIP
        LOCKED) while this transaction lasts: a cycle to invoice, a retry due, or an expiry."""
        row = await self._conn.fetchrow(
            f"""SELECT {_SUBSCRIPTION}, {CLOCK_NOW} AS clock_now FROM subscriptions s
                WHERE (s.status = 'active' AND s.next_cycle <= s.total_count AND s.next_charge_at <= {CLOCK_NOW})
                   OR (s.status = 'created' AND s.expire_by <= {CLOCK_NOW})
                   OR (s.cancel_at_cycle_end AND s.status IN ('active', 'pending', 'halted', 'paused')
                       AND s.next_charge_at <= {CLOCK_NOW})
                   OR (s.status IN ('active', 'pending') AND EXISTS (
                        SELECT 1 FROM subscription_invoices i WHERE i.subscription_id = s.id AND i.status = 'due'
                        AND i.next_attempt_at <= {CLOCK_NOW}))
                ORDER BY s.next_charge_at
                LIMIT 1
                FOR UPDATE OF s SKIP LOCKED"""
        )
        if row is None:
            return None
        values = dict(row)
        clock_now = values.pop("clock_now")
        return _subscription(values), clock_now

    async def claim_settled(self) -> tuple[Subscription, Invoice, str, datetime] | None:
        """One invoice whose charge settled, with its subscription locked (SKIP LOCKED): the invoice's
        order paid (by any attempt, even while a retry waited), or the attempt it waits for failed.
        Answers the settled status."""
        row = await self._conn.fetchrow(
            f"""SELECT {_SUBSCRIPTION}, {CLOCK_NOW} AS clock_now, i.id AS invoice_id,
                       CASE WHEN o.status = 'PAID' THEN 'SUCCESS' ELSE 'FAILED' END AS settled
                FROM subscription_invoices i
                JOIN subscriptions s ON s.id = i.subscription_id
                JOIN orders o ON o.id = i.order_id
                WHERE (o.status = 'PAID' AND i.status IN ('charging', 'due'))
                   OR (i.status = 'charging' AND o.status <> 'PAID' AND EXISTS (
                        SELECT 1 FROM payment_views p WHERE p.id = i.payment_id AND p.status = 'FAILED'))
                ORDER BY i.created_at
                LIMIT 1
                FOR UPDATE OF s, i SKIP LOCKED"""
        )
        if row is None:
            return None
        values = dict(row)
        clock_now, invoice_id, settled = values.pop("clock_now"), values.pop("invoice_id"), values.pop("settled")
        invoice = await self.invoice(invoice_id)
        assert invoice is not None
        return _subscription(values), invoice, settled, clock_now

    # --- invoices

    async def insert_invoice(self, invoice: Invoice) -> bool:
        """False when the cycle has its invoice already (the unique key per subscription and cycle)."""
        result = await self._conn.execute(
            """INSERT INTO subscription_invoices (id, subscription_id, cycle, order_id, billing_start, billing_end,
                                                  status, next_attempt_at, created_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
               ON CONFLICT (subscription_id, cycle) DO NOTHING""",
            invoice.id,
            invoice.subscription_id,
            invoice.cycle,
            invoice.order_id,
            invoice.billing_start,
            invoice.billing_end,
            invoice.status,
            invoice.next_attempt_at,
            invoice.created_at,
        )
        return bool(result == "INSERT 0 1")

    async def invoice(self, invoice_id: str) -> Invoice | None:
        row = await self._conn.fetchrow(f"SELECT {_INVOICE} FROM subscription_invoices i WHERE i.id = $1", invoice_id)
        return None if row is None else Invoice(**dict(row))

    async def due_invoice(self, sub_id: str, now: datetime) -> Invoice | None:
        row = await self._conn.fetchrow(
            f"""SELECT {_INVOICE} FROM subscription_invoices i
                WHERE i.subscription_id = $1 AND i.status = 'due' AND i.next_attempt_at <= $2
                ORDER BY i.cycle LIMIT 1 FOR UPDATE""",
            sub_id,
            now,
        )
        return None if row is None else Invoice(**dict(row))

    async def cycles(self, sub_id: str, limit: int, before_cycle: int | None) -> list[Invoice]:
        """The subscription's invoices, latest cycle first, before `before_cycle` when given: `limit` of
        them and the next one when there is one. A cycle has one invoice, so the cycle orders them totally."""
        rows = await self._conn.fetch(
            f"""SELECT {_INVOICE} FROM subscription_invoices i
                WHERE i.subscription_id = $1 AND ($2::int IS NULL OR i.cycle < $2)
                ORDER BY i.cycle DESC LIMIT $3""",
            sub_id,
            before_cycle,
            limit + 1,
        )
        return [Invoice(**dict(row)) for row in rows]

    async def invoices(self, merchant_id: str, limit: int, offset: int, sub_id: str | None = None) -> list[Invoice]:
        rows = await self._conn.fetch(
            f"""SELECT {_INVOICE} FROM subscription_invoices i JOIN subscriptions s ON s.id = i.subscription_id
                WHERE s.merchant_id = $1 AND ($4::text IS NULL OR s.id = $4)
                ORDER BY i.created_at DESC, i.cycle DESC LIMIT $2 OFFSET $3""",
            merchant_id,
            limit,
            offset,
            sub_id,
        )
        return [Invoice(**dict(row)) for row in rows]

    async def update_invoice(self, invoice_id: str, **fields: Any) -> None:
        names = list(fields)
        assignments = ", ".join(f"{name} = ${index}" for index, name in enumerate(names, start=2))
        await self._conn.execute(
            f"UPDATE subscription_invoices SET {assignments} WHERE id = $1", invoice_id, *fields.values()
        )

    async def close_open_invoices(self, sub_id: str) -> None:
        """An ended subscription charges nothing more: its invoices still due, and the authentication invoice
        nobody paid, are left unpaid (a charge already sent is still settled when it comes back)."""
        await self._conn.execute(
            "UPDATE subscription_invoices SET status = 'unpaid', next_attempt_at = NULL"
            " WHERE subscription_id = $1 AND (status = 'due' OR (status = 'charging' AND payment_id IS NULL))",
            sub_id,
        )

    # --- test clocks

    async def insert_clock(self, clock: FrozenClock) -> None:
        await self._conn.execute(
            f"INSERT INTO test_clocks ({_CLOCK}) VALUES ($1, $2, $3, $4, $5)",
            clock.id,
            clock.merchant_id,
            clock.name,
            clock.frozen_time,
            clock.created_at,
        )

    async def clock(self, clock_id: str, merchant_id: str, *, lock: bool = False) -> FrozenClock | None:
        row = await self._conn.fetchrow(
            f"SELECT {_CLOCK} FROM test_clocks WHERE id = $1 AND merchant_id = $2" + (" FOR UPDATE" if lock else ""),
            clock_id,
            merchant_id,
        )
        return None if row is None else FrozenClock(**dict(row))

    async def set_clock(self, clock_id: str, frozen_time: datetime) -> None:
        await self._conn.execute("UPDATE test_clocks SET frozen_time = $2 WHERE id = $1", clock_id, frozen_time)
