"""Merchants' servers for the merchant-webhooks tests: real aiohttp servers on 127.0.0.1 that record every
request and answer as each test scripts them, and the pieces that run the delivery side on a fresh schema."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import orjson
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.test_utils import TestServer

from merchant_webhooks.deliveries.domain import RetryPolicy
from merchant_webhooks.deliveries.messages import EVENTS_CONSUMER
from merchant_webhooks.deliveries.service import receive_event
from merchant_webhooks.deliveries.worker import DeliveryWorker, WorkerConfig
from merchant_webhooks.egress.client import EndpointClient
from merchant_webhooks.egress.domain import EgressRules
from payments_common.events import MerchantEvent
from payments_common.inbox import claim_once

LOCAL = EgressRules(allowed_http_hosts=frozenset({"127.0.0.1", "localhost"}))
FAST_RETRIES = RetryPolicy(retry_for_seconds=60, base_seconds=0.05, max_delay_seconds=0.2, disable_after_seconds=3600)


@dataclass
class Received:
    path: str
    body: bytes
    headers: dict[str, str]
    at: float


# a script answers one request: the status, after an optional pause (a hanging endpoint pauses long)
Script = Callable[[web.Request, int], Awaitable[web.StreamResponse]]


def ok() -> Script:
    async def answer(_: web.Request, __: int) -> web.StreamResponse:
        return web.Response(status=200, text="ok")

    return answer


def fail_then_ok(failures: int) -> Script:
    async def answer(_: web.Request, n: int) -> web.StreamResponse:
        return web.Response(status=500 if n <= failures else 200, text="down" if n <= failures else "ok")

    return answer


def status(code: int, headers: dict[str, str] | None = None) -> Script:
    async def answer(_: web.Request, __: int) -> web.StreamResponse:
        return web.Response(status=code, headers=headers)

    return answer


def hang(seconds: float) -> Script:
    async def answer(_: web.Request, __: int) -> web.StreamResponse:
        await asyncio.sleep(seconds)
        return web.Response(status=200)

    return answer


@dataclass
class Receiver:
    """One server; each path is an endpoint with its own script (default: 200)."""

    server: TestServer | None = None
    scripts: dict[str, Script] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)

    def url(self, path: str) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.port}{path}"

    def at(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.received.append(Received(request.path, body, dict(request.headers), time.monotonic()))
        n = len(self.at(request.path))
        return await self.scripts.get(request.path, ok())(request, n)


@contextlib.asynccontextmanager
async def receiver() -> AsyncIterator[Receiver]:
    found = Receiver()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", found._handle)
    found.server = TestServer(app, host="127.0.0.1")
    await found.server.start_server()
    try:
        yield found
    finally:
        await found.server.close()


class MapResolver(AbstractResolver):
    """Names resolved from a table the test controls (and may change: DNS rebinding); every other name
    through the system's resolver is refused, so no test depends on the network's DNS."""

    def __init__(self, table: dict[str, str]) -> None:
        self.table = table

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if host not in self.table:
            raise OSError(f"{host} is unknown to the test's resolver")
        address = self.table[host]
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
        ]

    async def close(self) -> None:
        return None


def merchant_event(merchant_id: str, event: str = "payment.captured", **payment: Any) -> MerchantEvent:
    entity = {"id": f"pay_{uuid.uuid4().hex[:14]}", "entity": "payment", "amount": 5000, "currency": "INR", **payment}
    return MerchantEvent(
        id=f"evt_{uuid.uuid4().hex[:20]}",
        merchant_id=merchant_id,
        event=event,  # type: ignore[arg-type]
        contains=["payment"],
        payload={"payment": {"entity": entity}},
        created_at=int(time.time()),
    )


async def deliver_event(pool: asyncpg.Pool, event: MerchantEvent, message_id: str | None = None) -> None:
    """What the consumer does with a message of `event`: claimed once, stored and fanned out."""
    step = claim_once(pool, EVENTS_CONSUMER, receive_event)
    await step(message_id or str(uuid.uuid4()), event, None)


def worker(
    pool: asyncpg.Pool,
    *,
    policy: RetryPolicy = FAST_RETRIES,
    per_endpoint: int = 4,
    max_in_flight: int = 64,
    timeout_seconds: float = 5.0,
    rules: EgressRules = LOCAL,
    resolver: AbstractResolver | None = None,
) -> tuple[DeliveryWorker, EndpointClient]:
    client = EndpointClient(rules, timeout_seconds=timeout_seconds, limit=max_in_flight, inner=resolver)
    config = WorkerConfig(
        per_endpoint=per_endpoint,
        max_in_flight=max_in_flight,
        timeout_seconds=timeout_seconds,
        poll_interval_seconds=0.05,
    )
    return DeliveryWorker(pool, client, policy, config), client


@contextlib.asynccontextmanager
async def running(delivery_worker: DeliveryWorker, client: EndpointClient) -> AsyncIterator[DeliveryWorker]:
    delivery_worker.start()
    try:
        yield delivery_worker
    finally:
        await delivery_worker.close()
        await client.close()


def body_json(received: Received) -> dict[str, Any]:
    loaded: dict[str, Any] = orjson.loads(received.body)
    return loaded
