"""The bounds the system is held against, each measured in the same run and on the same machine:

- ingress: `baseline_apps ingress` (verify the Standard Webhooks signature, publish with confirms),
  POSTed the same size of signed webhook by the same load generator at the same load;
- orders: `baseline_apps orders` (HTTP Basic, one INSERT of the order row), the same POST /orders;
- broker: raw aio-pika, a publisher with confirms and a consumer on its own connection, one message of
  the webhook's size per operation, the same load; latency publish → confirmed and publish → consumed;
- database: pgbench running `lifecycle.pgbench.sql`, the SQL the services issue for one lifecycle, as
  one script per lifecycle (so its transactions per second are lifecycles per second).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aio_pika
import aiohttp

from benchmarks import baseline_apps
from benchmarks.load import Load, Progress, drive, summary
from benchmarks.procstat import CpuSample

PGBENCH_SQL = Path(__file__).with_name("lifecycle.pgbench.sql")
BROKER_QUEUE = "bench.baseline.broker"


def signed_webhook(key: bytes, size: int) -> tuple[bytes, dict[str, str]]:
    """A payment webhook's shape and size, signed as the mock gateway signs it."""
    body = {
        "orderId": f"order_{uuid.uuid4().hex[:20]}",
        "paymentId": f"pay_{uuid.uuid4().hex[:20]}",
        "gatewayPaymentId": f"gw_{uuid.uuid4().hex[:20]}",
        "signature": "0" * 64,
        "status": "SUCCESS",
        "amount": 1500,
        "currency": "INR",
    }
    raw = json.dumps(body).encode()
    if len(raw) < size:
        body["pad"] = "x" * (size - len(raw) - 10)
        raw = json.dumps(body).encode()
    event_id, stamp = f"evt_{uuid.uuid4().hex}", str(int(time.time()))
    mac = hmac.new(key, f"{event_id}.{stamp}.".encode() + raw, hashlib.sha256).digest()
    headers = {
        "content-type": "application/json",
        "webhook-id": event_id,
        "webhook-timestamp": stamp,
        "webhook-signature": "v1," + base64.b64encode(mac).decode(),
    }
    return raw, headers


async def _wait_healthy(url: str, process: asyncio.subprocess.Process) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(150):
            if process.returncode is not None:
                raise RuntimeError(f"{url}: the baseline app exited with {process.returncode}")
            try:
                async with session.get(url) as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{url}: the baseline app did not answer")


async def app_baseline(
    kind: str, port: int, env: dict[str, str], plan: list[tuple[Load, int]], quiet: bool, body_size: int = 300
) -> list[dict[str, Any]]:
    """Start one minimal app, drive it with each (load, operations) of `plan`, stop it."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "benchmarks.baseline_apps", kind, "--port", str(port), env={**os.environ, **env}
    )
    base = f"http://127.0.0.1:{port}"
    results = []
    try:
        await _wait_healthy(f"{base}/health", process)
        key = base64.b64decode(env["WEBHOOK_SECRETS"].removeprefix("whsec_"))
        key_id, secret = env["API_KEYS"].split(",")[0].split(":", 1)
        auth = aiohttp.encode_basic_auth(key_id, secret)
        for load, n in plan:
            latencies: list[float] = []
            connector = aiohttp.TCPConnector(limit=max(load.concurrency or 0, 64) * 2)
            async with aiohttp.ClientSession(base_url=base, connector=connector) as session:

                async def op(i: int, session: aiohttp.ClientSession = session, lat: list[float] = latencies) -> None:
                    if kind == "ingress":
                        body, headers = signed_webhook(key, body_size)
                        path = "/webhook/payment"
                    else:
                        body = json.dumps({"amount": 1500 + i % 1000, "currency": "INR"}).encode()
                        headers, path = {"content-type": "application/json", "Authorization": auth}, "/orders"
                    started = time.perf_counter()
                    async with session.post(path, data=body, headers=headers) as response:
                        await response.read()
                        if response.status >= 300:
                            raise RuntimeError(f"{kind}: {response.status}")
                    lat.append((time.perf_counter() - started) * 1000)

                before = CpuSample.take({kind: process.pid}, infra=True)
                outcome = await drive(n, op, load, Progress(n, f"{kind} bound, {load.label}", enabled=not quiet))
                cpu = CpuSample.take({kind: process.pid}, infra=True).since(before)
            results.append(
                {
                    "load": load.label,
                    "x": load.x,
                    **outcome.as_dict(),
                    "per_second": round(outcome.completed / outcome.elapsed, 2),
                    "latency": summary(latencies),
                    "cpu_seconds": cpu,
                }
            )
    finally:
        process.terminate()
        await process.wait()
    return results


async def broker_baseline(amqp_url: str, plan: list[tuple[Load, int]], size: int, quiet: bool) -> list[dict[str, Any]]:
    publisher = await aio_pika.connect_robust(amqp_url)
    consumer = await aio_pika.connect_robust(amqp_url)
    results = []
    try:
        channel = await publisher.channel(publisher_confirms=True, on_return_raises=True)
        queue = await channel.declare_queue(BROKER_QUEUE, durable=True, arguments=baseline_apps.QUORUM)
        await queue.purge()
        consume_channel = await consumer.channel()
        await consume_channel.set_qos(prefetch_count=32)
        consume_queue = await consume_channel.declare_queue(BROKER_QUEUE, durable=True, arguments=baseline_apps.QUORUM)
        end_to_end: list[float] = []
        received = asyncio.Event()
        expected = [0]

        async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            async with message.process():
                end_to_end.append((time.time() - float(message.headers["sent"])) * 1000)  # type: ignore[arg-type]
                if len(end_to_end) >= expected[0]:
                    received.set()

        await consume_queue.consume(on_message)
        for load, n in plan:
            confirms: list[float] = []
            end_to_end.clear()
            received.clear()
            expected[0] = n
            payload = b"x" * size

            async def op(i: int, lat: list[float] = confirms, payload: bytes = payload) -> None:
                started = time.perf_counter()
                message = aio_pika.Message(
                    payload, delivery_mode=aio_pika.DeliveryMode.PERSISTENT, headers={"sent": str(time.time())}
                )
                await channel.default_exchange.publish(message, routing_key=BROKER_QUEUE, mandatory=True, timeout=5)
                lat.append((time.perf_counter() - started) * 1000)

            before = CpuSample.take({}, infra=True)
            outcome = await drive(n, op, load, Progress(n, f"broker bound, {load.label}", enabled=not quiet))
            await asyncio.wait_for(received.wait(), 60)
            elapsed = time.monotonic() - outcome.started
            cpu = CpuSample.take({}, infra=True).since(before)
            results.append(
                {
                    "load": load.label,
                    "x": load.x,
                    **outcome.as_dict(),
                    "elapsed_s": round(elapsed, 3),
                    "per_second": round(len(end_to_end) / elapsed, 2),
                    "message_bytes": size,
                    "latency": summary(confirms),
                    "latency_end_to_end": summary(end_to_end),
                    "cpu_seconds": cpu,
                }
            )
    finally:
        await consumer.close()
        with contextlib.suppress(Exception):
            await channel.queue_delete(BROKER_QUEUE)
        await publisher.close()
    return results


def pgbench_path() -> str | None:
    found = shutil.which("pgbench")
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/pgbench"))
    return str(candidates[-1]) if candidates else None


def pgbench_baseline(dsn: str, clients: int, seconds: float, label: str, x: float) -> dict[str, Any]:
    """pgbench -M prepared over the lifecycle script; per-lifecycle latencies from its transaction log."""
    binary = pgbench_path()
    if binary is None:
        return {"load": label, "x": x, "error": "pgbench not found"}
    with tempfile.TemporaryDirectory() as tmp:
        command = [
            binary,
            "-n",
            "-M",
            "prepared",
            # many clients claiming due deliveries at once can deadlock where the one delivery worker cannot
            "--max-tries",
            "5",
            "-f",
            str(PGBENCH_SQL),
            "-c",
            str(clients),
            "-j",
            str(min(clients, os.cpu_count() or 2)),
            "-T",
            str(max(1, round(seconds))),
            "-l",
            "--log-prefix",
            f"{tmp}/pgb",
            dsn,
        ]
        before = CpuSample.take({}, infra=True)
        # the script names every table with its schema, but order-svc's triggers (merchant_of_order) name
        # theirs bare and run in the session's search_path: order-svc's own, as its connections set it
        env = {**os.environ, "PGOPTIONS": "-c search_path=orders"}
        done = subprocess.run(command, capture_output=True, text=True, check=False, env=env)  # noqa: S603
        cpu = CpuSample.take({}, infra=True).since(before)
        latencies = []
        for log in Path(tmp).glob("pgb*"):
            for line in log.read_text().splitlines():
                fields = line.split()
                if len(fields) > 2 and fields[2].isdigit():  # else "failed" or "skipped"
                    latencies.append(int(fields[2]) / 1000)
    if done.returncode != 0:
        return {"load": label, "x": x, "error": done.stderr.strip()[-500:]}
    tps = re.search(r"tps = ([0-9.]+) \(without initial", done.stdout)
    failed = re.search(r"number of failed transactions: (\d+)", done.stdout)
    retried = re.search(r"number of transactions retried: (\d+)", done.stdout)
    return {
        "load": label,
        "x": x,
        "clients": clients,
        "seconds": seconds,
        "per_second": round(float(tps.group(1)), 2) if tps else None,
        "failed": int(failed.group(1)) if failed else 0,
        "retried": int(retried.group(1)) if retried else 0,
        "latency": summary(latencies),
        "cpu_seconds": cpu,
    }
