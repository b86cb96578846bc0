"""What the bench's phases share to start things: the command that runs a module under a system
`payments-stack exec` starts (as `make run` starts it), and the bounds' environment and order table."""

from __future__ import annotations

import base64
import secrets
import sys
from pathlib import Path

import asyncpg


def stack_exec(dsn: str, module: str, *args: str) -> list[str]:
    """`python -m module args` under a system started on the database `dsn` (the rest of its settings
    from the environment the command is run with)."""
    stack = str(Path(sys.executable).with_name("payments-stack"))
    return [stack, "exec", "--database-url", dsn, "--", sys.executable, "-m", module, *args]


def baseline_env(dsn: str, amqp: str) -> dict[str, str]:
    """The minimal apps' settings: the bench's database and vhost, a fresh webhook secret and API key."""
    return {
        "AMQP_URL": amqp,
        "DATABASE_URL": dsn,
        "WEBHOOK_SECRETS": "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode(),
        "API_KEYS": f"rzp_test_bench:{secrets.token_urlsafe(24)}",
    }


async def baseline_orders_table(dsn: str, *, fresh: bool) -> None:
    """The order-creation bound's table, a copy of `orders.orders` in a schema of its own (emptied first
    when `fresh`)."""
    conn = await asyncpg.connect(dsn)
    try:
        if fresh:
            await conn.execute("DROP SCHEMA IF EXISTS bench_baseline CASCADE")
        await conn.execute(
            "CREATE SCHEMA IF NOT EXISTS bench_baseline;"
            "CREATE TABLE IF NOT EXISTS bench_baseline.orders (LIKE orders.orders INCLUDING ALL)"
        )
    finally:
        await conn.close()
