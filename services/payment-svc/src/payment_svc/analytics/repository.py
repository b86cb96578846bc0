"""The SQL behind `GET /admin/analytics`: attempts, money paid per currency, failure reasons, the method
mix, refunds, initiate → settled latency (percentile_cont) and buckets over time (generate_series), all
of attempts (and refunds) created in [since, until), of one merchant when given."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

_WINDOW = "created_at >= $1 AND created_at < $2 AND ($3::text IS NULL OR merchant_id = $3)"
_P_WINDOW = "p.created_at >= $1 AND p.created_at < $2 AND ($3::text IS NULL OR p.merchant_id = $3)"


async def _one(conn: asyncpg.Connection, query: str, *args: Any) -> dict[str, Any]:
    row = await conn.fetchrow(query, *args)
    assert row is not None  # an aggregate without GROUP BY answers one row
    return dict(row)


async def _all(conn: asyncpg.Connection, query: str, *args: Any) -> list[dict[str, Any]]:
    return [dict(row) for row in await conn.fetch(query, *args)]


async def payment_analytics(
    conn: asyncpg.Connection, since: datetime, until: datetime, merchant: str | None, bucket: str
) -> dict[str, Any]:
    window = (since, until, merchant)
    attempts = await _one(
        conn,
        f"""SELECT count(*) AS attempted,
                   count(*) FILTER (WHERE status = 'SUCCESS') AS succeeded,
                   count(*) FILTER (WHERE status = 'FAILED') AS failed,
                   count(*) FILTER (WHERE status = 'INITIATED') AS pending
              FROM payments WHERE {_WINDOW}""",
        *window,
    )
    paid = await _all(
        conn,
        f"""SELECT currency, count(*) AS count, sum(amount)::bigint AS amount FROM payments
             WHERE {_WINDOW} AND status = 'SUCCESS' GROUP BY currency ORDER BY currency""",
        *window,
    )
    reasons = await _all(
        conn,
        f"""SELECT coalesce(error_code, 'UNKNOWN') AS code, count(*) AS count FROM payments
             WHERE {_WINDOW} AND status = 'FAILED' GROUP BY 1 ORDER BY 2 DESC, 1""",
        *window,
    )
    methods = await _all(
        conn,
        f"""SELECT coalesce(method->>'type', 'unknown') AS method, count(*) AS attempted,
                   count(*) FILTER (WHERE status = 'SUCCESS') AS succeeded
              FROM payments WHERE {_WINDOW} GROUP BY 1 ORDER BY 2 DESC, 1""",
        *window,
    )
    refunds = await _one(
        conn,
        f"""SELECT count(*) AS count, count(*) FILTER (WHERE status = 'PENDING') AS pending,
                   count(*) FILTER (WHERE status = 'PROCESSED') AS processed,
                   count(*) FILTER (WHERE status = 'FAILED') AS failed
              FROM refunds WHERE {_WINDOW}""",
        *window,
    )
    # what was (or is being) given back: the refunds that have not failed; pending is still on its way
    refund_amounts = await _all(
        conn,
        f"""SELECT currency,
                   coalesce(sum(amount) FILTER (WHERE status <> 'FAILED'), 0)::bigint AS "amount",
                   coalesce(sum(amount) FILTER (WHERE status = 'PENDING'), 0)::bigint AS "pendingAmount"
              FROM refunds WHERE {_WINDOW} GROUP BY currency ORDER BY currency""",
        *window,
    )
    # initiate -> settled: from the attempt's creation to its first `settled` entry in the trail
    settle = await _one(
        conn,
        f"""SELECT count(*) AS count,
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds) AS p50,
                   percentile_cont(0.95) WITHIN GROUP (ORDER BY seconds) AS p95
              FROM (SELECT extract(epoch FROM min(e.created_at) - p.created_at)::float8 AS seconds
                      FROM payments p JOIN payment_events e ON e.payment_id = p.id AND e.kind = 'settled'
                     WHERE {_P_WINDOW}
                     GROUP BY p.id, p.created_at) AS settled""",
        *window,
    )
    series = await _all(
        conn,
        f"""SELECT b.at, count(p.id) AS attempted,
                   count(p.id) FILTER (WHERE p.status = 'SUCCESS') AS succeeded,
                   count(p.id) FILTER (WHERE p.status = 'FAILED') AS failed
              FROM generate_series(date_trunc($4, $1::timestamptz), $2::timestamptz - interval '1 microsecond',
                                   ('1 ' || $4)::interval) AS b(at)
              LEFT JOIN payments p ON date_trunc($4, p.created_at) = b.at AND {_P_WINDOW}
             GROUP BY b.at ORDER BY b.at""",
        *window,
        bucket,
    )
    attempted = int(attempts["attempted"])
    return {
        "attempts": attempts,
        "successRate": int(attempts["succeeded"]) / attempted if attempted else None,
        "paid": paid,
        "failureReasons": reasons,
        "methods": methods,
        "refunds": {**refunds, "amounts": refund_amounts},
        "settleSeconds": settle,
        "series": series,
    }
