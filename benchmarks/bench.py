"""`make bench`: whole payment lifecycles through the system, and the bounds it is held against.

    make bench                      # full: 2,000 lifecycles at each of concurrency 8, 32, 64, the baselines
    make bench QUICK=1              # CI-sized, well under two minutes
    .venv/bin/python -m benchmarks.bench --concurrency 64 --lifecycles 500 --rate 40,80
    .venv/bin/python -m benchmarks.bench --growth   # each level empty, then with 1,000,000 orders preloaded

It takes /tmp/payments-system.lock (the system's ports 8080-8083 are shared with the other system
tiers), makes its own database and RabbitMQ vhost afresh (payments_bench), and starts the system with
`payments-stack exec` as `make run` does, with the client API's and the webhook gateway's rate limits
raised out of the way, the mock gateway settling at once (MOCK_GATEWAY_SETTLE_DELAY_MS=0) and
duplicating a share of its webhooks (MOCK_GATEWAY_FAULTS=duplicate=…). `benchmarks.lifecycle` drives
it; then, with the system stopped, the baselines (`benchmarks.baselines`) run at the same loads.
Then the component phase (`benchmarks.components`, `--no-components` to skip): POST /orders alone and the
webhook gateway alone through the system started again the same way, and their two bounds.
Results: benchmarks/results/<full|quick>.json and .png; the table on stdout. Exit status 1 when a
lifecycle was lost, settled wrongly or applied twice.

`--preload N` fills the fresh database with N settled orders (`benchmarks.preload`) before the system
starts; `--growth` runs every level twice, on an empty database and then on a preloaded one (N, default
1,000,000), with no bounds (they measure the machine, not the data), and compares the two
(`benchmarks.growth`): benchmarks/results/growth.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import json
import os
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import uvloop

from benchmarks import baselines, components, growth, preload, report
from benchmarks.load import Load
from benchmarks.stack_run import baseline_env, baseline_orders_table, stack_exec
from payments_tools.localenv import generate_secrets
from payments_tools.migrate_cli import migrate_all

ROOT = Path(__file__).resolve().parents[1]
LOCK = Path("/tmp/payments-system.lock")  # noqa: S108 - the lock every system tier takes
NAME = "payments_bench"
SERVER_DSN = os.environ.get("BENCH_SERVER_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
HIGH = "1000000"
SYSTEM_ENV = {
    "API_RATE_PER_SECOND": HIGH,
    "API_RATE_BURST": HIGH,
    "WEBHOOK_RATE_PER_SECOND": HIGH,
    "WEBHOOK_RATE_BURST": HIGH,
    "MOCK_GATEWAY_SETTLE_DELAY_MS": "0",
}


@contextlib.contextmanager
def system_lock(enabled: bool) -> Iterator[None]:
    if not enabled:
        yield
        return
    with LOCK.open("a") as handle:
        waited = time.monotonic()
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() - waited > 30:
                    print(f"bench: waiting for {LOCK} (another system run holds it)", flush=True)
                    waited = time.monotonic()
                time.sleep(1)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


async def fresh_database(name: str) -> str:
    conn = await asyncpg.connect(SERVER_DSN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return SERVER_DSN.rsplit("/", 1)[0] + f"/{name}"


def fresh_vhost(name: str) -> str:
    done = subprocess.run(  # noqa: S603 - our own script
        [str(ROOT / "scripts" / "test-vhost.sh"), name],
        capture_output=True,
        text=True,
        check=True,
        env={k: v for k, v in os.environ.items() if k != "AMQP_URL"},
    )
    return done.stdout.strip()


def system_settings(args: argparse.Namespace, api_keys: str) -> dict[str, str]:
    """The system's settings besides its database and vhost, the same for every start within a run."""
    return {
        **SYSTEM_ENV,
        # the bench's own merchants, known before the system starts: a preload files orders under them
        "API_KEYS": api_keys,
        "MOCK_GATEWAY_FAULTS": f"duplicate={args.duplicate_share}" if args.duplicate_share else "",
    }


def run_system(args: argparse.Namespace, dsn: str, amqp: str, out: Path, api_keys: str) -> dict[str, Any]:
    env = {**os.environ, **system_settings(args, api_keys), "AMQP_URL": amqp, "DATABASE_URL": dsn}
    command = stack_exec(
        dsn,
        "benchmarks.lifecycle",
        "--lifecycles",
        str(args.lifecycles),
        "--fail-share",
        str(args.fail_share),
        "--warmup",
        str(args.warmup),
        "--vhost",
        NAME,
        "--out",
        str(out),
    )
    if args.concurrency:
        command += ["--concurrency", ",".join(map(str, args.concurrency))]
    if args.rate:
        command += ["--rate", ",".join(f"{r:g}" for r in args.rate)]
    if args.quiet:
        command.append("--quiet")
    done = subprocess.run(command, cwd=ROOT, env=env, check=False)  # noqa: S603
    if done.returncode != 0 or not out.exists():
        raise SystemExit(f"bench: the system run failed ({done.returncode}); see .run/logs/")
    result: dict[str, Any] = json.loads(out.read_text())
    return result


async def run_baselines(args: argparse.Namespace, dsn: str, amqp: str, system: dict[str, Any]) -> dict[str, Any]:
    loads = [Load(concurrency=c) for c in args.concurrency] + [Load(rate=r) for r in args.rate]
    traffic = system.get("traffic", {})
    size = int(traffic.get("webhook_body_bytes") or 350)
    env = baseline_env(dsn, amqp)
    await baseline_orders_table(dsn, fresh=True)
    n = args.baseline_requests
    # each bound twice per level: at the level's own load (its throughput), then open loop at the rate the
    # system reached there, in the bound's own units (its latency at the system's load)
    levels = system["levels"]
    per = {
        "ingress": traffic.get("webhooks_per_lifecycle") or 1.0,
        "orders": 1.0,
        "broker": traffic.get("broker_messages_per_lifecycle") or 1.0,
    }
    plans: dict[str, list[tuple[Load, int]]] = {kind: [] for kind in per}
    for load, level in zip(loads, levels, strict=True):
        for kind, factor in per.items():
            rate = max(level["settled_per_second"] * factor, 1.0)
            plans[kind] += [
                (load, n),
                (Load(rate=round(rate, 1)), max(100, min(n, round(rate * args.matched_seconds)))),
            ]
    result: dict[str, Any] = {
        "ingress": await baselines.app_baseline("ingress", args.port, env, plans["ingress"], args.quiet, size),
        "orders": await baselines.app_baseline("orders", args.port + 1, env, plans["orders"], args.quiet),
        "broker": await baselines.broker_baseline(amqp, plans["broker"], size, args.quiet),
        "database": [],
    }
    for load in loads:
        clients = min(load.concurrency or 32, args.pgbench_max_clients)
        print(f"  database bound (pgbench, {clients} clients, {args.pgbench_seconds:g} s)", flush=True)
        result["database"].append(
            await asyncio.to_thread(baselines.pgbench_baseline, dsn, clients, args.pgbench_seconds, load.label, load.x)
        )
    return result


def prepare(args: argparse.Namespace, orders: int, api_keys: str) -> tuple[str, str, dict[str, Any] | None]:
    """A fresh database (migrated and preloaded with `orders` orders when there are any) and vhost."""
    dsn = asyncio.run(fresh_database(NAME))
    preloaded = None
    if orders:
        asyncio.run(migrate_all(dsn))
        plan = preload.Plan.make(orders, preload.merchants_of(api_keys))
        print(f"  preloading {orders:,} orders", flush=True)
        preloaded = asyncio.run(preload.preload(dsn, plan, quiet=args.quiet))
        print(f"  preloaded in {preloaded['total_s']} s", flush=True)
    return dsn, fresh_vhost(NAME), preloaded


def run_growth(args: argparse.Namespace, api_keys: str, started: float) -> dict[str, Any]:
    """Every level on an empty database, then on a preloaded one; both phases' results and their comparison."""
    phases: dict[str, dict[str, Any]] = {}
    preloaded = None
    for name, orders in (("empty", 0), ("preloaded", args.preload or preload.DEFAULT_ORDERS)):
        print(f"bench: growth, {name} database", flush=True)
        dsn, amqp, info = prepare(args, orders, api_keys)
        preloaded = info or preloaded
        with tempfile.TemporaryDirectory() as tmp:
            system = run_system(args, dsn, amqp, Path(tmp) / "system.json", api_keys)
        phases[name] = report.combine(args, system, {}, started)
    return {
        "when": phases["empty"]["when"],
        "duration_s": round(time.time() - started),
        "machine": phases["empty"]["machine"],
        "settings": phases["empty"]["settings"],
        "preload": preloaded,
        "comparison": growth.compare(phases["empty"], phases["preloaded"]),
        "phases": phases,
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="CI-sized: 150 lifecycles at concurrency 32")
    parser.add_argument("--lifecycles", type=int, help="per load level (default 2000; quick 150)")
    parser.add_argument(
        "--concurrency",
        type=lambda s: [int(x) for x in s.split(",") if x],
        help="closed-loop levels, comma-separated (default 8,32,64; quick 32)",
    )
    parser.add_argument(
        "--rate",
        type=lambda s: [float(x) for x in s.split(",") if x],
        default=[],
        help="open-loop offered rates in lifecycles/s, comma-separated",
    )
    parser.add_argument("--fail-share", type=float, default=0.2, help="share of declining methods (0.2)")
    parser.add_argument("--duplicate-share", type=float, default=0.1, help="share of duplicated webhooks (0.1)")
    parser.add_argument("--warmup", type=int, help="lifecycles before measuring (default 100; quick 30)")
    parser.add_argument("--baseline-requests", type=int, help="per baseline and level (default 3000; quick 500)")
    parser.add_argument("--pgbench-seconds", type=float, help="per level (default 15; quick 5)")
    parser.add_argument("--pgbench-max-clients", type=int, default=32)
    parser.add_argument(
        "--matched-seconds", type=float, default=10.0, help="length of each bound's run at the system's rate (10)"
    )
    parser.add_argument("--port", type=int, default=18091, help="the baseline apps' ports: this and the next")
    parser.add_argument("--no-baselines", action="store_true")
    parser.add_argument(
        "--no-components",
        action="store_true",
        help="skip POST /orders and the webhook gateway alone against their bounds",
    )
    parser.add_argument("--component-clients", type=int, default=50, help="the component phase's closed loops (50)")
    parser.add_argument("--component-requests", type=int, help="per component closed loop (default 5000; quick 1000)")
    parser.add_argument("--component-warmup", type=int, help="requests before each of them (default 300; quick 100)")
    parser.add_argument(
        "--preload", type=int, default=0, help="orders preloaded into the fresh database before the run (0)"
    )
    parser.add_argument(
        "--growth",
        action="store_true",
        help="each level on an empty database, then with --preload orders (default 1,000,000); no bounds",
    )
    parser.add_argument("--no-lock", action="store_true", help="the caller holds /tmp/payments-system.lock")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args(argv)
    quick = args.quick
    args.lifecycles = args.lifecycles or (150 if quick else 2000)
    if args.concurrency is None:
        args.concurrency = [] if args.rate else ([32] if quick else [8, 32, 64])
    args.warmup = args.warmup if args.warmup is not None else (30 if quick else 100)
    args.baseline_requests = args.baseline_requests or (500 if quick else 3000)
    args.pgbench_seconds = args.pgbench_seconds or (5.0 if quick else 15.0)
    args.matched_seconds = args.matched_seconds or (4.0 if quick else 10.0)
    args.component_requests = args.component_requests or (1000 if quick else 5000)
    args.component_warmup = args.component_warmup if args.component_warmup is not None else (100 if quick else 300)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.time()
    api_keys = generate_secrets()["API_KEYS"]
    if args.growth:
        with system_lock(not args.no_lock):
            grown = run_growth(args, api_keys, started)
        args.results.mkdir(parents=True, exist_ok=True)
        path = args.results / "growth.json"
        path.write_text(json.dumps(grown, indent=2) + "\n")
        for name, phase in grown["phases"].items():
            print(f"\n==== {name} database ====" + report.table(phase))
        print(growth.table(grown))
        print(f"results: {path}")
        return 0 if all(p["system"]["correctness"].get("ok") for p in grown["phases"].values()) else 1
    with system_lock(not args.no_lock):
        dsn, amqp, preloaded = prepare(args, args.preload, api_keys)
        with tempfile.TemporaryDirectory() as tmp:
            system = run_system(args, dsn, amqp, Path(tmp) / "system.json", api_keys)
        bounds = {} if args.no_baselines else uvloop.run(run_baselines(args, dsn, amqp, system))
        parts = None if args.no_components else components.run_phase(args, dsn, amqp, system_settings(args, api_keys))
    result = report.combine(args, system, bounds, started)
    result["preload"] = preloaded
    result["components"] = parts
    args.results.mkdir(parents=True, exist_ok=True)
    stem = args.results / ("quick" if args.quick else "full")
    stem.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    report.chart(result, stem.with_suffix(".png"))
    print(report.table(result))
    if parts is not None:
        print(components.table(parts))
    print(f"results: {stem}.json, {stem}.png")
    return 0 if result["system"]["correctness"].get("ok") else 1


if __name__ == "__main__":
    raise SystemExit(main())
