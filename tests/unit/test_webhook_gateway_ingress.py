"""The webhook gateway's IP allowlist and per-source rate limits over HTTP, the broker replaced by a
recording sink. The test client connects from 127.0.0.1; other sources come through a trusted proxy."""

from __future__ import annotations

import asyncio
import base64
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr
from webhook_sink import RecordingSink

from payments_common import ids
from payments_common.config import parse_webhook_secrets
from payments_common.signatures import payment_signature, sign_webhook
from webhook_gateway.app import create_app
from webhook_gateway.ingress.limits import INGRESS, Tarpit
from webhook_gateway.settings import Settings

WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"ingress-test-webhook-secret-32by").decode()
FORGED_SECRET = "whsec_" + base64.b64encode(b"a forger's guess at the secret!!").decode()
PAYMENT_SECRET = "ingress-test-payment-signing-secret"
# refills so slowly that no test sees a token come back
SLOW = 0.001

Client = TestClient[Any, Any]
MakeClient = Callable[..., Awaitable[Client]]


def webhook(payment_signature_ok: bool = True) -> bytes:
    order_id, gw_id = ids.new_id(ids.ORDER), ids.new_id(ids.GATEWAY_PAYMENT)
    signature = payment_signature(PAYMENT_SECRET.encode(), order_id, gw_id) if payment_signature_ok else "0" * 64
    return orjson.dumps(
        {
            "orderId": order_id,
            "paymentId": ids.new_id(ids.PAYMENT),
            "gatewayPaymentId": gw_id,
            "signature": signature,
            "status": "SUCCESS",
        }
    )


def headers(body: bytes, secret: str = WEBHOOK_SECRET, timestamp: int | None = None, **extra: str) -> dict[str, str]:
    signed = sign_webhook(parse_webhook_secrets(secret)[0], ids.new_id(ids.EVENT), body, timestamp)
    return {"content-type": "application/json", **signed.as_dict(), **extra}


def genuine(**extra: str) -> tuple[bytes, dict[str, str]]:
    body = webhook()
    return body, headers(body, **extra)


def forged(**extra: str) -> tuple[bytes, dict[str, str]]:
    body = webhook()
    return body, headers(body, secret=FORGED_SECRET, **extra)


@pytest.fixture
async def make_client(sink: RecordingSink) -> AsyncIterator[MakeClient]:
    clients: list[Client] = []

    async def make(**overrides: Any) -> Client:
        values: dict[str, Any] = {
            "WEBHOOK_SECRETS": SecretStr(WEBHOOK_SECRET),
            "PAYMENT_SIGNING_SECRET": SecretStr(PAYMENT_SECRET),
            "MAX_BODY_BYTES": 4096,
            # refusals answered at once, except where a test is about holding them
            "WEBHOOK_REFUSAL_DELAY_SECONDS": 0,
        }
        settings = Settings(**{**values, **overrides})
        client: Client = TestClient(TestServer(await create_app(settings, sink=sink)))
        await client.start_server()
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()


async def post(client: Client, request: tuple[bytes, dict[str, str]]) -> tuple[int, dict[str, Any], Any]:
    body, request_headers = request
    response = await client.post("/webhook/payment", data=body, headers=request_headers)
    return response.status, await response.json(), response.headers


def events(logs: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [entry for entry in logs if entry["event"] == name]


# --- the allowlist ----------------------------------------------------------------------------


async def test_an_address_outside_the_allowlist_is_refused_and_nothing_is_published(
    make_client: MakeClient, sink: RecordingSink, captured_logs: list[dict[str, Any]]
) -> None:
    client = await make_client(WEBHOOK_ALLOWED_CIDRS="10.0.0.0/8,2001:db8::/32")
    request = genuine()
    status, answer, _ = await post(client, request)
    assert status == 403
    assert answer["success"] is False
    assert answer["error"]["code"] == "FORBIDDEN"
    assert answer["error"]["description"]
    assert sink.messages == []
    [warning] = events(captured_logs, "webhook.forbidden")
    assert warning["source"] == "127.0.0.1"
    assert warning["log_level"] == "warning"
    logged = repr(captured_logs)
    assert orjson.loads(request[0])["orderId"] not in logged  # the address, not the body
    assert request[1]["webhook-signature"] not in logged


async def test_the_allowlist_is_checked_before_the_body_is_read(make_client: MakeClient, sink: RecordingSink) -> None:
    client = await make_client(WEBHOOK_ALLOWED_CIDRS="10.0.0.0/8")
    huge = b"x" * 100_000  # past MAX_BODY_BYTES: reading it would answer 413
    status, answer, _ = await post(client, (huge, headers(huge)))
    assert (status, answer["error"]["code"]) == (403, "FORBIDDEN")
    assert sink.messages == []


async def test_loopback_is_allowed_by_default_and_health_is_never_guarded(
    make_client: MakeClient, sink: RecordingSink
) -> None:
    assert (await post(await make_client(), genuine()))[0] == 200
    assert len(sink.messages) == 1
    elsewhere = await make_client(WEBHOOK_ALLOWED_CIDRS="10.0.0.0/8")
    assert (await elsewhere.get("/health")).status == 200


async def test_a_forwarded_for_header_from_an_untrusted_peer_is_ignored(
    make_client: MakeClient, sink: RecordingSink
) -> None:
    client = await make_client(WEBHOOK_ALLOWED_CIDRS="10.0.0.0/8")
    for spoofed in ("10.1.2.3", "10.1.2.3, 10.4.5.6"):
        status, answer, _ = await post(client, genuine(**{"X-Forwarded-For": spoofed}))
        assert (status, answer["error"]["code"]) == (403, "FORBIDDEN")
    assert sink.messages == []


async def test_behind_a_trusted_proxy_the_forwarded_client_is_checked(
    make_client: MakeClient, sink: RecordingSink
) -> None:
    client = await make_client(WEBHOOK_ALLOWED_CIDRS="10.0.0.0/8", TRUSTED_PROXIES="127.0.0.1/32")
    assert (await post(client, genuine(**{"X-Forwarded-For": "10.1.2.3"})))[0] == 200
    assert len(sink.messages) == 1
    # the proxy itself is no allowed sender
    assert (await post(client, genuine()))[0] == 403
    # a client outside the list writes an allowed address first; the proxy appends the real one
    assert (await post(client, genuine(**{"X-Forwarded-For": "10.1.2.3, 198.51.100.7"})))[0] == 403
    # a proxy that forwards garbage where the client should be: refused, not guessed
    assert (await post(client, genuine(**{"X-Forwarded-For": "10.1.2.3, garbage"})))[0] == 403
    assert len(sink.messages) == 1


# --- the rate limits --------------------------------------------------------------------------


async def test_past_the_unverified_burst_failures_get_429_while_genuine_webhooks_pass(
    make_client: MakeClient, sink: RecordingSink
) -> None:
    client = await make_client(WEBHOOK_UNVERIFIED_RATE_BURST=3, WEBHOOK_UNVERIFIED_RATE_PER_SECOND=SLOW)
    for _ in range(3):
        status, answer, _ = await post(client, forged())
        assert (status, answer["error"]["code"]) == (400, "INVALID_SIGNATURE")

    status, answer, response_headers = await post(client, forged())
    assert status == 429
    assert answer["success"] is False
    assert answer["error"]["code"] == "RATE_LIMITED"
    retry_after = response_headers["Retry-After"]
    assert retry_after.isdigit() and int(retry_after) >= 1

    # the same address, the gateway's genuine webhooks: verified first, so they still pass
    for _ in range(5):
        assert (await post(client, genuine()))[0] == 200
    assert len(sink.messages) == 5

    # every kind of failure is limited: no headers at all, a stale timestamp, a body past the limit
    no_headers = (webhook(), {"content-type": "application/json"})
    stale = (lambda body: (body, headers(body, timestamp=int(time.time()) - 3600)))(webhook())
    oversized = (lambda body: (body, headers(body)))(b"x" * 10_000)
    for request in (no_headers, stale, oversized, forged()):
        status, answer, response_headers = await post(client, request)
        assert (status, answer["error"]["code"]) == (429, "RATE_LIMITED")
        assert int(response_headers["Retry-After"]) >= 1
    assert len(sink.messages) == 5


async def test_with_the_limits_store_down_genuine_webhooks_pass_and_forgeries_get_429(
    make_client: MakeClient, sink: RecordingSink
) -> None:
    """REDIS_URL names a closed port: the verified bucket fails open, the unverified one closed."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = await make_client(REDIS_URL=SecretStr(f"redis://127.0.0.1:{port}/0"))
    assert [(await post(client, genuine()))[0] for _ in range(3)] == [200] * 3
    assert len(sink.messages) == 3
    status, answer, _ = await post(client, forged())
    assert (status, answer["error"]["code"]) == (429, "RATE_LIMITED")
    assert len(sink.messages) == 3


async def test_a_verified_webhook_the_view_refuses_draws_from_the_unverified_bucket(
    make_client: MakeClient, sink: RecordingSink
) -> None:
    client = await make_client(WEBHOOK_UNVERIFIED_RATE_BURST=2, WEBHOOK_UNVERIFIED_RATE_PER_SECOND=SLOW)
    bad_payment_signature = [(body, headers(body)) for body in (webhook(payment_signature_ok=False) for _ in range(3))]
    assert [(await post(client, request))[0] for request in bad_payment_signature] == [400, 400, 429]
    assert sink.messages == []


async def test_the_verified_bucket_limits_genuine_webhooks_too(make_client: MakeClient, sink: RecordingSink) -> None:
    client = await make_client(WEBHOOK_RATE_BURST=2, WEBHOOK_RATE_PER_SECOND=SLOW)
    assert (await post(client, genuine()))[0] == 200
    assert (await post(client, genuine()))[0] == 200
    status, answer, response_headers = await post(client, genuine())
    assert (status, answer["error"]["code"]) == (429, "RATE_LIMITED")
    assert int(response_headers["Retry-After"]) >= 1
    assert len(sink.messages) == 2
    # failures do not spend the verified budget, nor the other way round
    assert (await post(client, forged()))[0] == 400


async def test_each_source_has_its_own_buckets(make_client: MakeClient, sink: RecordingSink) -> None:
    client = await make_client(
        WEBHOOK_UNVERIFIED_RATE_BURST=1,
        WEBHOOK_UNVERIFIED_RATE_PER_SECOND=SLOW,
        TRUSTED_PROXIES="127.0.0.1/32",
        WEBHOOK_ALLOWED_CIDRS="198.51.100.0/24",
    )
    forger, other = {"X-Forwarded-For": "198.51.100.66"}, {"X-Forwarded-For": "198.51.100.7"}
    assert (await post(client, forged(**forger)))[0] == 400
    assert (await post(client, forged(**forger)))[0] == 429
    assert (await post(client, forged(**other)))[0] == 400  # another address is not held to the forger's budget


async def test_a_flood_of_refusals_is_logged_in_aggregate(
    make_client: MakeClient, captured_logs: list[dict[str, Any]]
) -> None:
    client = await make_client(WEBHOOK_UNVERIFIED_RATE_BURST=3, WEBHOOK_UNVERIFIED_RATE_PER_SECOND=SLOW)
    statuses = [(await post(client, forged()))[0] for _ in range(40)]
    assert statuses == [400] * 3 + [429] * 37
    # one line per refusal while within the budget, then one line for the whole flood
    assert len(events(captured_logs, "webhook.rejected")) == 3
    [limited] = events(captured_logs, "webhook.rate_limited")
    assert limited["source"] == "127.0.0.1"
    assert limited["bucket"] == "unverified"
    assert limited["refused"] == 1


# --- holding refusals -------------------------------------------------------------------------


async def until(condition: Callable[[], bool]) -> None:
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition never held")


async def test_refusals_of_an_empty_bucket_and_of_the_allowlist_are_held_genuine_answers_are_not(
    make_client: MakeClient, sink: RecordingSink
) -> None:
    client = await make_client(
        WEBHOOK_UNVERIFIED_RATE_BURST=1, WEBHOOK_UNVERIFIED_RATE_PER_SECOND=SLOW, WEBHOOK_REFUSAL_DELAY_SECONDS=30
    )
    tarpit = client.app[INGRESS].tarpit
    assert (await post(client, forged()))[0] == 400  # within the budget: answered at once
    held = asyncio.create_task(post(client, forged()))
    await until(lambda: tarpit.held == 1)
    assert not held.done()
    # meanwhile a genuine webhook from the same address goes straight through
    assert (await post(client, genuine()))[0] == 200
    assert not held.done()
    held.cancel()

    outside = await make_client(WEBHOOK_ALLOWED_CIDRS="10.0.0.0/8", WEBHOOK_REFUSAL_DELAY_SECONDS=30)
    forbidden = asyncio.create_task(post(outside, genuine()))
    await until(lambda: outside.app[INGRESS].tarpit.held == 1)
    forbidden.cancel()
    assert len(sink.messages) == 1


async def test_past_its_capacity_the_tarpit_answers_at_once() -> None:
    tarpit = Tarpit(delay=30, capacity=2)
    holders = [asyncio.create_task(tarpit.hold()) for _ in range(2)]
    await until(lambda: tarpit.held == 2)
    await asyncio.wait_for(tarpit.hold(), timeout=5)  # the third is not held
    for holder in holders:
        holder.cancel()
    await asyncio.gather(*holders, return_exceptions=True)
    assert tarpit.held == 0
    await asyncio.wait_for(Tarpit(delay=0).hold(), timeout=5)  # a delay of 0 holds nothing
