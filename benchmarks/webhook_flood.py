"""Genuine webhook latency, first alone and then under a flood of forged webhooks from the same machine.

It starts nothing but its own load; run it against a system started for it:

    flock /tmp/payments-system.lock .venv/bin/payments-stack exec -- .venv/bin/python benchmarks/webhook_flood.py
    flock /tmp/payments-system.lock make bench-flood        # the same; BENCH_FLOOD_ARGS="--rounds 5"

Genuine webhooks are properly signed SUCCESS webhooks for real payments, created through the client
API beforehand and left pending at the mock gateway (`pending@razorpay`, which sends no webhook of its
own). Each round sends `--payments` of them at a steady rate (open loop: each is sent at its scheduled
time, whatever the previous ones are doing) and records every answer's latency. Flood rounds run,
meanwhile, `--flood-processes` processes of `--flood-connections` keep-alive connections each, posting
forged webhooks (a wrong secret's signature over a plausible body, or no signature headers, or a stale
timestamp) as fast as the answers come back, from 127.0.0.1 like the genuine ones. Rounds alternate,
baseline first, so drift (a warming cache, a growing table) hits both alike.

Printed: per round p50/p99/max and the genuine answers that were not 200; for flood rounds, the flood's
request rate and its answers by status; the webhook gateway's CPU use (from /proc, by the stack's pid
file); then the medians of p99 (and p50) over the baseline and the flood rounds and their ratio. The
goal is a flood/baseline p99 ratio within 2. At the end a sample of the orders is checked to have
become PAID, so the genuine webhooks are known to have been applied, not only answered. The exit
status is 0 unless the run itself failed: a genuine webhook not answered 200, or a sampled order not
PAID (the flood must not starve them). The ratio is reported, not judged by the exit status.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import math
import multiprocessing
import os
import random
import statistics
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from multiprocessing.synchronize import Event as EventType
from pathlib import Path
from typing import Any

import aiohttp
from yarl import URL

FORGERIES = ("bad-signature", "no-headers", "stale-timestamp")
# how long a flood process flooded, reported beside its answer counts
ELAPSED_MS = "elapsed_ms"


def need(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise SystemExit(f"webhook_flood: {name} is not set; run it under `payments-stack exec` (see --help)")
    return value


def webhook_key(secrets: str) -> bytes:
    first = secrets.split(",")[0].strip().removeprefix("whsec_")
    return base64.b64decode(first + "=" * (-len(first) % 4))


def signed_headers(key: bytes, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    event_id = f"evt_bench_{uuid.uuid4().hex}"
    ts = str(int(time.time()) if timestamp is None else timestamp)
    mac = hmac.new(key, f"{event_id}.{ts}.".encode() + body, hashlib.sha256).digest()
    return {
        "content-type": "application/json",
        "webhook-id": event_id,
        "webhook-timestamp": ts,
        "webhook-signature": "v1," + base64.b64encode(mac).decode(),
    }


def percentile(values: list[float], p: float) -> float:
    """Nearest rank: the smallest value with at least p % of the values at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


# --- the genuine side -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Target:
    api_url: str
    webhook_url: str
    webhook_key: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class Payment:
    order_id: str
    payment_id: str
    gateway_payment_id: str
    signature: str
    key: tuple[str, str] = field(repr=False)  # the merchant's API key, which alone may read the order


async def api_call(session: aiohttp.ClientSession, method: str, url: str, **kwargs: Any) -> Any:
    """One client API call, waiting out a 429 as its Retry-After says."""
    for _ in range(20):
        async with session.request(method, url, **kwargs) as response:
            if response.status == 429:
                await asyncio.sleep(float(response.headers.get("Retry-After", "1")))
                continue
            body = await response.json()
            if response.status >= 300:
                raise RuntimeError(f"{method} {url}: {response.status} {body}")
            return body
    raise RuntimeError(f"{method} {url}: still rate limited")


async def create_payments(api_url: str, keys: list[tuple[str, str]], count: int, rate: float) -> list[Payment]:
    """`count` payments left pending at the gateway, at most `rate` API calls a second per key."""
    sessions = [
        aiohttp.ClientSession(base_url=api_url, headers={"Authorization": aiohttp.encode_basic_auth(*key)})
        for key in keys
    ]
    payments: list[Payment] = []
    failures: list[str] = []
    pace = asyncio.Semaphore(16)

    async def one(n: int, started: float) -> None:
        session, key = sessions[n % len(sessions)], keys[n % len(keys)]
        # two calls per payment, spread over the keys
        await asyncio.sleep(max(0.0, started + n * 2 / (rate * len(sessions)) - time.monotonic()))
        async with pace:
            try:
                order = await api_call(session, "POST", "/orders", json={"amount": 1500, "currency": "INR"})
                method = {"type": "upi", "vpa": "pending@razorpay"}
                payment = await api_call(
                    session, "POST", "/payments/initiate", json={"orderId": order["orderId"], "method": method}
                )
            except (RuntimeError, aiohttp.ClientError) as exc:
                failures.append(str(exc))
                return
        payments.append(
            Payment(order["orderId"], payment["paymentId"], payment["gatewayPaymentId"], payment["signature"], key)
        )

    try:
        # a payment that could not be made (an error of the system under test) is replaced, and reported
        while len(payments) < count and len(failures) <= count // 10:
            started = time.monotonic()
            await asyncio.gather(*(one(n, started) for n in range(count - len(payments))))
    finally:
        for session in sessions:
            await session.close()
    if failures:
        print(f"  {len(failures)} payments could not be created, e.g. {failures[0]}", flush=True)
    if len(payments) < count:
        raise SystemExit(f"webhook_flood: only {len(payments)} of {count} payments could be created")
    return payments


@dataclass(slots=True)
class Round:
    kind: str  # "baseline" or "flood"
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    late_starts_ms: list[float] = field(default_factory=list)
    flood_statuses: Counter[str] = field(default_factory=Counter)
    flood_rate: float = 0.0
    gateway_cpu: float | None = None

    def summary(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "sent": len(self.latencies_ms),
            "p50_ms": round(percentile(self.latencies_ms, 50), 2),
            "p99_ms": round(percentile(self.latencies_ms, 99), 2),
            "max_ms": round(max(self.latencies_ms), 2),
            "not_200": {str(k): v for k, v in self.statuses.items() if k != 200},
            "sender_late_p99_ms": round(percentile(self.late_starts_ms, 99), 2),
            "flood_requests_per_second": round(self.flood_rate),
            "flood_answers": dict(self.flood_statuses),
            "gateway_cpu_percent": None if self.gateway_cpu is None else round(self.gateway_cpu),
        }


async def send_genuine(
    session: aiohttp.ClientSession, target: Target, payments: list[Payment], rate: float, result: Round
) -> None:
    start = time.perf_counter() + 0.05

    async def one(n: int, payment: Payment) -> None:
        scheduled = start + n / rate
        await asyncio.sleep(max(0.0, scheduled - time.perf_counter()))
        body = json.dumps(
            {
                "orderId": payment.order_id,
                "paymentId": payment.payment_id,
                "gatewayPaymentId": payment.gateway_payment_id,
                "signature": payment.signature,
                "status": "SUCCESS",
                "amount": 1500,
                "currency": "INR",
            }
        ).encode()
        headers = signed_headers(target.webhook_key, body)
        sent = time.perf_counter()
        async with session.post(f"{target.webhook_url}/webhook/payment", data=body, headers=headers) as response:
            await response.read()
            status = response.status
        result.latencies_ms.append((time.perf_counter() - sent) * 1000)
        result.late_starts_ms.append((sent - scheduled) * 1000)
        result.statuses[status] += 1

    await asyncio.gather(*(one(n, payment) for n, payment in enumerate(payments)))


# --- the flood --------------------------------------------------------------------------------


def forged_request(host: str, port: int, forgery: str) -> bytes:
    body = json.dumps(
        {
            "orderId": f"order_{uuid.uuid4()}",
            "paymentId": f"pay_{uuid.uuid4()}",
            "gatewayPaymentId": f"gw_{uuid.uuid4()}",
            "signature": "0" * 64,
            "status": "SUCCESS",
            "amount": 1500,
            "currency": "INR",
        }
    ).encode()
    headers = {"content-type": "application/json"}
    if forgery == "bad-signature":
        headers = signed_headers(os.urandom(32), body)
    elif forgery == "stale-timestamp":
        headers = signed_headers(os.urandom(32), body, timestamp=int(time.time()) - 3600)
    head = ["POST /webhook/payment HTTP/1.1", f"Host: {host}:{port}", f"Content-Length: {len(body)}"]
    head += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


async def flood_connection(
    host: str, port: int, request: bytes, stop: EventType, ready: EventType, counts: Counter[str]
) -> None:
    while not stop.is_set():
        try:
            reader, writer = await asyncio.open_connection(host, port)
        except OSError:
            counts["connect_error"] += 1
            await asyncio.sleep(0.01)
            continue
        try:
            while not stop.is_set():
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                status = head.split(b" ", 2)[1].decode()
                length, close = 0, False
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                    elif name.strip().lower() == b"connection" and value.strip().lower() == b"close":
                        close = True
                await reader.readexactly(length)
                counts[status] += 1
                ready.set()
                if close:
                    break
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            counts["connection_lost"] += 1
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


def flood_process(
    webhook_url: str,
    forgery: str,
    connections: int,
    stop: EventType,
    ready: EventType,
    results: multiprocessing.Queue[dict[str, int]],
) -> None:
    """One flood process; `ready` is set once its flood gets answers, `results` gets its counts at the end."""
    url = URL(webhook_url)
    host, port = url.host or "127.0.0.1", url.port or 80
    counts: Counter[str] = Counter()

    async def run() -> None:
        request = forged_request(host, port, forgery)
        started = time.monotonic()
        tasks = [
            asyncio.create_task(flood_connection(host, port, request, stop, ready, counts)) for _ in range(connections)
        ]
        await asyncio.to_thread(stop.wait)
        counts[ELAPSED_MS] = round((time.monotonic() - started) * 1000)
        await asyncio.wait(tasks, timeout=5)
        for task in tasks:
            task.cancel()

    asyncio.run(run())
    results.put(dict(counts))


# --- the gateway's CPU use ----------------------------------------------------------------------


def process_cpu_seconds(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    # utime and stime, the 14th and 15th fields (counted from 1, with pid and comm before the ")")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def gateway_pid() -> int | None:
    run_dir = Path(os.environ.get("PAYMENTS_RUN_DIR", ".run"))
    try:
        return int((run_dir / "pids" / "webhook-gateway.pid").read_text())
    except (OSError, ValueError):
        return None


# --- rounds -------------------------------------------------------------------------------------


async def run_round(
    kind: str, args: argparse.Namespace, target: Target, payments: list[Payment], session: aiohttp.ClientSession
) -> Round:
    result = Round(kind)
    context = multiprocessing.get_context("spawn")
    stop = context.Event()
    queue: multiprocessing.Queue[dict[str, int]] = context.Queue()
    workers = []
    if kind == "flood":
        readies = [context.Event() for _ in range(args.flood_processes)]
        workers = [
            context.Process(
                target=flood_process,
                args=(target.webhook_url, args.forgery, args.flood_connections, stop, ready, queue),
                daemon=True,
            )
            for ready in readies
        ]
        for worker in workers:
            worker.start()
        # measured once every process floods, and the flood's first moments (its burst within the
        # unverified budget, the first answers coming back) are over: the steady state is what counts
        if not await asyncio.to_thread(lambda: all(ready.wait(60) for ready in readies)):
            raise SystemExit("webhook_flood: the flood processes got no answer within 60 s")
        await asyncio.sleep(args.flood_warmup)
    pid = gateway_pid()
    cpu_before = process_cpu_seconds(pid) if pid else None
    wall_started = time.monotonic()
    await send_genuine(session, target, payments, args.rate, result)
    wall = time.monotonic() - wall_started
    cpu_after = process_cpu_seconds(pid) if pid else None
    if cpu_before is not None and cpu_after is not None:
        result.gateway_cpu = (cpu_after - cpu_before) / wall * 100
    if workers:
        stop.set()
        for _ in workers:
            counts = queue.get(timeout=30)
            elapsed = counts.pop(ELAPSED_MS, 0) / 1000
            answered = sum(n for status, n in counts.items() if status.isdigit())
            result.flood_rate += answered / elapsed if elapsed else 0.0
            result.flood_statuses.update(counts)
        for worker in workers:
            worker.join(timeout=10)
        await asyncio.sleep(args.pause)  # the gateway drains what the flood left before the next baseline
    return result


def report(rounds: list[Round], as_json: bool) -> dict[str, Any]:
    summaries = [r.summary() for r in rounds]
    baseline = [s for s in summaries if s["kind"] == "baseline"]
    flood = [s for s in summaries if s["kind"] == "flood"]
    result: dict[str, Any] = {"rounds": summaries}
    for name in ("p99_ms", "p50_ms"):
        base = statistics.median(s[name] for s in baseline)
        under = statistics.median(s[name] for s in flood)
        result[f"median_{name}"] = {"baseline": base, "flood": under, "ratio": round(under / base, 2)}
    result["goal_p99_ratio_within_2"] = result["median_p99_ms"]["ratio"] <= 2.0
    result["genuine_not_200"] = sum(sum(s["not_200"].values()) for s in summaries)
    if as_json:
        print(json.dumps(result, indent=2))
        return result
    print(f"{'round':<10} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'not 200':>8} {'gw CPU':>7}  flood")
    for n, s in enumerate(summaries, 1):
        flood_text = ""
        if s["kind"] == "flood":
            answers = ", ".join(f"{k}: {v}" for k, v in sorted(s["flood_answers"].items()))
            flood_text = f"{s['flood_requests_per_second']} req/s ({answers})"
        cpu = "-" if s["gateway_cpu_percent"] is None else f"{s['gateway_cpu_percent']}%"
        not_200 = sum(s["not_200"].values())
        latencies = f"{s['p50_ms']:>8} {s['p99_ms']:>8} {s['max_ms']:>8}"
        print(f"{n:>2} {s['kind']:<7} {latencies} {not_200:>8} {cpu:>7}  {flood_text}")
    for name in ("p99_ms", "p50_ms"):
        m = result[f"median_{name}"]
        print(f"median {name[:3]}: baseline {m['baseline']} ms, flood {m['flood']} ms, ratio {m['ratio']}")
    verdict = "met" if result["goal_p99_ratio_within_2"] else "NOT met"
    print(f"goal (flood p99 within 2x of baseline p99): {verdict}; genuine not 200: {result['genuine_not_200']}")
    return result


async def main(args: argparse.Namespace) -> int:
    keys = [tuple(item.strip().split(":", 1)) for item in need("API_KEYS").split(",") if item.strip()]
    target = Target(need("API_URL").rstrip("/"), need("WEBHOOK_URL").rstrip("/"), webhook_key(need("WEBHOOK_SECRETS")))
    total = args.payments * args.rounds * 2 + args.warmup_webhooks
    print(
        f"creating {total} pending payments; then {args.rounds} baseline and {args.rounds} flood rounds of "
        f"{args.payments} genuine webhooks at {args.rate}/s; flood: {args.flood_processes} processes x "
        f"{args.flood_connections} connections, {args.forgery}",
        flush=True,
    )
    payments = await create_payments(target.api_url, [(k[0], k[1]) for k in keys], total, args.api_rate)
    connector = aiohttp.TCPConnector(limit=args.sender_connections)
    async with aiohttp.ClientSession(connector=connector) as session:
        warmup, payments = payments[: args.warmup_webhooks], payments[args.warmup_webhooks :]
        if warmup:
            await send_genuine(session, target, warmup, args.rate, Round("warmup"))
        rounds = []
        for n in range(args.rounds * 2):
            kind = "baseline" if n % 2 == 0 else "flood"
            batch = payments[n * args.payments : (n + 1) * args.payments]
            rounds.append(await run_round(kind, args, target, batch, session))
            last = rounds[-1].summary()
            print(f"  round {n + 1} ({kind}): p50 {last['p50_ms']} ms, p99 {last['p99_ms']} ms", flush=True)
    applied, sampled = await orders_paid(target.api_url, random.sample(payments, min(len(payments), args.check)))
    result = report(rounds, args.json)
    print(f"genuine webhooks applied: {applied} of {sampled} sampled orders PAID", flush=True)
    return 1 if result["genuine_not_200"] or applied < sampled else 0


async def orders_paid(api_url: str, sample: list[Payment], within: float = 60.0) -> tuple[int, int]:
    """How many of the sampled orders the genuine webhooks made PAID (each waited for up to `within` s)."""
    deadline = time.monotonic() + within

    async def paid(payment: Payment) -> bool:
        auth = {"Authorization": aiohttp.encode_basic_auth(*payment.key)}
        async with aiohttp.ClientSession(base_url=api_url, headers=auth) as session:
            while time.monotonic() < deadline:
                if (await api_call(session, "GET", f"/orders/{payment.order_id}"))["status"] == "PAID":
                    return True
                await asyncio.sleep(0.5)
        return False

    results = await asyncio.gather(*(paid(payment) for payment in sample))
    return sum(results), len(sample)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--payments", type=int, default=300, help="genuine webhooks per round (default 300)")
    parser.add_argument("--rate", type=float, default=100.0, help="genuine webhooks per second (default 100)")
    parser.add_argument("--rounds", type=int, default=3, help="baseline/flood pairs (default 3)")
    parser.add_argument("--flood-processes", type=int, default=2, help="default 2")
    parser.add_argument("--flood-connections", type=int, default=32, help="per process (default 32)")
    parser.add_argument("--forgery", choices=FORGERIES, default="bad-signature")
    parser.add_argument(
        "--flood-warmup", type=float, default=2.0, help="seconds of flood before measuring, once it is answered"
    )
    parser.add_argument("--pause", type=float, default=1.0, help="seconds after a flood round")
    parser.add_argument("--warmup-webhooks", type=int, default=50, help="genuine webhooks sent before round 1")
    parser.add_argument("--sender-connections", type=int, default=16, help="the genuine sender's pool size")
    parser.add_argument("--api-rate", type=float, default=100.0, help="client API calls per second per key")
    parser.add_argument("--check", type=int, default=30, help="orders checked to be PAID at the end (default 30)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    return parser.parse_args()


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse_args())))
