"""Rate limits on this machine's Redis (`REDIS_URL`, default redis://127.0.0.1:6379/0): buckets shared by
two limiter instances, as two replicas would share them, and each limit's fail mode when Redis is down
(a closed port) or does not answer (a listener that never replies)."""

from __future__ import annotations

import asyncio
import base64
import gc
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest
import redis.asyncio as aioredis
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from order_svc.access import http, limits
from order_svc.access.http import merchant_of
from order_svc.access.keyring import KeyRing
from order_svc.settings import Settings as OrderSettings
from payments_common import metrics
from payments_common.http import base_app, json_response
from payments_common.ratelimit_store import KEY_PREFIX, RateLimits, RedisLimiter
from webhook_gateway.ingress.limits import IngressPolicy
from webhook_gateway.settings import Settings as GatewaySettings

from .conftest import REDIS_URL

pytestmark = pytest.mark.integration

MERCHANT = ("rzp_test_redis_a", "secret-of-merchant-redis-a")
WRONG = (MERCHANT[0], "not-the-secret")
SLOW = 0.001

Client = TestClient[Any, Any]


@pytest.fixture(autouse=True)
def frozen_heap() -> Iterator[None]:
    """What the test process holds, frozen out of the cyclic collector, as a service freezes its start-up
    objects (`payments_common.service.freeze_startup_objects`): otherwise a full collection of this large
    heap (84 ms measured) can pause the loop past a limit's 50 ms Redis timeout in the middle of a decision,
    and a fail-closed limit then refuses what it should have counted."""
    gc.collect()
    gc.freeze()
    yield
    gc.unfreeze()


def closed_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


def name() -> str:
    return f"it-{uuid.uuid4().hex[:12]}"


async def test_two_replicas_share_one_bucket(replicas: Callable[[], RateLimits]) -> None:
    limit = name()
    one, two = (store.limiter(limit, SLOW, 5, fail_open=True) for store in (replicas(), replicas()))
    answers = [await (one if n % 2 else two).acquire("203.0.113.9") for n in range(8)]
    assert [answer.allowed for answer in answers] == [True] * 5 + [False] * 3
    assert all(answer.retry_after > 100 for answer in answers[5:])
    # another subject has a bucket of its own
    assert (await one.acquire("203.0.113.10")).allowed


async def test_n_per_second_holds_across_replicas(replicas: Callable[[], RateLimits]) -> None:
    limit, rate, burst, seconds = name(), 20.0, 2, 1.5
    limiters = [store.limiter(limit, rate, burst, fail_open=True) for store in (replicas(), replicas())]
    allowed = 0
    deadline = time.monotonic() + seconds

    async def hammer(limiter: Any) -> None:
        nonlocal allowed
        while time.monotonic() < deadline:
            decision = await limiter.acquire("merchant")
            allowed += decision.allowed
            await asyncio.sleep(0.002)

    await asyncio.gather(*(hammer(limiter) for limiter in limiters))
    expected = burst + rate * seconds
    assert expected - 4 <= allowed <= expected + 3


async def test_buckets_expire_once_full_and_their_keys_name_no_subject(replicas: Callable[[], RateLimits]) -> None:
    limiter = replicas().limiter(name(), 2.0, 4, fail_open=True)
    assert isinstance(limiter, RedisLimiter)
    await limiter.acquire("rzp_test_secretive_key_id")
    key = limiter.key("rzp_test_secretive_key_id")
    assert key.startswith(KEY_PREFIX) and "rzp_test" not in key
    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        ttl_ms = await client.pttl(key)
        # one token to refill at 2/s: half a second, plus the margin
        assert 0 < ttl_ms <= 1500
    finally:
        await client.aclose()


@pytest.mark.parametrize("hung", [False, True], ids=["down", "hung"])
async def test_fail_open_and_fail_closed_when_redis_does_not_answer(hung: bool, silent_redis: str) -> None:
    store = RateLimits.connect(silent_redis if hung else closed_port())
    try:
        opened = store.limiter(name(), 1.0, 1, fail_open=True)
        closed = store.limiter(name(), 1.0, 1, fail_open=False)
        before = metrics.value("ratelimit_store_errors_total", {"limit": opened.name})
        started = time.monotonic()
        assert all([(await opened.acquire("k")).allowed for _ in range(3)])
        refused = await closed.acquire("k")
        assert not refused.allowed and refused.retry_after_header == "1"
        # each decision waits at most the store's short timeout
        assert time.monotonic() - started < 1.0
        assert metrics.value("ratelimit_store_errors_total", {"limit": opened.name}) == before + 3
    finally:
        await store.close()


async def order_app(redis_url: str, merchant: tuple[str, str] = MERCHANT, **overrides: Any) -> Client:
    settings = OrderSettings(
        API_KEYS=SecretStr(f"{merchant[0]}:{merchant[1]}"),
        PAYMENT_SIGNING_SECRET=SecretStr("ab" * 32),
        INTERNAL_API_TOKEN=SecretStr("internal-token-0123456789abcdef"),
        TRUSTED_PROXIES="127.0.0.1/32",
        REDIS_URL=SecretStr(redis_url),
        **overrides,
    )

    async def whoami(request: web.Request) -> web.Response:
        return json_response({"merchant": merchant_of(request)})

    app = base_app(max_body_bytes=4096)
    limits.install(app, settings, authenticate=http.auth_middleware)
    app[http.KEYS] = KeyRing.of(settings.api_keys())
    app.router.add_get("/orders/{order_id}", whoami)
    client: Client = TestClient(TestServer(app))
    await client.start_server()
    return client


async def status(client: Client, auth: tuple[str, str], source: str) -> int:
    header = "Basic " + base64.b64encode(":".join(auth).encode()).decode()
    response = await client.get("/orders/o", headers={"Authorization": header, "X-Forwarded-For": source})
    return response.status


@pytest.fixture
async def order_clients() -> AsyncIterator[Callable[..., Awaitable[Client]]]:
    clients: list[Client] = []

    async def make(redis_url: str, merchant: tuple[str, str] = MERCHANT, **overrides: Any) -> Client:
        client = await order_app(redis_url, merchant, **overrides)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()


async def test_a_guesser_across_replicas_is_limited_and_never_locks_out_the_merchant(
    order_clients: Callable[..., Awaitable[Client]],
) -> None:
    # a key id of its own per run: the buckets outlive the test in the shared Redis
    merchant = (f"rzp_test_{uuid.uuid4().hex[:12]}", "secret-of-this-run")
    wrong = (merchant[0], "not-the-secret")
    source, elsewhere = "198.51.100.20", "203.0.113.20"
    replica_a, replica_b = [
        await order_clients(REDIS_URL, merchant, AUTH_FAILURE_RATE_BURST=3, AUTH_FAILURE_RATE_PER_SECOND=SLOW)
        for _ in range(2)
    ]
    guesses = [await status(replica_a if n % 2 else replica_b, wrong, source) for n in range(6)]
    assert guesses == [401] * 3 + [429] * 3
    assert await status(replica_a, merchant, source) == 200
    assert await status(replica_b, merchant, source) == 200
    assert await status(replica_b, wrong, source) == 429
    assert await status(replica_a, wrong, elsewhere) == 401


async def test_order_svc_with_redis_down_admits_right_keys_and_refuses_wrong_ones(
    order_clients: Callable[..., Awaitable[Client]],
) -> None:
    client = await order_clients(closed_port(), MERCHANT, API_RATE_BURST=1, API_RATE_PER_SECOND=SLOW)
    # the per-key limit fails open: past its burst of 1, and still admitted
    assert [await status(client, MERCHANT, "198.51.100.7") for _ in range(3)] == [200] * 3
    # the failure limits fail closed: a wrong key gets no free tries
    assert await status(client, WRONG, "198.51.100.7") == 429


async def test_webhook_gateway_with_redis_down_passes_verified_and_refuses_unverified() -> None:
    settings = GatewaySettings(
        WEBHOOK_SECRETS=SecretStr("whsec_" + base64.b64encode(b"redis-test-webhook-secret-32byte").decode()),
        PAYMENT_SIGNING_SECRET=SecretStr("redis-test-payment-signing-secret"),
        REDIS_URL=SecretStr(closed_port()),
    )
    policy = IngressPolicy.from_settings(settings)
    try:
        assert (await policy.verified.acquire("203.0.113.1")).allowed
        assert not (await policy.unverified.acquire("203.0.113.1")).allowed
    finally:
        await policy.store.close()


async def test_webhook_gateway_replicas_share_a_source_budget() -> None:
    settings = GatewaySettings(
        WEBHOOK_SECRETS=SecretStr("whsec_" + base64.b64encode(b"redis-test-webhook-secret-32byte").decode()),
        PAYMENT_SIGNING_SECRET=SecretStr("redis-test-payment-signing-secret"),
        REDIS_URL=SecretStr(REDIS_URL),
        WEBHOOK_UNVERIFIED_RATE_BURST=2,
        WEBHOOK_UNVERIFIED_RATE_PER_SECOND=SLOW,
    )
    one, two = IngressPolicy.from_settings(settings), IngressPolicy.from_settings(settings)
    source = f"it-source-{uuid.uuid4().hex}"  # a bucket of its own per run
    try:
        answers = [await (one if n % 2 else two).unverified.acquire(source) for n in range(3)]
        assert [answer.allowed for answer in answers] == [True, True, False]
        # the verified bucket is another one: genuine webhooks from that source still pass
        assert (await one.verified.acquire(source)).allowed
    finally:
        await one.store.close()
        await two.store.close()
