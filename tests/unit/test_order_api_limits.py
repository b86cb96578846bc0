"""The client API's rate limits over HTTP: order-svc's own authentication and limit middlewares, in
the order bootstrap installs them, around a stand-in route (no database). The test client connects
from 127.0.0.1, a trusted proxy here, so `X-Forwarded-For` picks the source address."""

from __future__ import annotations

import base64
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from order_svc.access import http, limits
from order_svc.access.http import merchant_of
from order_svc.access.keyring import KeyRing
from order_svc.settings import Settings
from payments_common.http import base_app, json_response

MERCHANT_A = ("rzp_test_a", "secret-of-merchant-a")
MERCHANT_B = ("rzp_test_b", "secret-of-merchant-b")
WRONG = ("rzp_test_a", "not-the-secret")
SLOW = 0.001  # refills so slowly that no test sees a token come back

Client = TestClient[Any, Any]
MakeClient = Callable[..., Awaitable[Client]]


async def whoami(request: web.Request) -> web.Response:
    return json_response({"merchant": merchant_of(request)})


async def start_payment(request: web.Request) -> web.Response:
    """A stand-in checkout page's POST: asks the limit as the real pages do before starting a payment."""
    decision = await limits.checkout_payment(request, request.match_info["page"])
    if not decision.allowed:
        return json_response({"refused": True}, 429, {"Retry-After": decision.retry_after_header})
    return json_response({"started": True})


@pytest.fixture
async def make_client() -> AsyncIterator[MakeClient]:
    clients: list[Client] = []

    async def make(**overrides: Any) -> Client:
        settings = Settings(
            API_KEYS=SecretStr(",".join(f"{key_id}:{secret}" for key_id, secret in (MERCHANT_A, MERCHANT_B))),
            PAYMENT_SIGNING_SECRET=SecretStr("ab" * 32),
            INTERNAL_API_TOKEN=SecretStr("internal-token-0123456789abcdef"),
            TRUSTED_PROXIES="127.0.0.1/32",
            **overrides,
        )
        app = base_app(max_body_bytes=4096)
        limits.install(app, settings, authenticate=http.auth_middleware)
        app[http.KEYS] = KeyRing.of(settings.api_keys())
        app.router.add_get("/orders/{order_id}", whoami)
        app.router.add_post("/l/{page}", start_payment)
        client: Client = TestClient(TestServer(app))
        await client.start_server()
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()


async def get(client: Client, auth: tuple[str, str] | None, source: str = "198.51.100.1") -> tuple[int, Any, Any]:
    headers = {"X-Forwarded-For": source}
    if auth is not None:
        headers["Authorization"] = "Basic " + base64.b64encode(":".join(auth).encode()).decode()
    response = await client.get("/orders/order_1", headers=headers)
    return response.status, await response.json(), response.headers


def assert_rate_limited(status: int, answer: Any, headers: Any) -> None:
    assert status == 429
    assert answer["error"]["code"] == "RATE_LIMITED"
    assert answer["error"]["description"]
    assert headers["Retry-After"].isdigit() and int(headers["Retry-After"]) >= 1


async def test_each_api_key_has_its_own_budget(make_client: MakeClient) -> None:
    client = await make_client(API_RATE_BURST=3, API_RATE_PER_SECOND=SLOW)
    for _ in range(3):
        status, answer, _ = await get(client, MERCHANT_A)
        assert (status, answer) == (200, {"merchant": MERCHANT_A[0]})
    assert_rate_limited(*await get(client, MERCHANT_A))
    # from another address too: the budget is the key's, not the address's
    assert_rate_limited(*await get(client, MERCHANT_A, source="203.0.113.5"))
    # another merchant is not held to it, and public routes are never limited
    assert (await get(client, MERCHANT_B))[0] == 200
    assert (await client.get("/health")).status == 200


async def test_failed_authentications_per_key_id_and_address_turn_into_429(make_client: MakeClient) -> None:
    client = await make_client(AUTH_FAILURE_RATE_BURST=2, AUTH_FAILURE_RATE_PER_SECOND=SLOW)
    for _ in range(2):
        status, answer, headers = await get(client, WRONG)
        assert (status, answer["error"]["code"]) == (401, "UNAUTHORIZED")
        assert "WWW-Authenticate" in headers
    assert_rate_limited(*await get(client, WRONG))
    # no credentials at all is a failure as well, with a bucket of its own (no key id)
    assert [(await get(client, None))[0] for _ in range(3)] == [401, 401, 429]
    # another address is not held to this one's failures
    assert (await get(client, WRONG, source="203.0.113.5"))[0] == 401
    assert (await get(client, MERCHANT_A, source="203.0.113.5"))[0] == 200


async def test_a_guesser_never_locks_out_a_right_key_from_its_address(make_client: MakeClient) -> None:
    """Formerly an empty bucket refused right credentials as well, before checking them: one guesser
    behind a shared address locked every merchant there out. Now only wrong attempts are refused."""
    client = await make_client(AUTH_FAILURE_RATE_BURST=1, AUTH_FAILURE_RATE_PER_SECOND=SLOW)
    assert (await get(client, WRONG))[0] == 401
    assert_rate_limited(*await get(client, WRONG))
    for merchant in (MERCHANT_A, MERCHANT_B):
        status, answer, _ = await get(client, merchant)
        assert (status, answer) == (200, {"merchant": merchant[0]})
    assert_rate_limited(*await get(client, WRONG))


async def test_many_key_ids_from_one_address_draw_from_its_coarser_bucket(make_client: MakeClient) -> None:
    client = await make_client(AUTH_FAILURE_SOURCE_RATE_BURST=3, AUTH_FAILURE_SOURCE_RATE_PER_SECOND=SLOW)
    statuses = [(await get(client, (f"rzp_test_guess_{n}", "nope")))[0] for n in range(5)]
    assert statuses == [401, 401, 401, 429, 429]
    # right keys from that address still pass, and other addresses are not held to it
    assert (await get(client, MERCHANT_A))[0] == 200
    assert (await get(client, ("rzp_test_guess_9", "nope"), source="203.0.113.5"))[0] == 401


async def test_with_the_limits_store_down_right_keys_pass_and_wrong_ones_get_429(make_client: MakeClient) -> None:
    """REDIS_URL names a closed port: the per-key limit fails open, the failure limits closed."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = await make_client(REDIS_URL=SecretStr(f"redis://127.0.0.1:{port}/0"), API_RATE_BURST=1)
    assert [(await get(client, MERCHANT_A))[0] for _ in range(3)] == [200] * 3
    assert_rate_limited(*await get(client, WRONG))
    assert_rate_limited(*await get(client, None))


async def test_successful_requests_do_not_spend_the_failure_budget(make_client: MakeClient) -> None:
    client = await make_client(AUTH_FAILURE_RATE_BURST=1, AUTH_FAILURE_RATE_PER_SECOND=SLOW)
    for _ in range(20):
        assert (await get(client, MERCHANT_A))[0] == 200
    assert (await get(client, WRONG))[0] == 401


async def test_refusals_are_logged_in_aggregate_without_secrets(
    make_client: MakeClient, captured_logs: list[dict[str, Any]]
) -> None:
    client = await make_client(API_RATE_BURST=1, API_RATE_PER_SECOND=SLOW)
    statuses = [(await get(client, MERCHANT_A))[0] for _ in range(30)]
    assert statuses == [200] + [429] * 29
    [line] = [entry for entry in captured_logs if entry["event"] == "api.rate_limited"]
    assert line["key_id"] == MERCHANT_A[0]
    assert line["refused"] == 1
    assert MERCHANT_A[1] not in repr(captured_logs)


async def pay(client: Client, page: str, source: str) -> tuple[int, Any]:
    response = await client.post(f"/l/{page}", headers={"X-Forwarded-For": source})
    return response.status, response.headers


async def test_checkout_payments_are_limited_per_source_address_and_per_page(make_client: MakeClient) -> None:
    client = await make_client(
        CHECKOUT_PAYMENT_RATE_BURST=3,
        CHECKOUT_PAYMENT_RATE_PER_SECOND=SLOW,
        CHECKOUT_PAGE_PAYMENT_RATE_BURST=5,
        CHECKOUT_PAGE_PAYMENT_RATE_PER_SECOND=SLOW,
    )
    # one address trying card after card: three payments, then refused, whichever page it moves to
    for page in ("link_a", "link_a", "link_b"):
        assert (await pay(client, page, "198.51.100.7"))[0] == 200
    status, headers = await pay(client, "link_c", "198.51.100.7")
    assert status == 429 and int(headers["Retry-After"]) >= 1
    # many addresses at one page: its own budget (five here, two of them spent above) runs out too
    assert [(await pay(client, "link_a", f"203.0.113.{n}"))[0] for n in range(1, 5)] == [200, 200, 200, 429]
    # a customer at another page from another address is not held back by either
    assert (await pay(client, "link_d", "192.0.2.9"))[0] == 200
