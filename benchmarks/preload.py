"""Fill a migrated, idle database with a history of settled payments, as a system that has run for a while
holds: the benchmark's growth run (`bench --growth`, `--preload N`) measures the lifecycle against it.

    .venv/bin/python -m benchmarks.preload --database-url postgresql://postgres@127.0.0.1:5432/scratch

N orders (default 1,000,000) over ~90 days, the newest an hour old, spread over several merchants (the
bench's own among them, the biggest) with a skew: 72 % PAID, 18 % FAILED, 10 % CREATED (never paid, no
attempt). Each PAID or FAILED order gets the rows one lifecycle leaves behind (as
`benchmarks/lifecycle.pgbench.sql` and a real run's rows show): its attempt in payment-svc
(`order_payments`, `payments`, three `payment_events`), the gateway's record of it (`gateway.payments`, its
settlement webhook `gateway.deliveries` delivered, one 2xx try), order-svc's view, the merchant events
merchant-webhooks recorded, and, as far as the services' retention keeps them, the outbox rows published
(`published_at` set: the relays' partial index skips them) and every consumer's inbox claim. Each service
purges published outbox rows past OUTBOX_RETENTION_DAYS (7) and inbox claims past INBOX_RETENTION_DAYS (30)
at start and hourly: a system in its steady state holds those days of them, and preloading older ones
would have the purge delete millions of rows in the middle of the measured run. No duplicates, refunds or
retries: the hot path's tables at their steady state, not the fault mix.

Ids are the services' own formats with UUIDv7 of each row's own time (days ago): a run's ids, minted now,
sort after every preloaded one and cannot collide with them (74 random bits each besides), and the indexes
grow at their right edge as they do in production. Merchant event ids are `evt_` and 20 base62 characters,
random rather than derived (the services derive them from entity ids, which a run's never share).

Server-side: each batch is one transaction of `INSERT ... SELECT` from one temporary table of the batch's
rows, `--workers` connections at once. Each batch is recorded in `bench_preload.batches`, so a rerun into
the same database adds only the batches missing (the bench makes its database afresh each run anyway).
Then `VACUUM (ANALYZE)` of every table written, as autovacuum would have done long since (left to it, it
would start on these tables in the middle of the measured run), and a CHECKPOINT so that the run does not
pay for writing the preload out.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from benchmarks.load import Progress
from payments_common.config import CommonSettings

DEFAULT_ORDERS = 1_000_000
BATCH = 100_000
SPAN = timedelta(days=90)
# the newest preloaded order is this old: well before any run's first id
NEWEST_AGE = timedelta(hours=1)
OTHER_MERCHANTS = 8
# published outbox rows and inbox claims are preloaded only this far inside the services' retention: each
# service purges what is past it at start and hourly, and a purge in the middle of the measured run would
# be its own load. A system in its steady state holds them for the retention's days, no older ones
RETENTION_MARGIN = timedelta(hours=2)
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

# every table a batch writes, for VACUUM (ANALYZE) at the end
TABLES = (
    "orders.merchants",
    "orders.orders",
    "orders.payment_views",
    "orders.outbox",
    "orders.inbox",
    "payments.order_payments",
    "payments.payments",
    "payments.payment_events",
    "payments.outbox",
    "payments.inbox",
    "gateway.payments",
    "gateway.deliveries",
    "gateway.delivery_attempts",
    "merchant_webhooks.events",
    "merchant_webhooks.inbox",
)

_SETUP = """
CREATE SCHEMA IF NOT EXISTS bench_preload;
CREATE TABLE IF NOT EXISTS bench_preload.batches (
    first   bigint PRIMARY KEY,
    last    bigint      NOT NULL,
    done_at timestamptz NOT NULL DEFAULT now()
);
"""


def _uuid7(ms: str, hex_chars: str) -> str:
    """SQL for a UUIDv7 of the epoch milliseconds `ms` (a bigint expression) and 18 random hex characters
    (`hex_chars`, an expression): 48 bits of time, version 7, 72 random bits, the RFC variant. Inline and
    from a hash the row computes once: gen_random_uuid() per id costs more than the rest of the row."""
    return (
        f"(lpad(to_hex({ms}), 12, '0') || '7' || substr({hex_chars}, 1, 3) || '8' || substr({hex_chars}, 4, 15))::uuid"
    )


def _hex(h: str, k: int) -> str:
    """The k-th 18 hex characters of the row's hash `h` (128 of them)."""
    return f"substr({h}, {1 + 18 * k}, 18)"


# per connection: the methods (the mock gateway's test values) and the batch's rows
_SESSION = """
CREATE TEMP TABLE preload_methods (kind int, ok boolean, method jsonb, error_code text, error_description text);
INSERT INTO preload_methods VALUES
  (0, true,  '{"type": "card", "last4": "1111", "network": "visa", "expiryYear": 2035, "expiryMonth": 12}', NULL, NULL),
  (1, true,  '{"type": "upi", "vpa": "success@razorpay"}', NULL, NULL),
  (2, true,  '{"type": "wallet", "provider": "paytm"}', NULL, NULL),
  (3, true,  '{"type": "netbanking", "bank": "HDFC"}', NULL, NULL),
  (0, false, '{"type": "card", "last4": "0002", "network": "visa", "expiryYear": 2035, "expiryMonth": 12}',
   'CARD_DECLINED', 'The card was declined by the issuing bank'),
  (1, false, '{"type": "upi", "vpa": "failure@razorpay"}', 'UPI_DECLINED',
   'The payer''s bank declined the UPI payment'),
  (2, false, '{"type": "wallet", "provider": "freecharge"}', 'WALLET_DECLINED',
   'The wallet provider declined the payment'),
  (3, false, '{"type": "netbanking", "bank": "YESB"}', 'BANK_DECLINED', 'The bank declined the netbanking payment');
-- what each JSON document holds that depends on the method and outcome only: a row adds its own fields to it
-- (building a document key by key costs most of a row's time)
ALTER TABLE preload_methods ADD COLUMN entity jsonb, ADD COLUMN snapshot jsonb;
UPDATE preload_methods SET
  entity = jsonb_build_object(
      'vpa', method->'vpa', 'bank', method->'bank', 'card', NULL, 'email', NULL, 'notes', '{}'::jsonb,
      'entity', 'payment', 'method', method->>'type', 'status', CASE WHEN ok THEN 'captured' ELSE 'failed' END,
      'wallet', method->'provider', 'contact', NULL, 'captured', ok, 'currency', 'INR', 'error_code', error_code,
      'error_step', NULL, 'error_reason', NULL, 'error_source', NULL, 'refund_status', NULL, 'amount_refunded', 0,
      'error_description', error_description),
  snapshot = jsonb_build_object(
      'method', method, 'status', CASE WHEN ok THEN 'SUCCESS' ELSE 'FAILED' END, 'version', 3, 'currency', 'INR',
      'errorCode', error_code, 'errorDescription', error_description);
CREATE TEMP TABLE preload_rows (
    i bigint, order_id text, merchant_id text, amount bigint, status text, receipt text,
    t0 timestamptz, t1 timestamptz, t2 timestamptz, t3 timestamptz, t4 timestamptz, t5 timestamptz,
    payment_id text, gw_id text, evt_id text, signature text, correlation text,
    method jsonb, error_code text, error_description text,
    ob_init uuid, ob_settle uuid, ob_mpay uuid, ob_paid uuid, ob_mpaid uuid,
    -- each JSON document built once, for the rows that hold it or a variant of it
    snapshot jsonb, mpay jsonb, mpaid jsonb,
    -- within the services' retention of published outbox rows, of inbox claims
    keep_outbox boolean, keep_inbox boolean
) ON COMMIT DELETE ROWS;
"""

# one batch's rows: $1..$2 the orders' numbers, $3 the merchants (biggest first), $4 the first order's time
# in epoch milliseconds, $5 milliseconds between orders, $6 the preload's seed (each row's ids come from two
# SHA-512s of (seed, number), one hash call for seven ids), $7 and $8 the oldest epoch milliseconds the
# services' retention keeps of published outbox rows and of inbox claims. The timeline of each lifecycle follows a real
# run's (ms1 the attempt, +60 its gateway answer, +180 the settlement webhook applied, +280 the order
# settled, +380 the order's events consumed)
_FILL = f"""
WITH base AS (
    SELECT i, ($4::float8 + (i - 1) * $5::float8)::bigint AS ms0, $3::text[] AS merchants, random() AS pick,
           random() AS outcome, encode(sha512(convert_to($6 || ':' || i, 'UTF8')), 'hex') AS h1,
           encode(sha512(convert_to($6 || ';' || i, 'UTF8')), 'hex') AS h2
      FROM generate_series($1::bigint, $2::bigint) AS i
), timed AS (
    SELECT b.*, b.ms0 + 2000 + floor(random() * 60000)::bigint AS ms1 FROM base b
), picked AS (
    SELECT t.*, s.status, m.method, m.error_code, m.error_description, m.entity AS entity_base,
           m.snapshot AS snapshot_base,
           'gw_' || {_uuid7("ms1 + 30", _hex("h1", 0))} AS gw_id,
           'pay_' || {_uuid7("ms1", _hex("h1", 1))} AS payment_id,
           'order_' || {_uuid7("ms0", _hex("h1", 2))} AS order_id,
           merchants[1 + floor(pick * pick * cardinality(merchants))::int] AS merchant_id,
           100 + floor(random() * 500000)::bigint AS amount,
           to_timestamp(ms0 / 1000.0) AS t0, to_timestamp(ms1 / 1000.0) AS t1,
           -- merchant event ids: 20 base62 characters (the base64 of 15 bytes, two symbols swapped)
           'evt_' || translate(encode(decode(substr(h2, 69, 30), 'hex'), 'base64'), '+/', 'Pq') AS mevt_pay,
           'evt_' || translate(encode(decode(substr(h2, 99, 30), 'hex'), 'base64'), '+/', 'Pq') AS mevt_paid
      FROM timed t
     CROSS JOIN LATERAL (SELECT CASE WHEN outcome < 0.72 THEN 'PAID' WHEN outcome < 0.90 THEN 'FAILED'
                                     ELSE 'CREATED' END AS status) s
     -- the method types rotate, as the bench's own lifecycles do; a FAILED order's is a declining one
     CROSS JOIN LATERAL (SELECT * FROM preload_methods m
                          WHERE m.kind = t.i % 4 AND m.ok = (s.status <> 'FAILED') LIMIT 1) m
), signed AS (
    SELECT p.*, encode(sha256(convert_to(gw_id, 'UTF8')), 'hex') AS signature, e.entity
      FROM picked p
     -- the payment as merchant events carry it (Razorpay's entity)
     CROSS JOIN LATERAL (SELECT CASE WHEN status <> 'CREATED' THEN entity_base || jsonb_build_object(
           'id', payment_id, 'amount', amount, 'order_id', order_id, 'created_at', ms1 / 1000) END AS entity) e
)
INSERT INTO preload_rows
SELECT i, order_id, merchant_id, amount, status, CASE WHEN i % 2 = 0 THEN 'receipt#' || i END,
       t0, t1, t1 + interval '60 ms', t1 + interval '180 ms', t1 + interval '280 ms', t1 + interval '380 ms',
       payment_id, gw_id, 'evt_' || {_uuid7("ms1 + 30", _hex("h1", 3))}, signature, 'req_' || substr(h2, 37, 32),
       method, error_code, error_description,
       {_uuid7("ms1 + 60", _hex("h1", 4))}, {_uuid7("ms1 + 180", _hex("h1", 5))},
       {_uuid7("ms1 + 280", _hex("h1", 6))}, {_uuid7("ms1 + 280", _hex("h2", 0))},
       {_uuid7("ms1 + 280", _hex("h2", 1))},
       -- the settled attempt as payment-svc's events carry it
       CASE WHEN status <> 'CREATED' AND ms1 >= $7::float8 THEN snapshot_base || jsonb_build_object(
           'id', payment_id, 'amount', amount, 'orderId', order_id, 'createdAt', t1, 'signature', signature,
           'updatedAt', t1 + interval '180 ms', 'merchantId', merchant_id, 'gatewayPaymentId', gw_id) END,
       -- order-svc's merchant events, as its outbox carries them
       CASE WHEN status <> 'CREATED' THEN jsonb_build_object(
           'id', mevt_pay, 'event', CASE WHEN status = 'PAID' THEN 'payment.captured' ELSE 'payment.failed' END,
           'payload', jsonb_build_object('payment', jsonb_build_object('entity', entity)),
           'contains', jsonb_build_array('payment'), 'created_at', (ms1 + 280) / 1000, 'merchant_id', merchant_id)
       END,
       CASE WHEN status = 'PAID' THEN jsonb_build_object(
           'id', mevt_paid, 'event', 'order.paid',
           'payload', jsonb_build_object(
               'order', jsonb_build_object('entity', '{{"notes": {{}}, "entity": "order", "status": "paid",
                   "attempts": 1, "currency": "INR", "offer_id": null, "amount_due": 0}}'::jsonb || jsonb_build_object(
                   'id', order_id, 'amount', amount, 'receipt', CASE WHEN i % 2 = 0 THEN 'receipt#' || i END,
                   'created_at', ms0 / 1000, 'amount_paid', amount)),
               'payment', jsonb_build_object('entity', entity)),
           'contains', jsonb_build_array('payment', 'order'), 'created_at', (ms1 + 280) / 1000,
           'merchant_id', merchant_id)
       END,
       ms1 >= $7::float8, ms1 >= $8::float8
  FROM signed
"""

# the initiated attempt: the settled one as it was before its webhook
_INITIATED = """snapshot || jsonb_build_object('status', 'INITIATED', 'version', 2, 'updatedAt', t2, 'errorCode', NULL,
                                    'errorDescription', NULL)"""
# merchant-webhooks' record of a merchant event: the bytes it sends, Razorpay's envelope
_RECEIVED = """convert_to(({payload} - 'id' - 'merchant_id'
                        || jsonb_build_object('entity', 'event', 'account_id', merchant_id))::text, 'UTF8')"""
_SETTLED_ROWS = "FROM preload_rows WHERE status <> 'CREATED'"
_PAID_ROWS = "FROM preload_rows WHERE status = 'PAID'"

INSERTS = (
    """INSERT INTO orders.orders (id, merchant_id, amount, currency, status, receipt, notes, created_at, updated_at,
                                  manual_capture)
       SELECT order_id, merchant_id, amount, 'INR', status, receipt, NULL, t0,
              CASE WHEN status = 'CREATED' THEN t0 ELSE t4 END, false FROM preload_rows""",
    f"""INSERT INTO payments.order_payments (order_id, merchant_id, amount, currency, paid_payment_id, created_at)
        SELECT order_id, merchant_id, amount, 'INR', CASE WHEN status = 'PAID' THEN payment_id END, t1
        {_SETTLED_ROWS}""",
    f"""INSERT INTO payments.payments (id, order_id, merchant_id, amount, currency, method, status, gateway_payment_id,
                                       signature, error_code, error_description, settled_by, version, created_at,
                                       updated_at, order_confirmed_at)
        SELECT payment_id, order_id, merchant_id, amount, 'INR', method,
               CASE WHEN status = 'PAID' THEN 'SUCCESS' ELSE 'FAILED' END, gw_id, signature, error_code,
               error_description, 'webhook', 3, t1, t3, CASE WHEN status = 'PAID' THEN t5 END {_SETTLED_ROWS}""",
    """INSERT INTO payments.payment_events (payment_id, kind, source, event_id, detail, created_at)
        SELECT payment_id, e.kind, e.source, e.event_id, e.detail, e.at FROM preload_rows
        CROSS JOIN LATERAL (VALUES
            ('created', 'api', NULL, jsonb_build_object('amount', amount, 'currency', 'INR'), t1),
            ('sent_to_gateway', 'api', NULL, jsonb_build_object('gatewayPaymentId', gw_id), t2),
            ('settled', 'webhook', evt_id,
             jsonb_build_object('to', CASE WHEN status = 'PAID' THEN 'SUCCESS' ELSE 'FAILED' END,
                                'current', 'INITIATED', 'reported',
                                CASE WHEN status = 'PAID' THEN 'SUCCESS' ELSE 'FAILED' END, 'errorCode', error_code),
             t3)) AS e (kind, source, event_id, detail, at)
        WHERE status <> 'CREATED'""",
    f"""INSERT INTO gateway.payments (id, payment_id, order_id, amount, currency, method, signature, status, error_code,
                                      error_description, faults, created_at, updated_at)
        SELECT gw_id, payment_id, order_id, amount, 'INR', method, signature,
               CASE WHEN status = 'PAID' THEN 'captured' ELSE 'failed' END, error_code, error_description, '{{}}',
               t1 + interval '30 ms', t1 + interval '45 ms' {_SETTLED_ROWS}""",
    f"""INSERT INTO gateway.deliveries (event_id, gateway_payment_id, payment_id, reported_status, purpose, body,
                                        not_before, state, attempts, sets_status, copies, fake_timeouts,
                                        follow_delay_ms, correlation_id, created_at, delivered_at, path)
        SELECT evt_id, gw_id, payment_id, CASE WHEN status = 'PAID' THEN 'SUCCESS' ELSE 'FAILED' END, 'settlement',
               -- the mock gateway's compact JSON, as text: no document to build
               convert_to('{{"orderId":"' || order_id || '","paymentId":"' || payment_id || '","gatewayPaymentId":"'
                          || gw_id || '","signature":"' || signature || '","status":"'
                          || CASE WHEN status = 'PAID' THEN 'SUCCESS' ELSE 'FAILED' END || '","amount":' || amount
                          || ',"currency":"INR","method":' || method::text || '}}', 'UTF8'),
               t1 + interval '30 ms', 'delivered', 1, CASE WHEN status = 'PAID' THEN 'captured' ELSE 'failed' END,
               1, 0, 0, correlation, t1 + interval '30 ms', t3 + interval '10 ms', '/webhook/payment'
        {_SETTLED_ROWS}""",
    f"""INSERT INTO gateway.delivery_attempts (event_id, attempt, status_code, error, treated_as_timeout, created_at)
        SELECT evt_id, 1, 200, NULL, false, t3 + interval '5 ms' {_SETTLED_ROWS}""",
    f"""INSERT INTO orders.payment_views (id, order_id, status, amount, currency, gateway_payment_id, signature,
                                         error_code, error_description, version, created_at, updated_at, method,
                                         merchant_id)
        SELECT payment_id, order_id, CASE WHEN status = 'PAID' THEN 'SUCCESS' ELSE 'FAILED' END, amount, 'INR', gw_id,
               signature, error_code, error_description, 3, t1, t3, method, merchant_id {_SETTLED_ROWS}""",
    f"""INSERT INTO payments.outbox (id, aggregate_type, aggregate_id, event_type, exchange, routing_key, payload,
                                     headers, created_at, available_at, published_at)
        SELECT e.id, 'payment', payment_id, e.type, 'payments.events', e.type,
               jsonb_build_object('type', e.type, 'payment', e.snapshot),
               jsonb_build_object('correlation-id', correlation), e.at, e.at, e.at + interval '40 ms'
          FROM preload_rows CROSS JOIN LATERAL (VALUES
            (ob_init, 'payment.initiated', {_INITIATED}, t2),
            (ob_settle, CASE WHEN status = 'PAID' THEN 'payment.succeeded' ELSE 'payment.failed' END, snapshot, t3)
        ) AS e (id, type, snapshot, at)
         WHERE status <> 'CREATED' AND keep_outbox""",
    f"""INSERT INTO orders.outbox (id, aggregate_type, aggregate_id, event_type, exchange, routing_key, payload,
                                   created_at, available_at, published_at)
        SELECT ob_mpay, 'order', order_id, 'merchant.event', 'orders.events', 'merchant.' || (mpay->>'event'), mpay,
               t4, t4, t4 + interval '50 ms' {_SETTLED_ROWS} AND keep_outbox
        UNION ALL
        SELECT ob_paid, 'order', order_id, 'order.paid', 'orders.events', 'order.paid',
               jsonb_build_object('type', 'order.paid', 'paidAt', t4, 'orderId', order_id, 'paymentId', payment_id,
                                  'merchantId', merchant_id), t4, t4, t4 + interval '50 ms' {_PAID_ROWS} AND keep_outbox
        UNION ALL
        SELECT ob_mpaid, 'order', order_id, 'merchant.event', 'orders.events', 'merchant.order.paid', mpaid,
               t4, t4, t4 + interval '50 ms' {_PAID_ROWS} AND keep_outbox""",
    """INSERT INTO orders.inbox (consumer, message_id, processed_at)
        SELECT 'order-svc.payment-events', e.id::text, e.at
          FROM preload_rows CROSS JOIN LATERAL (VALUES (ob_init, t2 + interval '50 ms'), (ob_settle, t4)) AS e (id, at)
         WHERE status <> 'CREATED' AND keep_inbox""",
    f"""INSERT INTO payments.inbox (consumer, message_id, processed_at)
        SELECT 'payment-svc.webhooks', evt_id, t3 {_SETTLED_ROWS} AND keep_inbox
        UNION ALL SELECT 'payment-svc.order-events', ob_paid::text, t5 {_PAID_ROWS} AND keep_inbox""",
    f"""INSERT INTO merchant_webhooks.events (id, merchant_id, event, body, created_at)
        SELECT mpay->>'id', merchant_id, mpay->>'event', {_RECEIVED.format(payload="mpay")}, t5 {_SETTLED_ROWS}
        UNION ALL
        SELECT mpaid->>'id', merchant_id, 'order.paid', {_RECEIVED.format(payload="mpaid")}, t5 {_PAID_ROWS}""",
    f"""INSERT INTO merchant_webhooks.inbox (consumer, message_id, processed_at)
        SELECT 'merchant-webhooks.events', ob_mpay::text, t5 {_SETTLED_ROWS} AND keep_inbox
        UNION ALL SELECT 'merchant-webhooks.events', ob_mpaid::text, t5 {_PAID_ROWS} AND keep_inbox""",
)


@dataclass(frozen=True, slots=True)
class Plan:
    """What to preload: `orders` orders over `merchants` (biggest first), the first at `start`."""

    orders: int
    merchants: tuple[str, ...]
    start: datetime
    step_s: float
    batch: int = BATCH
    # what the rows' ids are drawn from: a fresh one per plan
    seed: str = ""
    # the oldest published outbox row and inbox claim the services' retention keeps (none before it)
    outbox_since: datetime | None = None
    inbox_since: datetime | None = None

    @classmethod
    def make(cls, orders: int, own_merchants: list[str], *, others: int = OTHER_MERCHANTS, batch: int = BATCH) -> Plan:
        newest = datetime.now(UTC) - NEWEST_AGE
        start = newest - SPAN
        step = SPAN.total_seconds() / max(orders - 1, 1)
        merchants = (*own_merchants, *(other_merchant_id() for _ in range(others)))
        now = datetime.now(UTC)
        return cls(
            orders=orders,
            merchants=merchants,
            start=start,
            step_s=step,
            batch=batch,
            seed=secrets.token_hex(16),
            outbox_since=now - retention_days("OUTBOX_RETENTION_DAYS") + RETENTION_MARGIN,
            inbox_since=now - retention_days("INBOX_RETENTION_DAYS") + RETENTION_MARGIN,
        )

    def batches(self) -> list[tuple[int, int]]:
        """(first, last) order numbers of each batch, 1-based and inclusive."""
        return [(lo, min(lo + self.batch - 1, self.orders)) for lo in range(1, self.orders + 1, self.batch)]


def retention_days(name: str) -> timedelta:
    """The services' retention (`OUTBOX_RETENTION_DAYS`, `INBOX_RETENTION_DAYS`): from the environment the
    system is started with, else their default."""
    default = CommonSettings.model_fields[name].default
    return timedelta(days=float(os.environ.get(name) or default))


def other_merchant_id() -> str:
    """A merchant as order-svc makes them: `merch_` and 14 base62 characters."""
    return "merch_" + "".join(secrets.choice(_BASE62) for _ in range(14))


def merchants_of(api_keys: str) -> list[str]:
    """The merchants of an API_KEYS value (`key_id:secret,…`): order-svc files a seeded key's rows under its id."""
    return [item.split(":", 1)[0].strip() for item in api_keys.split(",") if item.strip()]


async def _session(conn: asyncpg.Connection) -> None:
    # the preload's own commits need not wait for the disk: a crash loses a batch, which is not recorded either
    await conn.execute("SET synchronous_commit = off")
    # a batch's rows pass through CTEs (materialised: random() is volatile) and its sorts: in memory
    await conn.execute("SET work_mem = '256MB'")
    await conn.execute("SET temp_buffers = '256MB'")  # before the session's first temporary table
    await conn.execute(_SESSION)
    # no triggers, foreign keys included: every row is consistent by construction, and payment_views'
    # merchant_id (the trigger's) is written here; a non-superuser keeps both, at some cost in time
    with contextlib.suppress(asyncpg.InsufficientPrivilegeError):
        await conn.execute("SET session_replication_role = replica")


async def _one_batch(conn: asyncpg.Connection, plan: Plan, first: int, last: int) -> None:
    async with conn.transaction():
        claimed = await conn.fetchval(
            "INSERT INTO bench_preload.batches (first, last) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING 1",
            first,
            last,
        )
        if claimed is None:  # done by an earlier run into this database
            return
        await conn.execute(
            _FILL,
            first,
            last,
            list(plan.merchants),
            plan.start.timestamp() * 1000,
            plan.step_s * 1000,
            plan.seed,
            (plan.outbox_since or plan.start).timestamp() * 1000,
            (plan.inbox_since or plan.start).timestamp() * 1000,
        )
        for statement in INSERTS:
            await conn.execute(statement)


async def preload(dsn: str, plan: Plan, *, workers: int = 2, quiet: bool = False) -> dict[str, Any]:
    """Preload `plan` into the migrated database at `dsn`; returns the seconds each part took and the rows
    each table holds afterwards."""
    started = time.monotonic()
    admin = await asyncpg.connect(dsn)
    try:
        await admin.execute(_SETUP)
        done = {r["first"] for r in await admin.fetch("SELECT first FROM bench_preload.batches")}
        await admin.executemany(
            "INSERT INTO orders.merchants (id, name) VALUES ($1, $1) ON CONFLICT (id) DO NOTHING",
            [(m,) for m in plan.merchants],
        )
    finally:
        await admin.close()
    todo = [b for b in plan.batches() if b[0] not in done]
    progress = Progress(plan.orders, "preload orders", enabled=not quiet)
    progress.advance(plan.orders - sum(last - first + 1 for first, last in todo))
    queue: asyncio.Queue[tuple[int, int]] = asyncio.Queue()
    for item in todo:
        queue.put_nowait(item)

    async def worker() -> None:
        conn = await asyncpg.connect(dsn)
        try:
            await _session(conn)
            while not queue.empty():
                first, last = queue.get_nowait()
                await _one_batch(conn, plan, first, last)
                progress.advance(last - first + 1)
        finally:
            await conn.close()

    await asyncio.gather(*(worker() for _ in range(max(1, min(workers, len(todo) or 1)))))
    progress.close()
    inserted = time.monotonic()
    await _vacuum(dsn, workers, quiet)
    vacuumed = time.monotonic()
    conn = await asyncpg.connect(dsn)
    try:
        # a superuser's (or pg_checkpoint's) right; without it the run may share the disk with the checkpointer
        with contextlib.suppress(asyncpg.InsufficientPrivilegeError):
            await conn.execute("CHECKPOINT")
        rows = {table: int(await conn.fetchval(f"SELECT count(*) FROM {table}")) for table in TABLES}
    finally:
        await conn.close()
    return {
        "orders": plan.orders,
        "merchants": list(plan.merchants),
        "insert_s": round(inserted - started, 1),
        "vacuum_analyze_s": round(vacuumed - inserted, 1),
        "total_s": round(time.monotonic() - started, 1),
        "rows": rows,
    }


async def _vacuum(dsn: str, workers: int, quiet: bool) -> None:
    queue: asyncio.Queue[str] = asyncio.Queue()
    for table in TABLES:
        queue.put_nowait(table)
    progress = Progress(len(TABLES), "preload vacuum, analyze", enabled=not quiet)

    async def worker() -> None:
        conn = await asyncpg.connect(dsn)
        try:
            while not queue.empty():
                await conn.execute(f"VACUUM (ANALYZE) {queue.get_nowait()}")
                progress.advance()
        finally:
            await conn.close()

    await asyncio.gather(*(worker() for _ in range(max(1, workers))))
    progress.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"), help="a migrated database")
    parser.add_argument("--orders", type=int, default=DEFAULT_ORDERS)
    parser.add_argument("--batch", type=int, default=BATCH)
    parser.add_argument("--workers", type=int, default=2, help="connections inserting at once (2)")
    parser.add_argument("--api-keys", default=os.environ.get("API_KEYS", ""), help="its merchants come first")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    if not args.database_url:
        parser.error("--database-url (or DATABASE_URL) names the database")
    plan = Plan.make(args.orders, merchants_of(args.api_keys), batch=args.batch)
    result = asyncio.run(preload(args.database_url, plan, workers=args.workers, quiet=args.quiet))
    print(
        f"preloaded {result['orders']} orders in {result['total_s']} s "
        f"(inserts {result['insert_s']} s, vacuum and analyze {result['vacuum_analyze_s']} s)"
    )
    for table, n in result["rows"].items():
        print(f"  {table:<28} {n:>10}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
