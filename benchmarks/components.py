"""The component phase: `POST /orders` alone and the webhook gateway alone, each against its bound.

The lifecycle run measures the services together; two performance goals are about one service each:

- POST /orders: at least 80 % of the order-creation bound's rate, p99 <= 30 ms, at 50 clients;
- the webhook gateway: at least 80 % of the ingress bound's rate; p99 <= 25 ms at half its own maximum rate.

Run by `benchmarks.bench` (a second `payments-stack exec` of the system, same settings, same database and
vhost, after the lifecycle run and its bounds), in two halves:

1. ours, under `payments-stack exec` (`python -m benchmarks.components --out ...`, which needs the
   system's environment): `POST /orders` closed loop at `--clients`; then one genuine settlement webhook
   for a real payment left pending at the mock gateway (`pending@razorpay` sends none of its own), sent
   once and seen to make its order PAID, then replayed under its one event id (payment-svc's inbox drops
   the copies at the cost of one statement), each copy re-signed with a fresh timestamp as the mock
   gateway re-signs its retries: closed loop at `--clients` (its maximum rate), then open loop at half that,
   with payment-svc stopped meanwhile (`consumer_paused`): the gateway alone on the machine's two cores,
   as the bound is (nothing consumes its queue), not sharing them with the consumer of what it publishes;
2. the bounds, with the system stopped (`run_bounds`): `baseline_apps orders` and `ingress` by the same
   load generator at the same loads, the ingress also open loop at half its own maximum and at half ours
   (p99 at the same offered rate).

`compare` turns both into the report's `components` section with the goals' verdicts; `table` prints it.
Every figure is measured in the run: nothing here is a stored result.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import uvloop

from benchmarks import baselines
from benchmarks.load import Load, Progress, drive, summary
from benchmarks.procstat import CpuSample, service_pids
from benchmarks.stack_run import baseline_env, baseline_orders_table, stack_exec
from payments_common.config import parse_webhook_secrets
from payments_common.events import WebhookPayload
from payments_common.signatures import sign_webhook

ROOT = Path(__file__).resolve().parents[1]
THROUGHPUT_FLOOR = 0.8
ORDERS_P99_MS = 30.0
WEBHOOK_P99_MS = 25.0
# an open loop runs this long at its rate (at least MIN_OPEN requests, at most the closed loop's count)
OPEN_SECONDS = 10.0
MIN_OPEN = 300
# between a closed loop at the maximum and the open loop at half of it
SETTLE_SECONDS = 5.0
PENDING = {"type": "upi", "vpa": "pending@razorpay"}


# --- measuring (both halves) -------------------------------------------------------------------


def open_requests(rate: float, n: int) -> int:
    """How many requests an open loop at `rate` sends: OPEN_SECONDS' worth, within [MIN_OPEN, n]."""
    return max(min(MIN_OPEN, n), min(n, round(rate * OPEN_SECONDS)))


def half(per_second: float | None) -> float | None:
    """Half a measured maximum rate, as an open loop's offered rate; None when nothing was measured."""
    return round(per_second / 2, 1) if per_second else None


async def measure(
    label: str,
    load: Load,
    n: int,
    request: Callable[[], Awaitable[int]],
    pids: dict[str, int],
    quiet: bool,
) -> dict[str, Any]:
    """`n` requests under `load`, each `request()` answering an HTTP status: anything but 2xx is an error.
    The same figures `baselines.app_baseline` reports for a bound."""
    latencies: list[float] = []

    async def op(_: int) -> None:
        started = time.perf_counter()
        status = await request()
        if not 200 <= status < 300:
            raise RuntimeError(f"{label}: {status}")
        latencies.append((time.perf_counter() - started) * 1000)

    before = CpuSample.take(pids, infra=True)
    outcome = await drive(n, op, load, Progress(n, f"{label}, {load.label}", enabled=not quiet))
    cpu = CpuSample.take(pids, infra=True).since(before)
    return {
        "load": load.label,
        "x": load.x,
        **outcome.as_dict(),
        "per_second": round(outcome.completed / outcome.elapsed, 2) if outcome.elapsed else 0.0,
        "latency": summary(latencies),
        "cpu_seconds": cpu,
    }


@contextlib.contextmanager
def consumer_paused(pid: int) -> Iterator[None]:
    """payment-svc stopped (SIGSTOP) while the gateway alone is measured, as nothing consumes the
    ingress bound's queue: the copies wait in the queue, and payment-svc drains them once continued."""
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


def need(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise SystemExit(f"components: {name} is not set; run it under `payments-stack exec`")
    return value


async def post_json(session: aiohttp.ClientSession, path: str, body: dict[str, Any]) -> Any:
    async with session.post(path, json=body) as response:
        payload = await response.read()
        if response.status >= 300:
            raise SystemExit(f"components: POST {path} answered {response.status}: {payload[:200]!r}")
    return json.loads(payload)


async def pending_webhook(api: aiohttp.ClientSession) -> tuple[str, bytes]:
    """A real order and payment left pending at the mock gateway, and the SUCCESS webhook body the mock
    gateway would send for it (`webhook_body`: the report's contract fields, the method's summary)."""
    order = await post_json(api, "/orders", {"amount": 1500, "currency": "INR"})
    payment = await post_json(api, "/payments/initiate", {"orderId": order["orderId"], "method": PENDING})
    report = WebhookPayload(
        orderId=order["orderId"],
        paymentId=payment["paymentId"],
        gatewayPaymentId=payment["gatewayPaymentId"],
        signature=payment["signature"],
        status="SUCCESS",
        amount=1500,
        currency="INR",
        method=PENDING,
    )
    return order["orderId"], orjson.dumps(report.contract_dict())


async def order_status(api: aiohttp.ClientSession, order_id: str, within: float = 30.0) -> str:
    """The order's status once it is no longer CREATED, or its last status after `within` seconds."""
    deadline = time.monotonic() + within
    status = "CREATED"
    while time.monotonic() < deadline:
        async with api.get(f"/orders/{order_id}") as response:
            status = (await response.json())["status"]
        if status != "CREATED":
            break
        await asyncio.sleep(0.2)
    return status


async def run_ours(args: argparse.Namespace) -> dict[str, Any]:
    """Both loads against the running system (the environment `payments-stack exec` gives its command)."""
    key_id, secret = need("API_KEYS").split(",")[0].strip().split(":", 1)
    webhook_key = parse_webhook_secrets(need("WEBHOOK_SECRETS"))[0]
    pids = service_pids(Path(os.environ.get("PAYMENTS_RUN_DIR", ".run")))
    closed, n = Load(concurrency=args.clients), args.requests
    result: dict[str, Any] = {"clients": args.clients, "requests": n}
    async with (
        aiohttp.ClientSession(
            base_url=need("API_URL"),
            headers={"Authorization": aiohttp.encode_basic_auth(key_id, secret)},
            connector=aiohttp.TCPConnector(limit=args.clients * 2),
        ) as api,
        aiohttp.ClientSession(
            base_url=need("WEBHOOK_URL"), connector=aiohttp.TCPConnector(limit=args.clients * 2)
        ) as hook,
    ):

        async def create() -> int:
            async with api.post("/orders", json={"amount": 1500, "currency": "INR"}) as response:
                await response.read()
                return response.status

        orders_pids = {k: v for k, v in pids.items() if k == "order-svc"}
        if args.warmup:
            await measure("POST /orders warm-up", closed, args.warmup, create, orders_pids, args.quiet)
        result["post_orders"] = await measure("POST /orders", closed, n, create, orders_pids, args.quiet)

        order_id, body = await pending_webhook(api)
        event_id = f"evt_bench_{uuid.uuid4().hex}"

        async def replay() -> int:
            headers = {"content-type": "application/json", **sign_webhook(webhook_key, event_id, body).as_dict()}
            async with hook.post("/webhook/payment", data=body, headers=headers) as response:
                await response.read()
                return response.status

        first = await replay()
        # the webhook is genuine only if the system applies it: its order must become PAID
        settled = await order_status(api, order_id)
        gateway_pids = {k: v for k, v in pids.items() if k in ("webhook-gateway", "payment-svc")}
        with consumer_paused(pids["payment-svc"]):
            if args.warmup:
                await measure("webhook warm-up", closed, args.warmup, replay, gateway_pids, args.quiet)
            at_max = await measure("webhook gateway", closed, n, replay, gateway_pids, args.quiet)
            rate = half(at_max["per_second"])
            # the broker writes out what the closed loop queued (thousands of messages in a few seconds)
            # just after it: an open loop started at once measures that, not the gateway at half its rate
            await asyncio.sleep(SETTLE_SECONDS)
            at_half = (
                await measure(
                    "webhook gateway", Load(rate=rate), open_requests(rate, n), replay, gateway_pids, args.quiet
                )
                if rate
                else None
            )
        result["webhook"] = {
            "first_answer": first,
            "order_status_after_first": settled,
            "body_bytes": len(body),
            "closed": at_max,
            "open_half_max": at_half,
        }
    return result


async def run_bounds(dsn: str, amqp: str, ours: dict[str, Any], port: int, warmup: int, quiet: bool) -> dict[str, Any]:
    """The order-creation and ingress bounds at the loads `ours` ran (the system stopped meanwhile)."""
    env = baseline_env(dsn, amqp)
    await baseline_orders_table(dsn, fresh=False)
    closed, n = Load(concurrency=ours["clients"]), ours["requests"]
    size = ours["webhook"]["body_bytes"]
    # a warm-up run first, as ours had, not reported: each plan's last run is the measured one
    plan = [(closed, warmup)] if warmup else []
    orders = (await baselines.app_baseline("orders", port + 1, env, [*plan, (closed, n)], quiet))[-1]
    ingress = (await baselines.app_baseline("ingress", port, env, [*plan, (closed, n)], quiet, size))[-1]
    own, our = half(ingress["per_second"]), half(ours["webhook"]["closed"]["per_second"])
    opens = [(Load(rate=rate), open_requests(rate, n)) for rate in (own, our) if rate]
    runs = iter(await baselines.app_baseline("ingress", port, env, opens, quiet, size) if opens else [])
    return {
        "orders": {"closed": orders},
        "ingress": {
            "closed": ingress,
            "open_half_own_max": next(runs) if own else None,
            "open_half_our_max": next(runs) if our else None,
        },
    }


def run_phase(args: argparse.Namespace, dsn: str, amqp: str, system_env: dict[str, str]) -> dict[str, Any]:
    """Ours through a system `payments-stack exec` starts with `system_env`, then the bounds; the section."""
    env = {**os.environ, **system_env, "AMQP_URL": amqp, "DATABASE_URL": dsn}
    with tempfile.TemporaryDirectory() as tmp:
        ours = _exec_ours(args, env, Path(tmp) / "ours.json")
    bounds = uvloop.run(run_bounds(dsn, amqp, ours, args.port, args.component_warmup, args.quiet))
    return compare(ours, bounds)


def _exec_ours(args: argparse.Namespace, env: dict[str, str], out: Path) -> dict[str, Any]:
    command = stack_exec(env["DATABASE_URL"], "benchmarks.components")
    command += ["--out", str(out), "--clients", str(args.component_clients)]
    command += ["--requests", str(args.component_requests), "--warmup", str(args.component_warmup)]
    if args.quiet:
        command.append("--quiet")
    print(f"bench: components alone, {args.component_clients} clients", flush=True)
    done = subprocess.run(command, cwd=ROOT, env=env, check=False)  # noqa: S603 - our own stack and module
    if done.returncode != 0 or not out.exists():
        raise SystemExit(f"bench: the component run failed ({done.returncode}); see .run/logs/")
    ours: dict[str, Any] = json.loads(out.read_text())
    return ours


# --- the report (pure) -------------------------------------------------------------------------


def ratio(ours: float | None, bound: float | None) -> float | None:
    """ours / bound, or None when either is missing (or the bound is zero)."""
    if ours is None or not bound:
        return None
    return round(ours / bound, 3)


def goal(value: float | None, *, at_least: float | None = None, at_most: float | None = None) -> dict[str, Any]:
    """A goal's verdict: `met` is None when the value was not measured."""
    met = None
    if value is not None:
        met = (at_least is None or value >= at_least) and (at_most is None or value <= at_most)
    return {"value": value, "at_least": at_least, "at_most": at_most, "met": met}


def _figures(run: dict[str, Any]) -> dict[str, Any]:
    """The figures of one run the report shows: rate, percentiles, errors."""
    latency = run.get("latency", {})
    return {
        "load": run.get("load"),
        "per_second": run.get("per_second"),
        **{key: latency.get(key) for key in ("p50_ms", "p95_ms", "p99_ms")},
        "errors": sum(run.get("errors", {}).values()),
        "late_starts": run.get("late_starts", 0),
    }


def _open_figures(run: dict[str, Any] | None) -> dict[str, Any] | None:
    """An open loop's figures, None when it did not run (no maximum rate to halve)."""
    return None if run is None else _figures(run)


def compare(ours: dict[str, Any], bounds: dict[str, Any]) -> dict[str, Any]:
    """The `components` section: each component beside its bound, the ratios and the goals."""
    orders, bound_orders = _figures(ours["post_orders"]), _figures(bounds["orders"]["closed"])
    hook, ingress = ours["webhook"], bounds["ingress"]
    webhook, bound_ingress = _figures(hook["closed"]), _figures(ingress["closed"])
    at_half = _open_figures(hook["open_half_max"])
    orders_ratio = ratio(orders["per_second"], bound_orders["per_second"])
    webhook_ratio = ratio(webhook["per_second"], bound_ingress["per_second"])
    goals = {
        "orders_throughput": goal(orders_ratio, at_least=THROUGHPUT_FLOOR),
        "orders_p99_ms": goal(orders["p99_ms"], at_most=ORDERS_P99_MS),
        "webhook_throughput": goal(webhook_ratio, at_least=THROUGHPUT_FLOOR),
        "webhook_p99_ms_at_half_max": goal(at_half["p99_ms"] if at_half else None, at_most=WEBHOOK_P99_MS),
    }
    verdicts = [g["met"] for g in goals.values()]
    return {
        "clients": ours["clients"],
        "requests": ours["requests"],
        "post_orders": {"ours": orders, "bound": bound_orders, "ratio": orders_ratio},
        "webhook": {
            "ours": webhook,
            "bound": bound_ingress,
            "ratio": webhook_ratio,
            "ours_at_half_our_max": at_half,
            "bound_at_half_our_max": _open_figures(ingress["open_half_our_max"]),
            "bound_at_half_its_max": _open_figures(ingress["open_half_own_max"]),
            "first_answer": hook["first_answer"],
            "order_status_after_first": hook["order_status_after_first"],
            "body_bytes": hook["body_bytes"],
        },
        "goals": goals,
        "goals_met": None if None in verdicts else all(verdicts),
        "runs": {"ours": ours, "bounds": bounds},
    }


def _num(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _verdict(met: bool | None) -> str:
    return "n/a" if met is None else ("met" if met else "NOT MET")


def _row(label: str, figures: dict[str, Any] | None) -> str:
    if figures is None:
        return f"  {label:<44} not run"
    late = f", {figures['late_starts']} late starts" if figures["late_starts"] else ""
    return (
        f"  {label:<44} {_num(figures['per_second']):>9}/s  {_num(figures['p50_ms']):>7} "
        f"{_num(figures['p95_ms']):>7} {_num(figures['p99_ms']):>7}  errors {figures['errors']}{late}"
    )


def table(section: dict[str, Any]) -> str:
    """The component section of the printed report."""
    clients, goals = section["clients"], section["goals"]
    orders, hook = section["post_orders"], section["webhook"]
    lines = [
        f"\n== components alone: {section['requests']:,} requests at {clients} clients (closed loop); "
        "bounds with the system stopped ==",
        f"  {'':<44} {'rate':>11}  {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7}",
        _row(f"POST /orders, ours, {clients} clients", orders["ours"]),
        _row(f"order-creation bound, {clients} clients", orders["bound"]),
        _row(f"webhook gateway, ours, {clients} clients", hook["ours"]),
        _row(f"ingress bound, {clients} clients", hook["bound"]),
        _row("webhook gateway, ours, half our max", hook["ours_at_half_our_max"]),
        _row("ingress bound, half our max", hook["bound_at_half_our_max"]),
        _row("ingress bound, half its own max", hook["bound_at_half_its_max"]),
        f"  the replayed webhook: first answer {hook['first_answer']}, order then "
        f"{hook['order_status_after_first']}, {hook['body_bytes']} bytes",
        f"goal POST /orders >= {THROUGHPUT_FLOOR} of its bound: ours/bound {_num(orders['ratio'], 3)}: "
        f"{_verdict(goals['orders_throughput']['met'])}",
        f"goal POST /orders p99 <= {ORDERS_P99_MS:g} ms at {clients} clients: "
        f"{_num(goals['orders_p99_ms']['value'])} ms: {_verdict(goals['orders_p99_ms']['met'])}",
        f"goal webhook gateway >= {THROUGHPUT_FLOOR} of the ingress bound: ours/bound {_num(hook['ratio'], 3)}: "
        f"{_verdict(goals['webhook_throughput']['met'])}",
        f"goal webhook p99 <= {WEBHOOK_P99_MS:g} ms at half its max rate: "
        f"{_num(goals['webhook_p99_ms_at_half_max']['value'])} ms: "
        f"{_verdict(goals['webhook_p99_ms_at_half_max']['met'])}",
    ]
    return "\n".join(lines)


# --- the command run under payments-stack exec ------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="where ours go, as JSON")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=5000, help="per closed loop")
    parser.add_argument("--warmup", type=int, default=300, help="requests before each closed loop, not counted")
    parser.add_argument("--quiet", action="store_true")
    return parser.parse_args(argv)


def main() -> int:
    args = parse_args()
    result = uvloop.run(run_ours(args))
    Path(args.out).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
