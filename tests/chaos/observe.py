"""Reading the system's state: database rows, queue depths, and waiting until nothing is in flight.

Every read opens its own connection (PostgreSQL may have just been restarted under us) and retries
while the database is not answering.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg

from . import invariants as inv

WEBHOOK_CONSUMER = "payment-svc.webhooks"
CONNECT_TIMEOUT = 60.0
RABBITMQCTL_TIMEOUT = 60.0


@contextlib.asynccontextmanager
async def connection(dsn: str, within: float = CONNECT_TIMEOUT) -> AsyncIterator[Any]:
    deadline = time.monotonic() + within
    while True:
        try:
            conn = await asyncpg.connect(dsn, timeout=5)
            break
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)
    try:
        yield conn
    finally:
        await conn.close()


async def _exists(conn: Any, table: str) -> bool:
    return bool(await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", table))


async def rabbitmqctl(*args: str, limit: float = RABBITMQCTL_TIMEOUT) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        "rabbitmqctl", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    try:
        out, _ = await asyncio.wait_for(process.communicate(), limit)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
        return -1, f"rabbitmqctl {' '.join(args)} timed out after {limit:.0f} s"
    return process.returncode or 0, out.decode(errors="replace")


def parse_queue_listing(text: str) -> dict[str, int]:
    """`rabbitmqctl list_queues name messages --formatter json` output as {queue: messages}."""
    start = text.find("[")
    if start < 0:
        raise ValueError("no JSON list in the rabbitmqctl output")
    rows = json.loads(text[start:])
    return {str(row["name"]): int(row["messages"]) for row in rows}


async def list_queues(vhost: str) -> dict[str, int] | None:
    """Each queue of the vhost and its messages (ready + unacknowledged); None when the broker does not answer."""
    code, out = await rabbitmqctl("list_queues", "-q", "-p", vhost, "name", "messages", "--formatter", "json")
    if code != 0:
        return None
    try:
        return parse_queue_listing(out)
    except (ValueError, KeyError, TypeError):
        return None


def accepted_from_logs(lines: Iterable[str]) -> list[inv.AcceptedEvent]:
    """Accepted webhook events as the services logged them: the webhook gateway's `webhook.accepted`
    and the mock gateway's `webhook.delivered` (a 2xx answer). Log lines are flushed one by one, so a
    `kill -9` loses at most the line being written: this can only undercount."""
    found: dict[str, inv.AcceptedEvent] = {}
    for line in lines:
        if '"webhook.accepted"' not in line and '"webhook.delivered"' not in line:
            continue
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if not isinstance(record, dict) or record.get("event") not in ("webhook.accepted", "webhook.delivered"):
            continue
        event_id = record.get("event_id")
        if isinstance(event_id, str) and event_id not in found:
            payment_id = record.get("payment_id")
            found[event_id] = inv.AcceptedEvent(event_id, payment_id if isinstance(payment_id, str) else None)
    return list(found.values())


def _log_lines(log_dir: Path, services: Iterable[str]) -> Iterable[str]:
    for service in services:
        path = log_dir / f"{service}.log"
        if path.exists():
            with path.open(encoding="utf-8", errors="replace") as handle:
                yield from handle


@dataclass(slots=True)
class Sources:
    """Where the snapshot's parts came from, and what the harness itself did to the system."""

    log_dir: Path
    vhost: str
    # events the harness sent itself (the poison event) and the webhook gateway accepted
    harness_events: list[inv.AcceptedEvent] = field(default_factory=list)
    # attempts the harness wrote into payment-svc's tables itself (the poison event's fix)
    harness_payments: set[str] = field(default_factory=set)
    expected_dead_letters: dict[str, int] = field(default_factory=dict)


# the gateway's deliveries of these payments (`$1`), reached through its own payments by index
_DELIVERIES_OF = """gateway.deliveries d WHERE d.gateway_payment_id IN
    (SELECT g.id FROM gateway.payments g WHERE g.payment_id = ANY($1::text[]))"""


async def _accepted(
    conn: Any, sources: Sources, payment_ids: list[str] | None = None
) -> tuple[list[inv.AcceptedEvent], str]:
    if await _exists(conn, "gateway.delivery_attempts") and await _exists(conn, "gateway.deliveries"):
        deliveries = "gateway.deliveries d" if payment_ids is None else _DELIVERIES_OF
        rows = await conn.fetch(
            f"""SELECT DISTINCT ON (a.event_id) a.event_id, d.payment_id, d.purpose
                  FROM gateway.delivery_attempts a JOIN (SELECT d.* FROM {deliveries}) d ON d.event_id = a.event_id
                 WHERE a.status_code BETWEEN 200 AND 299
                 ORDER BY a.event_id""",
            *([] if payment_ids is None else [payment_ids]),
        )
        accepted = [inv.AcceptedEvent(r["event_id"], r["payment_id"], r["purpose"]) for r in rows]
        source = "gateway.delivery_attempts"
    else:
        accepted = accepted_from_logs(_log_lines(sources.log_dir, ("webhook-gateway", "mock-gateway")))
        source = "service logs (the mock gateway does not persist its deliveries)"
    known = {a.event_id for a in accepted}
    accepted += [e for e in sources.harness_events if e.event_id not in known]
    return accepted, source


async def read_snapshot(dsn: str, sources: Sources, *, order_ids: Collection[str] | None = None) -> inv.Snapshot:
    """Everything, or with `order_ids` only those orders and what belongs to them (their attempts, the trail
    and the gateway's records and webhooks of those attempts), each read by index: what `inv.check` needs to
    judge them, however many other orders the database holds. Scoped, an accepted event counts as applied
    when its own payment's trail or payment-svc's inbox has it (unscoped: any payment's trail)."""
    async with connection(dsn) as conn:
        scope: list[str] | None = None if order_ids is None else list(order_ids)
        where_order = "" if scope is None else " WHERE order_id = ANY($1::text[])"
        args = [] if scope is None else [scope]
        orders = [
            inv.Order(r["id"], r["status"], r["receipt"], r["amount"], r["currency"])
            for r in await conn.fetch(
                "SELECT id, status, receipt, amount, currency FROM orders.orders"
                + ("" if scope is None else " WHERE id = ANY($1::text[])"),
                *args,
            )
        ]
        payments = [
            inv.Payment(
                r["id"], r["order_id"], r["status"], r["error_code"], r["gateway_payment_id"], r["manual_capture"]
            )
            for r in await conn.fetch(
                "SELECT id, order_id, status, error_code, gateway_payment_id, manual_capture FROM payments.payments"
                + where_order,
                *args,
            )
        ]
        payment_ids = None if scope is None else [p.id for p in payments]
        by_payment = "" if payment_ids is None else " WHERE payment_id = ANY($1::text[])"
        payment_args = [] if payment_ids is None else [payment_ids]
        views = [
            inv.View(r["id"], r["order_id"], r["status"])
            for r in await conn.fetch("SELECT id, order_id, status FROM orders.payment_views" + where_order, *args)
        ]
        events = [
            inv.PaymentEvent(r["payment_id"], r["kind"], r["source"], r["event_id"])
            for r in await conn.fetch(
                "SELECT payment_id, kind, source, event_id FROM payments.payment_events" + by_payment, *payment_args
            )
        ]
        accepted, accepted_source = await _accepted(conn, sources, payment_ids)
        inbox = {
            r["message_id"]
            for r in await conn.fetch(
                "SELECT message_id FROM payments.inbox WHERE consumer = $1"
                + ("" if scope is None else " AND message_id = ANY($2::text[])"),
                WEBHOOK_CONSUMER,
                *([] if scope is None else [[a.event_id for a in accepted]]),
            )
        }
        anomalies = None
        if await _exists(conn, "payments.anomalies"):
            anomalies = [
                inv.Anomaly(r["payment_id"], r["kind"], r["event_id"])
                for r in await conn.fetch(
                    "SELECT payment_id, kind, event_id FROM payments.anomalies" + by_payment, *payment_args
                )
            ]
        deliveries = None
        if await _exists(conn, "gateway.deliveries"):
            deliveries = [
                inv.Delivery(r["event_id"], r["payment_id"], r["purpose"], r["state"])
                for r in await conn.fetch(
                    "SELECT d.event_id, d.payment_id, d.purpose, d.state FROM "
                    + ("gateway.deliveries d" if payment_ids is None else _DELIVERIES_OF),
                    *payment_args,
                )
            ]
        gateway_payments = None
        if await _exists(conn, "gateway.payments"):
            gateway_payments = [
                inv.GatewayRecord(r["payment_id"], r["order_id"], r["status"], r["amount"], r["currency"], r["id"])
                for r in await conn.fetch(
                    "SELECT id, payment_id, order_id, status, amount, currency FROM gateway.payments" + by_payment,
                    *payment_args,
                )
            ]
        backlog = await outbox_backlog(conn)
    return inv.Snapshot(
        orders=orders,
        payments=payments,
        views=views,
        events=events,
        inbox=inbox,
        accepted=accepted,
        accepted_source=accepted_source,
        anomalies=anomalies,
        deliveries=deliveries,
        gateway_payments=gateway_payments,
        harness_payments=frozenset(sources.harness_payments),
        outbox_backlog=backlog,
        queues=await list_queues(sources.vhost),
        expected_dead_letters=dict(sources.expected_dead_letters),
    )


async def outbox_backlog(conn: Any) -> dict[str, int]:
    schemas = await conn.fetch(
        "SELECT table_schema FROM information_schema.tables WHERE table_name = 'outbox' ORDER BY 1"
    )
    backlog: dict[str, int] = {}
    for row in schemas:
        schema = row["table_schema"]
        backlog[schema] = await conn.fetchval(f'SELECT count(*) FROM "{schema}".outbox WHERE published_at IS NULL')
    return backlog


async def pending_work(conn: Any) -> dict[str, int]:
    """What is still moving, as far as the database tells; all zero once the system is quiet."""
    counts: dict[str, int] = {
        "attempts INITIATED": await conn.fetchval(
            "SELECT count(*) FROM payments.payments WHERE status IN ('INITIATED', 'AUTHORIZED')"
        ),
        "order-svc views behind": await conn.fetchval(
            """SELECT count(*) FROM payments.payments p
                 LEFT JOIN orders.payment_views v ON v.id = p.id
                WHERE v.status IS DISTINCT FROM p.status"""
        ),
    }
    for schema, backlog in (await outbox_backlog(conn)).items():
        counts[f"{schema}.outbox unpublished"] = backlog
    if await _exists(conn, "gateway.deliveries"):
        counts["gateway deliveries pending"] = await conn.fetchval(
            "SELECT count(*) FROM gateway.deliveries WHERE state = 'pending'"
        )
    return counts


def busy(counts: Mapping[str, int], queues: Mapping[str, int] | None) -> dict[str, int]:
    """The non-zero part: database work in flight and messages in work or retry queues (DLQs excluded)."""
    left = {name: n for name, n in counts.items() if n}
    if queues is not None:
        left |= {f"queue {name}": n for name, n in queues.items() if n and not name.endswith(inv.DLQ_SUFFIX)}
    return left


@dataclass(frozen=True, slots=True)
class Settled:
    ok: bool
    seconds: float
    # what was still in flight when it gave up
    remaining: dict[str, int]


async def wait_settled(
    dsn: str,
    vhost: str,
    within: float,
    *,
    poll: float = 1.0,
    progress: Callable[[dict[str, int]], None] | None = None,
) -> Settled:
    """Poll until the database shows nothing in flight and every work and retry queue is empty, twice in
    a row (a message can be between a queue and a commit for a moment); give up after `within` seconds."""
    started = time.monotonic()
    deadline = started + within
    quiet_since: float | None = None
    last_report = started
    left: dict[str, int] = {}
    while True:
        polled_at = time.monotonic()
        try:
            async with connection(dsn, within=max(1.0, deadline - polled_at)) as conn:
                counts = await pending_work(conn)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
            counts = {f"database not answering ({type(exc).__name__})": 1}
        left = busy(counts, None)
        if not left:
            queues = await list_queues(vhost)
            left = busy(counts, queues) if queues is not None else {"broker not answering": 1}
        if not left:
            if quiet_since is not None:
                return Settled(True, quiet_since - started, {})
            quiet_since = polled_at
        else:
            quiet_since = None
        now = time.monotonic()
        if now > deadline:
            return Settled(False, now - started, left)
        if progress is not None and left and now - last_report >= 10:
            progress(left)
            last_report = now
        await asyncio.sleep(poll)
