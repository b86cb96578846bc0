"""Whole payment lifecycles against a running system: run it under `payments-stack exec` (the
`benchmarks.bench` CLI does, with the settings that make the mock gateway fast).

Each lifecycle: POST /orders, POST /payments/initiate with a method drawn from a fixed mix (card, UPI,
wallet, netbanking; a share of them test values that decline), then the mock gateway's signed webhook
(a share of them duplicated, by its `duplicate` fault), until the order is PAID or FAILED. Settlement
is seen by one poll loop over `orders.orders` for every outstanding order at once (one indexed query
per `--poll-ms`), not by clients polling GET /orders/{id}: the observer must not be the load.

Writes one JSON document (`--out`) with, per load level: settled lifecycles/s, p50/p95/p99 of the two
API calls (client side), of the whole lifecycle (create → settled seen), of the webhook's due →
answered and accepted → settled (database clocks, see `checks.py`), CPU seconds per process; then the
correctness checks over all lifecycles and each service's peak RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import uvloop

from benchmarks import checks
from benchmarks.load import Load, Progress, drive, summary
from benchmarks.procstat import CpuSample, peak_rss, service_pids
from payments_common.db import PooledConnection

CARD = {"type": "card", "expiryMonth": 12, "expiryYear": 2035, "cvv": "123", "name": "Bench Customer"}
# (method, expected order status); the mock gateway's test values (README, "Test values")
SUCCEEDING: list[dict[str, Any]] = [
    {**CARD, "number": "4111 1111 1111 1111"},
    {"type": "upi", "vpa": "success@razorpay"},
    {"type": "wallet", "provider": "paytm"},
    {"type": "netbanking", "bank": "HDFC"},
]
DECLINING: list[dict[str, Any]] = [
    {**CARD, "number": "4000 0000 0000 0002"},
    {"type": "upi", "vpa": "failure@razorpay"},
    {"type": "wallet", "provider": "freecharge"},
    {"type": "netbanking", "bank": "YESB"},
]


def method_for(i: int, fail_share: float) -> tuple[dict[str, Any], str]:
    """Deterministic mix: lifecycle i declines when its fractional position falls in the failing share,
    and the four method types rotate within both groups."""
    fails = int((i + 1) * fail_share) > int(i * fail_share)
    group = DECLINING if fails else SUCCEEDING
    return group[i % len(group)], "FAILED" if fails else "PAID"


class SettleWaiter:
    """One poll loop for every outstanding order: who is PAID or FAILED now?"""

    def __init__(self, pool: asyncpg.Pool, interval: float) -> None:
        self._pool = pool
        self._interval = interval
        self._waiting: dict[str, asyncio.Future[str]] = {}
        self.polls = 0

    async def wait(self, order_id: str, within: float) -> str:
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._waiting[order_id] = future
        try:
            return await asyncio.wait_for(future, within)
        finally:
            self._waiting.pop(order_id, None)

    async def run(self) -> None:
        while True:
            if self._waiting:
                rows = await self._pool.fetch(
                    "SELECT id, status FROM orders.orders WHERE id = ANY($1::text[]) AND status <> 'CREATED'",
                    list(self._waiting),
                )
                self.polls += 1
                for row in rows:
                    future = self._waiting.get(row["id"])
                    if future is not None and not future.done():
                        future.set_result(row["status"])
            await asyncio.sleep(self._interval)


@dataclass(slots=True)
class Recorder:
    orders_ms: list[float] = field(default_factory=list)
    initiate_ms: list[float] = field(default_factory=list)
    lifecycle_ms: list[float] = field(default_factory=list)
    order_ids: list[str] = field(default_factory=list)
    settled: int = 0


async def post(session: aiohttp.ClientSession, path: str, body: dict[str, Any], record: list[float]) -> Any:
    started = time.perf_counter()
    async with session.post(path, json=body) as response:
        payload = await response.read()
        status = response.status
    record.append((time.perf_counter() - started) * 1000)
    if status >= 300:
        raise RuntimeError(f"POST {path}: {status} {payload[:100]!r}")
    return json.loads(payload)


class Lifecycles:
    def __init__(self, sessions: list[aiohttp.ClientSession], waiter: SettleWaiter, args: argparse.Namespace) -> None:
        self.sessions, self.waiter, self.args = sessions, waiter, args
        self.offset = 0

    async def one(self, n: int, rec: Recorder) -> None:
        i = self.offset + n
        session = self.sessions[i % len(self.sessions)]
        method, expected = method_for(i, self.args.fail_share)
        started = time.perf_counter()
        order = await post(session, "/orders", {"amount": 1500 + i % 1000, "currency": "INR"}, rec.orders_ms)
        rec.order_ids.append(order["orderId"])
        await post(session, "/payments/initiate", {"orderId": order["orderId"], "method": method}, rec.initiate_ms)
        status = await self.waiter.wait(order["orderId"], self.args.settle_timeout)
        rec.lifecycle_ms.append((time.perf_counter() - started) * 1000)
        rec.settled += 1
        if status != expected:
            raise RuntimeError(f"expected {expected}, got {status}")

    async def level(self, load: Load, n: int, pool: asyncpg.Pool, pids: dict[str, int], quiet: bool) -> dict[str, Any]:
        rec = Recorder()
        before = CpuSample.take(pids)
        outcome = await drive(
            n, lambda k: self.one(k, rec), load, Progress(n, f"system, {load.label}", enabled=not quiet)
        )
        cpu = CpuSample.take(pids).since(before)
        self.offset += n
        throughput = rec.settled / outcome.elapsed if outcome.elapsed else 0.0
        return {
            "load": load.label,
            "x": load.x,
            "lifecycles": n,
            **outcome.as_dict(),
            "settled": rec.settled,
            "settled_per_second": round(throughput, 2),
            "latency": {
                "post_orders": summary(rec.orders_ms),
                "post_payments_initiate": summary(rec.initiate_ms),
                "lifecycle_create_to_settled_seen": summary(rec.lifecycle_ms),
                **await checks.latencies(pool, rec.order_ids),
            },
            "cpu_seconds": cpu,
            "cpu_ms_per_lifecycle": {k: round(v * 1000 / max(rec.settled, 1), 2) for k, v in cpu.items()},
            "order_ids": rec.order_ids,
        }


def need(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise SystemExit(f"lifecycle: {name} is not set; run it under `payments-stack exec`")
    return value


async def run(args: argparse.Namespace) -> dict[str, Any]:
    keys = [item.strip().split(":", 1) for item in need("API_KEYS").split(",") if item.strip()]
    api_url, dsn = need("API_URL"), need("DATABASE_URL")
    run_dir = Path(os.environ.get("PAYMENTS_RUN_DIR", ".run"))
    loads = [Load(concurrency=c) for c in args.concurrency] + [Load(rate=r) for r in args.rate]
    # without asyncpg's reset query on release: one more statement per poll, which the bound does not run
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=4, connection_class=PooledConnection)
    waiter = SettleWaiter(pool, args.poll_ms / 1000)
    poller = asyncio.create_task(waiter.run())
    limit = max([*args.concurrency, 64]) * 2
    sessions = [
        aiohttp.ClientSession(
            base_url=api_url,
            headers={"Authorization": aiohttp.encode_basic_auth(key_id, secret)},
            connector=aiohttp.TCPConnector(limit=limit),
            timeout=aiohttp.ClientTimeout(total=60),
        )
        for key_id, secret in keys
    ]
    lifecycles = Lifecycles(sessions, waiter, args)
    # read once, at the start: the pid files live in the shared .run/ directory, where other tiers' runs
    # may remove them meanwhile
    pids = service_pids(run_dir)
    result: dict[str, Any] = {"levels": []}
    try:
        if args.warmup:
            warm = await lifecycles.level(Load(concurrency=8), args.warmup, pool, pids, args.quiet)
            result["warmup"] = {"lifecycles": args.warmup, "errors": warm["errors"]}
        all_ids: list[str] = []
        for load in loads:
            level = await lifecycles.level(load, args.lifecycles, pool, pids, args.quiet)
            all_ids += level.pop("order_ids")
            result["levels"].append(level)
            print(f"  system, {load.label}: {level['settled_per_second']} settled lifecycles/s", flush=True)
        await asyncio.sleep(1.0)  # late duplicate copies land before the checks read the trail
        result["traffic"] = await checks.traffic(pool, all_ids)
        result["correctness"] = await checks.correctness(pool, all_ids, run_dir / "logs", args.vhost)
        result["peak_rss_mb"] = peak_rss(pids)
        result["settle_polls"] = waiter.polls
    finally:
        poller.cancel()
        for session in sessions:
            await session.close()
        await pool.close()
    return result


def main() -> int:
    args = parse_args()
    result = uvloop.run(run(args))
    Path(args.out).write_text(json.dumps(result, indent=2))
    return 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lifecycles", type=int, default=2000, help="per load level")
    parser.add_argument("--concurrency", type=lambda s: [int(x) for x in s.split(",") if x], default=[])
    parser.add_argument("--rate", type=lambda s: [float(x) for x in s.split(",") if x], default=[])
    parser.add_argument("--fail-share", type=float, default=0.2)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--poll-ms", type=float, default=20.0)
    parser.add_argument("--settle-timeout", type=float, default=120.0)
    parser.add_argument("--vhost", default="payments_bench")
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    if not args.concurrency and not args.rate:
        args.concurrency = [64]
    return args


if __name__ == "__main__":
    raise SystemExit(main())
