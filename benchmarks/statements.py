"""How many statements and transactions each service sends PostgreSQL per lifecycle: the round trips, a
count that does not move with the machine's noise, so a change that saves some shows it exactly.

It runs lifecycles through the system as `make bench` does (a fresh database and vhost, the same settings),
with `log_statement = 'all'` set on that database alone, and reads what PostgreSQL logged in the run: each
statement's backend pid is mapped to the service by the `application_name` its pool sets (the service's
schema), polled from `pg_stat_activity` while the run goes. Every statement counts, background loops
included (outbox relays, workers' polls), divided by the lifecycles run, so it is an upper bound that
approaches the lifecycle's own share as the load rises.

    .venv/bin/python -m benchmarks.statements --lifecycles 200 --concurrency 8

It needs to read the server's log: `--log` names the file (default: `pg_current_logfile()` when the
logging collector runs, else Debian's /var/log/postgresql/postgresql-<major>-main.log).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import subprocess
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import asyncpg

from benchmarks.bench import ROOT, SERVER_DSN, SYSTEM_ENV, fresh_database, fresh_vhost, system_lock
from benchmarks.stack_run import stack_exec

NAME = "payments_statements"
# "2026-12-07 03:25:01.123 UTC [10927] LOG:  execute <unnamed>: SELECT ..." (also "statement: BEGIN;")
_LOGGED = re.compile(r"^\S+ \S+ \S+ \[(\d+)\] (?:\S+ )?LOG:\s+(?:statement|execute [^:]*): (.*)$")
_TRANSACTION_END = re.compile(r"^(COMMIT|ROLLBACK)\b", re.IGNORECASE)


async def log_file(conn: asyncpg.Connection) -> Path:
    current: str | None = await conn.fetchval("SELECT pg_current_logfile()")
    if current:
        data: str = await conn.fetchval("SHOW data_directory")
        return Path(data) / current
    major = str(await conn.fetchval("SHOW server_version_num"))[:2]
    return Path(f"/var/log/postgresql/postgresql-{major}-main.log")


async def watch_backends(dsn: str, found: dict[int, str], stop: asyncio.Event) -> None:
    """Record which service each backend of the database serves, while the run lasts (a pool may open a
    connection late, so one look at the end would miss the ones closed meanwhile)."""
    conn = await asyncpg.connect(dsn)
    try:
        while not stop.is_set():
            rows = await conn.fetch(
                "SELECT pid, application_name FROM pg_stat_activity WHERE datname = current_database()"
            )
            for row in rows:
                found.setdefault(row["pid"], row["application_name"] or "other")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.2)
    finally:
        await conn.close()


def count(lines: list[str], services: dict[int, str]) -> dict[str, Counter[str]]:
    """Statements and transaction ends per service, from the log lines of the run."""
    counts: dict[str, Counter[str]] = {}
    for line in lines:
        match = _LOGGED.match(line)
        if match is None:
            continue
        service = services.get(int(match.group(1)))
        if service is None:
            continue  # another database's backend: only ours log statements, but be sure
        tally = counts.setdefault(service, Counter())
        tally["statements"] += 1
        if _TRANSACTION_END.match(match.group(2).strip()):
            tally["transactions"] += 1
    return counts


def per_lifecycle(counts: dict[str, Counter[str]], lifecycles: int) -> dict[str, dict[str, float]]:
    return {
        service: {kind: round(n / lifecycles, 2) for kind, n in sorted(tally.items())}
        for service, tally in sorted(counts.items())
    }


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    dsn = await fresh_database(NAME)
    admin = await asyncpg.connect(SERVER_DSN)
    try:
        await admin.execute(f"ALTER DATABASE \"{NAME}\" SET log_statement = 'all'")
        path = args.log or await log_file(admin)
    finally:
        await admin.close()
    amqp = fresh_vhost(NAME)
    start = path.stat().st_size
    services: dict[int, str] = {}
    stop = asyncio.Event()
    watcher = asyncio.create_task(watch_backends(dsn, services, stop))
    env = {**os.environ, **SYSTEM_ENV, "AMQP_URL": amqp, "DATABASE_URL": dsn, "MOCK_GATEWAY_FAULTS": ""}
    with tempfile.TemporaryDirectory() as tmp:
        command = stack_exec(
            dsn,
            "benchmarks.lifecycle",
            "--lifecycles",
            str(args.lifecycles),
            "--warmup",
            "0",
            "--fail-share",
            str(args.fail_share),
            "--concurrency",
            str(args.concurrency),
            "--vhost",
            NAME,
            "--quiet",
            "--out",
            str(Path(tmp) / "run.json"),
        )
        done = await asyncio.to_thread(subprocess.run, command, cwd=ROOT, env=env, check=False)
    stop.set()
    await watcher
    if done.returncode != 0:
        raise SystemExit(f"statements: the system run failed ({done.returncode}); see .run/logs/")
    with path.open("rb") as log:
        log.seek(start)
        lines = log.read().decode("utf-8", "replace").splitlines()
    counts = count(lines, services)
    return {
        "lifecycles": args.lifecycles,
        "concurrency": args.concurrency,
        "fail_share": args.fail_share,
        "per_lifecycle": per_lifecycle(counts, args.lifecycles),
        "total_per_lifecycle": per_lifecycle({"all": sum(counts.values(), Counter())}, args.lifecycles)["all"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lifecycles", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--fail-share", type=float, default=0.2)
    parser.add_argument("--log", type=Path, help="PostgreSQL's log file (see above)")
    parser.add_argument("--no-lock", action="store_true", help="the caller holds /tmp/payments-system.lock")
    parser.add_argument("--json", action="store_true", help="print the JSON document only")
    args = parser.parse_args()
    with system_lock(not args.no_lock):
        result = asyncio.run(main_async(args))
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"per lifecycle ({args.lifecycles} lifecycles, concurrency {args.concurrency}, background loops included):")
    print(f"{'service (application_name)':<28}{'statements':>12}{'transactions':>14}")
    for service, tally in result["per_lifecycle"].items():
        print(f"{service:<28}{tally.get('statements', 0):>12}{tally.get('transactions', 0):>14}")
    total = result["total_per_lifecycle"]
    print(f"{'all':<28}{total.get('statements', 0):>12}{total.get('transactions', 0):>14}")


if __name__ == "__main__":
    main()
