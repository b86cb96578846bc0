"""The load: orders and payment attempts through the client API, paced so a fault hits them in flight.

Each order carries its phase in `receipt`, so the checker finds it even when the answer to its
creation was lost to the fault. Every call is retried through whatever fault is going on until it
gets a definite answer or the deadline passes; an initiate whose answer was lost is recognised by
the 409 of the retry (`PAYMENT_IN_PROGRESS`, `ORDER_ALREADY_PAID`).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp

# test values of the mock gateway, chosen per payment in `method.vpa`, with their weights
VPA_MIX: tuple[tuple[str, int], ...] = (
    ("success@razorpay", 56),
    ("failure@razorpay", 12),
    ("pending@razorpay", 8),
    ("success.duplicate@razorpay", 10),
    ("failure.late-success@razorpay", 6),
    ("success.timeout.delay.reorder@razorpay", 8),
)
RECEIPT_PREFIX = "chaos-p"
CALL_DEADLINE_SECONDS = 120.0
REQUEST_TIMEOUT_SECONDS = 15.0


def phase_prefix(phase: int) -> str:
    return f"{RECEIPT_PREFIX}{phase:02d}-"


def receipt_for(phase: int, index: int) -> str:
    return f"{phase_prefix(phase)}{index:05d}"


def choose_vpas(count: int, seed: int, mix: Sequence[tuple[str, int]] = VPA_MIX) -> list[str]:
    """`count` test values in the mix's proportions (largest remainders), each at least once when there
    is room, in a seeded random order."""
    total = sum(weight for _, weight in mix)
    exact = [count * weight / total for _, weight in mix]
    shares = [int(x) for x in exact]
    by_remainder = sorted(range(len(mix)), key=lambda i: exact[i] - shares[i], reverse=True)
    for i in by_remainder[: count - sum(shares)]:
        shares[i] += 1
    if count >= len(mix):
        for i, share in enumerate(shares):
            if share == 0:
                shares[i] = 1
                shares[shares.index(max(shares))] -= 1
    chosen = [vpa for (vpa, _), share in zip(mix, shares, strict=True) for _ in range(share)]
    random.Random(seed).shuffle(chosen)
    return chosen


@dataclass(slots=True)
class Started:
    receipt: str
    vpa: str
    order_id: str | None = None
    payment_id: str | None = None
    # initiated | in_progress | already_paid | gave_up: <why>
    outcome: str = "not started"
    retries: int = 0


@dataclass(slots=True)
class LoadStats:
    started: list[Started] = field(default_factory=list)

    @property
    def with_attempt(self) -> int:
        return sum(1 for s in self.started if s.outcome in ("initiated", "in_progress", "already_paid"))

    @property
    def retries(self) -> int:
        return sum(s.retries for s in self.started)

    def gave_up(self) -> list[Started]:
        return [s for s in self.started if s.outcome.startswith("gave_up")]


class Unanswered(Exception):
    """No definite answer before the deadline."""


class Client:
    """The client API as a merchant uses it, with retries through faults."""

    def __init__(self, base_url: str, key: tuple[str, str], deadline_seconds: float = CALL_DEADLINE_SECONDS) -> None:
        self._base_url = base_url.rstrip("/")
        self._auth = aiohttp.BasicAuth(*key)
        self._deadline_seconds = deadline_seconds
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Client:
        self._session = aiohttp.ClientSession(
            auth=self._auth,
            timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_SECONDS),
            connector=aiohttp.TCPConnector(limit=64, force_close=True),
        )
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._session is not None:
            await self._session.close()

    async def request(
        self, method: str, path: str, body: dict[str, Any] | None = None, started: Started | None = None
    ) -> tuple[int, dict[str, Any]]:
        """A 2xx or 4xx answer; connection errors, timeouts and 5xx are retried until the deadline."""
        assert self._session is not None
        deadline = time.monotonic() + self._deadline_seconds
        delay = 0.2
        last = ""
        while True:
            try:
                async with self._session.request(method, self._base_url + path, json=body) as response:
                    status = response.status
                    payload = await response.json(content_type=None) if response.content_length != 0 else {}
                    if status < 500:
                        return status, payload if isinstance(payload, dict) else {}
                    last = f"{status} {payload}"[:200]
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                last = type(exc).__name__
            if time.monotonic() + delay > deadline:
                raise Unanswered(f"{method} {path}: no answer in {self._deadline_seconds:.0f} s (last: {last})")
            if started is not None:
                started.retries += 1
            await asyncio.sleep(delay * random.uniform(0.5, 1.5))
            delay = min(delay * 2, 2.0)

    async def create_order(self, receipt: str, amount: int, started: Started | None = None) -> str:
        status, body = await self.request(
            "POST", "/orders", {"amount": amount, "currency": "INR", "receipt": receipt}, started
        )
        if status != 201:
            raise Unanswered(f"POST /orders answered {status}: {body}")
        return str(body["orderId"])

    async def get_order(self, order_id: str) -> dict[str, Any]:
        status, body = await self.request("GET", f"/orders/{order_id}")
        if status != 200:
            raise Unanswered(f"GET /orders/{order_id} answered {status}: {body}")
        return body

    async def initiate(self, started: Started) -> None:
        """Start a payment for `started.order_id`, or find the one an earlier, unanswered try started."""
        assert started.order_id is not None
        body = {"orderId": started.order_id, "method": {"type": "upi", "vpa": started.vpa}}
        status, answer = await self.request("POST", "/payments/initiate", body, started)
        if status == 201:
            started.payment_id = str(answer["paymentId"])
            started.outcome = "initiated"
            return
        code = answer.get("error", {}).get("code") if isinstance(answer.get("error"), dict) else None
        if status == 409 and code in ("PAYMENT_IN_PROGRESS", "ORDER_ALREADY_PAID"):
            order = await self.get_order(started.order_id)
            latest = order.get("payment") or {}
            started.payment_id = latest.get("id")
            started.outcome = "in_progress" if code == "PAYMENT_IN_PROGRESS" else "already_paid"
            return
        started.outcome = f"gave_up: initiate answered {status} {code}"


async def start_payment(client: Client, started: Started, amount: int) -> None:
    try:
        if started.order_id is None:
            started.order_id = await client.create_order(started.receipt, amount, started)
        await client.initiate(started)
    except Unanswered as exc:
        started.outcome = f"gave_up: {exc}"


async def run_load(
    client: Client,
    phase: int,
    count: int,
    *,
    rate: float,
    concurrency: int,
    seed: int,
) -> LoadStats:
    """Start `count` payments at `rate` per second, at most `concurrency` at once."""
    rng = random.Random(seed * 7919 + phase)
    vpas = choose_vpas(count, seed * 31 + phase)
    stats = LoadStats([Started(receipt_for(phase, i), vpa) for i, vpa in enumerate(vpas)])
    gate = asyncio.Semaphore(concurrency)
    t0 = time.monotonic()

    async def one(index: int, started: Started) -> None:
        await asyncio.sleep(max(0.0, t0 + index / rate - time.monotonic()))
        async with gate:
            await start_payment(client, started, rng.randrange(100, 500_000))

    await asyncio.gather(*(one(i, s) for i, s in enumerate(stats.started)))
    return stats
