"""order-svc's idempotency middleware on a real PostgreSQL: a test app with the real middleware chain
(errors, body, a stand-in for authentication, idempotency) around handlers that count their runs and
that a test can hold open."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, cast

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from order_svc.access.http import MERCHANT_ID
from order_svc.deps import Deps
from order_svc.idempotency import domain as keys
from order_svc.idempotency import http as idempotency
from order_svc.idempotency import repository
from order_svc.orders.schemas import CreateOrder
from order_svc.orders.service import create_order
from order_svc.payments.client import PaymentsClient
from payments_common.errors import ApiError, bad_request
from payments_common.http import Handler, base_app, json_response, read_json_object

from .conftest import migrated_schema

pytestmark = pytest.mark.integration

KEY = "retry-safe-1"


@dataclass
class Calls:
    runs: int = 0
    # set by a test to hold `/slow` open until it is released
    gate: asyncio.Event = field(default_factory=asyncio.Event)
    entered: asyncio.Event = field(default_factory=asyncio.Event)
    fail_next: int | None = None
    # each held run's own release, in the order they came
    held: list[asyncio.Event] = field(default_factory=list)


CALLS = web.AppKey("calls", Calls)


@web.middleware
async def merchant_header(request: web.Request, handler: Handler) -> web.StreamResponse:
    # stands in for Basic auth: the merchant the request is scoped to
    request[MERCHANT_ID] = request.headers.get("X-Merchant", "merchant_a")
    return await handler(request)


async def create(request: web.Request) -> web.Response:
    calls = request.app[CALLS]
    data = await read_json_object(request)
    calls.runs += 1
    if calls.fail_next is not None:
        status, calls.fail_next = calls.fail_next, None
        raise ApiError(status, "SOMETHING_FAILED", "failed on purpose")
    if not isinstance(data.get("amount"), int):
        raise bad_request("amount: must be an integer", "amount")
    return json_response({"run": calls.runs, "amount": data["amount"], "request": _request_id(request)}, status=201)


def _request_id(request: web.Request) -> str | None:
    request_id = request.get(idempotency.REQUEST_ID)
    return None if request_id is None else str(request_id)


async def slow(request: web.Request) -> web.Response:
    calls = request.app[CALLS]
    calls.runs += 1
    run = calls.runs
    mine = asyncio.Event()
    calls.held.append(mine)
    calls.entered.set()
    gate = asyncio.create_task(calls.gate.wait())
    own = asyncio.create_task(mine.wait())
    await asyncio.wait({gate, own}, return_when=asyncio.FIRST_COMPLETED)
    gate.cancel()
    own.cancel()
    return json_response({"run": run, "request": _request_id(request)}, status=201)


async def crash(request: web.Request) -> web.Response:
    request.app[CALLS].runs += 1
    raise RuntimeError("a bug")


@pytest.fixture
async def idem_pool(database_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    async with migrated_schema(database_dsn, "order_svc") as (_, pool):
        yield pool


@pytest.fixture
async def client(idem_pool: asyncpg.Pool) -> AsyncIterator[TestClient[Any, Any]]:
    app = base_app(max_body_bytes=4096)
    app.middlewares.append(merchant_header)
    idempotency.install(
        app, timedelta(hours=24), pool_of=lambda _: idem_pool, fingerprint_key=lambda merchant: merchant.encode()
    )
    app[CALLS] = Calls()
    app.router.add_post("/things", create)
    app.router.add_post("/slow", slow)
    app.router.add_post("/crash", crash)
    app.router.add_get("/things", create)
    async with TestClient(TestServer(app)) as test_client:
        yield test_client


def calls(client: TestClient[Any, Any]) -> Calls:
    return client.app[CALLS]  # type: ignore[index]


async def post(
    client: TestClient[Any, Any], path: str, body: bytes, key: str | None = KEY, merchant: str = "merchant_a"
) -> tuple[int, bytes, Any]:
    headers = {"Content-Type": "application/json", "X-Merchant": merchant}
    if key is not None:
        headers[keys.HEADER] = key
    response = await client.post(path, data=body, headers=headers)
    return response.status, await response.read(), response.headers


async def test_a_repeat_replays_the_first_answer_byte_for_byte(client: TestClient[Any, Any]) -> None:
    status, body, headers = await post(client, "/things", b'{"amount": 100, "note": "x"}')
    assert status == 201
    assert keys.REPLAYED_HEADER not in headers

    # the same request spelt differently is the same request
    again_status, again_body, again_headers = await post(client, "/things", b'{"note":"x","amount":100}')
    assert (again_status, again_body) == (status, body)
    assert again_headers[keys.REPLAYED_HEADER] == "true"
    assert again_headers["Content-Type"] == headers["Content-Type"]
    assert calls(client).runs == 1

    # without the key, or with another, it runs
    assert (await post(client, "/things", b'{"amount": 100, "note": "x"}', key=None))[0] == 201
    assert (await post(client, "/things", b'{"amount": 100, "note": "x"}', key="another"))[0] == 201
    assert calls(client).runs == 3


async def test_a_4xx_is_kept_and_replayed_too(client: TestClient[Any, Any]) -> None:
    status, body, _ = await post(client, "/things", b'{"amount": "lots"}')
    assert status == 400
    again = await post(client, "/things", b'{"amount": "lots"}')
    assert (again[0], again[1]) == (400, body)
    assert again[2][keys.REPLAYED_HEADER] == "true"
    assert calls(client).runs == 1


async def test_the_key_with_another_request_is_a_422(client: TestClient[Any, Any]) -> None:
    assert (await post(client, "/things", b'{"amount": 100}'))[0] == 201
    for path, body in (("/things", b'{"amount": 101}'), ("/slow", b'{"amount": 100}')):
        status, answer, _ = await post(client, path, body)
        assert status == 422
        assert b"IDEMPOTENCY_KEY_REUSED" in answer
    assert calls(client).runs == 1


async def test_the_key_while_its_first_request_runs_is_a_409(client: TestClient[Any, Any]) -> None:
    first = asyncio.create_task(post(client, "/slow", b"{}"))
    await asyncio.wait_for(calls(client).entered.wait(), 10)

    status, answer, headers = await post(client, "/slow", b"{}")
    assert status == 409
    assert b"IDEMPOTENCY_KEY_IN_USE" in answer
    assert headers["Retry-After"] == "1"
    # another body while it runs is still a misuse of the key
    assert (await post(client, "/slow", b'{"other": 1}'))[0] == 422

    calls(client).gate.set()
    first_status, first_body, _ = await first
    assert first_status == 201
    replay = await post(client, "/slow", b"{}")
    assert (replay[0], replay[1]) == (201, first_body)
    assert calls(client).runs == 1


async def test_twenty_at_once_run_once_and_never_fail(client: TestClient[Any, Any]) -> None:
    calls(client).gate.set()
    answers = await asyncio.gather(*(post(client, "/slow", b"{}") for _ in range(20)))
    statuses = [status for status, _, _ in answers]
    assert calls(client).runs == 1
    assert set(statuses) <= {201, 409}, statuses
    assert len({body for status, body, _ in answers if status == 201}) == 1
    assert sum(1 for _, _, headers in answers if keys.REPLAYED_HEADER not in headers) >= 1


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_a_5xx_keeps_nothing_so_the_key_may_be_retried(client: TestClient[Any, Any], status: int) -> None:
    calls(client).fail_next = status
    assert (await post(client, "/things", b'{"amount": 100}'))[0] == status
    retried = await post(client, "/things", b'{"amount": 100}')
    assert retried[0] == 201
    assert keys.REPLAYED_HEADER not in retried[2]
    assert calls(client).runs == 2


async def test_an_unexpected_error_keeps_nothing(client: TestClient[Any, Any], idem_pool: asyncpg.Pool) -> None:
    assert (await post(client, "/crash", b"{}"))[0] == 500
    assert (await post(client, "/crash", b"{}"))[0] == 500
    assert calls(client).runs == 2
    assert await idem_pool.fetchval("SELECT count(*) FROM idempotency_keys") == 0


async def test_merchants_keys_are_their_own(client: TestClient[Any, Any]) -> None:
    a = await post(client, "/things", b'{"amount": 100}', merchant="merchant_a")
    b = await post(client, "/things", b'{"amount": 200}', merchant="merchant_b")
    assert (a[0], b[0]) == (201, 201)
    assert keys.REPLAYED_HEADER not in b[2]
    assert calls(client).runs == 2


async def test_a_bad_key_is_a_400_naming_the_header(client: TestClient[Any, Any]) -> None:
    status, body, _ = await post(client, "/things", b'{"amount": 100}', key="k" * 256)
    assert status == 400
    assert b'"field":"Idempotency-Key"' in body
    assert calls(client).runs == 0


async def test_reads_and_unknown_routes_are_not_idempotent(client: TestClient[Any, Any]) -> None:
    headers = {keys.HEADER: KEY}
    assert (await client.get("/things", headers=headers)).status == 400  # ran: no JSON body
    assert (await client.post("/nowhere", data=b"{}", headers=headers)).status == 404
    assert (await post(client, "/things", b'{"amount": 100}'))[0] == 201


async def test_a_stale_claim_is_taken_over_and_its_owner_cannot_overwrite(
    client: TestClient[Any, Any], idem_pool: asyncpg.Pool
) -> None:
    first = asyncio.create_task(post(client, "/slow", b"{}"))
    await asyncio.wait_for(calls(client).entered.wait(), 10)
    # as if the process holding the claim had died a while ago
    await idem_pool.execute("UPDATE idempotency_keys SET claimed_at = now() - interval '61 seconds'")
    assert (await post(client, "/slow", b'{"other": 1}'))[0] == 422
    calls(client).entered.clear()
    successor_task = asyncio.create_task(post(client, "/slow", b"{}"))
    await asyncio.wait_for(calls(client).entered.wait(), 10)
    assert calls(client).runs == 2
    # the successor holds the claim now and finishes first; the original's later answer is not stored
    calls(client).held[1].set()
    successor = await successor_task
    calls(client).held[0].set()
    original = await first
    assert (successor[0], original[0]) == (201, 201)
    assert successor[1] != original[1]
    # ... but both ran as one request: whatever the original created, the successor finds by this id
    assert json.loads(successor[1])["request"] == json.loads(original[1])["request"] is not None
    # the successor's answer is the one kept, though the original finished after it
    replay = await post(client, "/slow", b"{}")
    assert replay[1] == successor[1]


async def test_expired_keys_are_free_again_and_purged(client: TestClient[Any, Any], idem_pool: asyncpg.Pool) -> None:
    assert (await post(client, "/things", b'{"amount": 100}'))[0] == 201
    assert (await post(client, "/things", b'{"amount": 100}', key="kept"))[0] == 201
    await idem_pool.execute("UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE key = $1", KEY)
    # after expiry the key is bound to nothing: another body runs
    reused = await post(client, "/things", b'{"amount": 300}')
    assert reused[0] == 201 and keys.REPLAYED_HEADER not in reused[2]
    # a new request, not the expired one run again
    first_request = await idem_pool.fetchval("SELECT request_id FROM idempotency_keys WHERE key = 'kept'")
    assert json.loads(reused[1])["request"] not in (None, str(first_request))

    await idem_pool.execute("UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE key = $1", KEY)
    assert await repository.purge_expired(idem_pool, batch_size=1) == 1
    assert await idem_pool.fetchval("SELECT array_agg(key) FROM idempotency_keys") == ["kept"]


async def test_a_request_run_again_finds_the_order_it_created(idem_pool: asyncpg.Pool) -> None:
    deps = Deps(pool=idem_pool, payments=cast(PaymentsClient, None))
    cmd = CreateOrder(amount=1500, currency="INR", receipt="r-1")
    request_id = uuid.uuid4()
    # the successor of a process that died after creating the order, racing others for good measure
    runs = await asyncio.gather(*(create_order(deps, "merchant_a", cmd, request_id) for _ in range(10)))
    assert {order.id for order in runs} == {runs[0].id}
    assert await idem_pool.fetchval("SELECT count(*) FROM orders WHERE request_id = $1", request_id) == 1
    # another request, and requests without a key, each create their own
    other = await create_order(deps, "merchant_a", cmd, uuid.uuid4())
    plain = [await create_order(deps, "merchant_a", cmd) for _ in range(2)]
    assert len({runs[0].id, other.id, *(order.id for order in plain)}) == 4
