"""What the database says about a benchmark's lifecycles: their latencies by the services' own clocks,
and whether anything was lost or applied twice.

Latencies from rows, all stamped by PostgreSQL's clock (`now()`, the time its transaction began):
- webhook due → answered: the mock gateway's settlement event (`gateway.deliveries.not_before`, which
  is its creation time with `MOCK_GATEWAY_SETTLE_DELAY_MS=0`) to its first 2xx try
  (`gateway.delivery_attempts.created_at`, written just after the answer came). The gateway records no
  send time, so this holds its delivery worker's claim (it is woken when a payment is created) as well
  as the webhook gateway's answer: an upper bound on the answer's latency.
- webhook accepted → order settled: that first 2xx try to the order's last change
  (`orders.orders.updated_at`): the broker, payment-svc, its outbox relay and order-svc's consumer.

Correctness, over the lifecycles' orders: every order settled; each PAID order with exactly one SUCCESS
attempt and no FAILED order with one; no attempt settled twice (two `settled` trail rows); and the
chaos tier's own invariants (`tests/chaos/invariants.py`: every accepted webhook event applied exactly
once, order-svc's views agree, the gateway agrees, every planned webhook delivered).

Every query is scoped to the run's orders and reaches the rest by index (the gateway's deliveries through
its payments, the outboxes by their time-ordered ids), so a database holding a million earlier orders
(`bench --preload`) neither slows the checks down nor enters their counts.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import asyncpg

from benchmarks.load import summary

_LATENCIES = """
SELECT o.id, o.status,
       extract(epoch FROM first.at - d.not_before) * 1000 AS due_to_answered_ms,
       extract(epoch FROM o.updated_at - first.at) * 1000 AS accepted_to_settled_ms
  FROM orders.orders o
  JOIN payments.payments p ON p.order_id = o.id
  JOIN gateway.payments g ON g.payment_id = p.id
  JOIN gateway.deliveries d ON d.gateway_payment_id = g.id AND d.purpose = 'settlement'
  CROSS JOIN LATERAL (SELECT min(a.created_at) AS at FROM gateway.delivery_attempts a
                       WHERE a.event_id = d.event_id AND a.status_code BETWEEN 200 AND 299) first
 WHERE o.id = ANY($1::text[]) AND o.status <> 'CREATED' AND first.at IS NOT NULL"""


async def latencies(pool: asyncpg.Pool, order_ids: list[str]) -> dict[str, Any]:
    rows = await pool.fetch(_LATENCIES, order_ids)
    due = [float(r["due_to_answered_ms"]) for r in rows]
    # a consumer's transaction may begin a hair before the try's row is written: clamp at zero
    settled = {
        status: [max(0.0, float(r["accepted_to_settled_ms"])) for r in rows if r["status"] == status]
        for status in ("PAID", "FAILED")
    }
    return {
        "webhook_due_to_answered": summary(due),
        "webhook_accepted_to_paid": summary(settled["PAID"]),
        "webhook_accepted_to_failed": summary(settled["FAILED"]),
    }


def outbox_floor(order_ids: list[str]) -> uuid.UUID:
    """The smallest outbox id the lifecycles of these orders can have written, less a minute's margin.

    Outbox ids are UUIDv7 (`payments_common.ids.new_uuid`), as order ids are, minted later in the same
    lifecycle on the same clock: a range over the outboxes' primary keys from here holds every row of these
    orders and none of the days-old rows a preloaded database has (the outboxes have no index by aggregate).
    The nil UUID (no bound) when an id is not a UUIDv7."""
    stamps = []
    for order_id in order_ids:
        try:
            value = uuid.UUID(order_id.removeprefix("order_"))
        except ValueError:
            return uuid.UUID(int=0)
        if value.version != 7:
            return uuid.UUID(int=0)
        stamps.append(value.int >> 80)
    if not stamps:
        return uuid.UUID(int=0)
    return uuid.UUID(int=max(0, min(stamps) - 60_000) << 80)


async def traffic(pool: asyncpg.Pool, order_ids: list[str]) -> dict[str, Any]:
    """Webhook deliveries and broker messages the lifecycles caused, per lifecycle."""
    row = await pool.fetchrow(
        """WITH p AS (SELECT id FROM payments.payments WHERE order_id = ANY($1::text[])),
                d AS (SELECT d.event_id, d.purpose, d.copies, d.body FROM gateway.deliveries d
                       WHERE d.gateway_payment_id IN (SELECT g.id FROM gateway.payments g
                                                       WHERE g.payment_id IN (SELECT id FROM p)))
           SELECT (SELECT count(*) FROM d) AS events,
                  (SELECT coalesce(sum(copies), 0) FROM d) AS copies,
                  (SELECT count(*) FROM d WHERE purpose = 'duplicate') AS duplicate_events,
                  (SELECT count(*) FROM gateway.delivery_attempts a JOIN d USING (event_id)
                    WHERE a.status_code BETWEEN 200 AND 299) AS answered_2xx,
                  (SELECT count(*) FROM payments.outbox WHERE id >= $2
                      AND (aggregate_id IN (SELECT id FROM p) OR aggregate_id = ANY($1::text[]))) AS payment_outbox,
                  (SELECT count(*) FROM orders.outbox WHERE id >= $2
                      AND (aggregate_id IN (SELECT id FROM p) OR aggregate_id = ANY($1::text[]))) AS order_outbox,
                  (SELECT avg(octet_length(body)) FROM d) AS body_bytes""",
        order_ids,
        outbox_floor(order_ids),
    )
    n = max(len(order_ids), 1)
    webhooks = int(row["answered_2xx"])
    messages = webhooks + int(row["payment_outbox"]) + int(row["order_outbox"])
    return {
        "webhook_events": int(row["events"]),
        "duplicate_events": int(row["duplicate_events"]),
        "webhook_copies_planned": int(row["copies"]),
        "webhooks_answered_2xx": webhooks,
        "webhooks_per_lifecycle": round(webhooks / n, 3),
        "outbox_messages": {"payments": int(row["payment_outbox"]), "orders": int(row["order_outbox"])},
        "broker_messages_per_lifecycle": round(messages / n, 3),
        "webhook_body_bytes": round(float(row["body_bytes"] or 0)),
    }


async def correctness(pool: asyncpg.Pool, order_ids: list[str], log_dir: Path, vhost: str) -> dict[str, Any]:
    not_settled = await pool.fetchval(
        "SELECT count(*) FROM orders.orders WHERE id = ANY($1::text[]) AND status = 'CREATED'", order_ids
    )
    wrong_success = await pool.fetch(
        """SELECT o.id, o.status, count(p.id) FILTER (WHERE p.status = 'SUCCESS') AS successes
             FROM orders.orders o LEFT JOIN payments.payments p ON p.order_id = o.id
            WHERE o.id = ANY($1::text[]) AND o.status <> 'CREATED'
            GROUP BY o.id, o.status
           HAVING (o.status = 'PAID') <> (count(p.id) FILTER (WHERE p.status = 'SUCCESS') = 1)
               OR count(p.id) FILTER (WHERE p.status = 'SUCCESS') > 1""",
        order_ids,
    )
    settled_twice = await pool.fetchval(
        """SELECT count(*) FROM (SELECT e.payment_id FROM payments.payment_events e
                                   JOIN payments.payments p ON p.id = e.payment_id
                                  WHERE p.order_id = ANY($1::text[]) AND e.kind = 'settled'
                                  GROUP BY e.payment_id HAVING count(*) > 1) twice""",
        order_ids,
    )
    result: dict[str, Any] = {
        "orders": len(order_ids),
        "not_settled": int(not_settled),
        "paid_without_one_success": len(wrong_success),
        "settled_twice": int(settled_twice),
    }
    result["invariants"] = await _invariants(order_ids, log_dir, vhost)
    inv = result["invariants"]
    result["lost"] = inv.get("lost", 0)
    result["applied_twice"] = inv.get("applied_twice", 0) + result["settled_twice"]
    result["ok"] = (
        not result["not_settled"]
        and not result["paid_without_one_success"]
        and not result["applied_twice"]
        and not result["lost"]
        and not inv.get("violations")
    )
    return result


async def _invariants(order_ids: list[str], log_dir: Path, vhost: str) -> dict[str, Any]:
    """The chaos tier's checks, scoped to these orders; reported as not run if they cannot be imported."""
    try:
        from tests.chaos import invariants, observe
    except ImportError as exc:  # the tests are not on the path: say so rather than fail the run
        return {"not_run": [f"tests.chaos: {exc}"]}
    import os

    dsn = os.environ["DATABASE_URL"]
    snapshot = await observe.read_snapshot(dsn, observe.Sources(log_dir=log_dir, vhost=vhost), order_ids=order_ids)
    verdict = invariants.check(snapshot, order_ids, global_checks=False)
    return {
        "accepted_events": verdict.accepted,
        "applied_events": verdict.applied,
        "lost": len(verdict.lost),
        "applied_twice": len(verdict.applied_twice),
        "violations": len(verdict.violations),
        "violation_examples": [str(v) for v in verdict.violations[:5]],
        "not_run": verdict.not_run,
    }
