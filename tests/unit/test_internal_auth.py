"""payment-svc's internal API takes order-svc's bearer token and nothing else; order-svc sends it on every
call; payment-svc does not start without one."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from order_svc.payments.client import PaymentsClient
from order_svc.settings import Settings as OrderSettings
from payment_svc.attempts import http
from payment_svc.refunds import http as refund_http
from payment_svc.settings import Settings as PaymentSettings
from payments_common import service
from payments_common.bearer import bearer_token, token_accepted
from payments_common.config import ConfigError, parse_bearer_tokens
from payments_common.errors import ApiError
from payments_common.http import base_app

TOKEN = "internal-token-0123456789abcdef"
OLD_TOKEN = "internal-token-old-fedcba987654"
SIGNING = "ab" * 32

Client = TestClient[web.Request, web.Application]


async def _client(tokens: list[str]) -> Client:
    app = base_app(max_body_bytes=1024)
    http.add_routes(app, [token.encode() for token in tokens])
    refund_http.add_routes(app)

    async def probe(_: web.Request) -> web.Response:
        return web.json_response({"reached": True})

    # a route behind the same prefix, to see whether a request gets past the check without a database
    app.router.add_get("/internal/probe", probe)
    client = TestClient(TestServer(app))
    await client.start_server()
    return client


async def _refused(client: Client, method: str, path: str, headers: dict[str, str]) -> str:
    r = await client.request(method, path, headers=headers, json={"orderId": "order_1"})
    assert r.status == 401, (path, headers)
    assert (await r.json())["error"]["code"] == "UNAUTHORIZED"
    return await r.text()


async def test_the_right_token_reaches_the_route() -> None:
    client = await _client([TOKEN])
    try:
        r = await client.get("/internal/probe", headers={"Authorization": f"Bearer {TOKEN}"})
        assert r.status == 200
        assert await r.json() == {"reached": True}
        # the scheme is case-insensitive (RFC 7235)
        r = await client.get("/internal/probe", headers={"Authorization": f"bearer {TOKEN}"})
        assert r.status == 200
    finally:
        await client.close()


async def test_no_header_a_wrong_scheme_or_a_wrong_token_is_a_401_that_echoes_nothing() -> None:
    client = await _client([TOKEN])
    try:
        for headers in (
            {},
            {"Authorization": ""},
            {"Authorization": "Bearer "},
            {"Authorization": "Bearer"},
            {"Authorization": f"Basic {TOKEN}"},
            {"Authorization": TOKEN},
            {"Authorization": "Bearer wrong-token-guess"},
            {"Authorization": f"Bearer {TOKEN}x"},
            {"Authorization": f"Bearer {TOKEN[:-1]}"},
            {"Authorization": f"Bearer {OLD_TOKEN}"},
        ):
            for method, path in (
                ("GET", "/internal/probe"),
                ("POST", "/internal/payments"),
                ("GET", f"/internal/payments/pay_{uuid.uuid4().hex[:14]}"),
                ("GET", "/internal/payments/pay_x/events"),
                ("POST", "/internal/payments/pay_x/refunds"),
                ("GET", "/internal/refunds/rfnd_x"),
                # a route that does not exist answers the same, so the answer does not map the API
                ("GET", "/internal/nothing-here"),
            ):
                body = await _refused(client, method, path, headers)
                assert TOKEN not in body and "wrong-token-guess" not in body
    finally:
        await client.close()


async def test_while_a_token_is_rotated_both_are_accepted() -> None:
    client = await _client([TOKEN, OLD_TOKEN])
    try:
        for token in (TOKEN, OLD_TOKEN):
            r = await client.get("/internal/probe", headers={"Authorization": f"Bearer {token}"})
            assert r.status == 200, token
        await _refused(client, "GET", "/internal/probe", {"Authorization": f"Bearer {TOKEN},{OLD_TOKEN}"})
    finally:
        await client.close()


async def test_a_non_ascii_authorization_header_is_a_401_not_a_500() -> None:
    client = await _client([TOKEN])
    try:
        for value in (b"Bearer \xff\xfe\xfd", "Bearer tökén-ünïcode".encode(), b"Bearer " + TOKEN.encode() + b"\xc3"):
            reader, writer = await asyncio.open_connection(client.host, client.port)
            writer.write(
                b"GET /internal/probe HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: " + value + b"\r\n\r\n"
            )
            await writer.drain()
            answer = await reader.read()
            writer.close()
            assert answer.startswith(b"HTTP/1.1 401"), answer[:100]
            assert b"UNAUTHORIZED" in answer
    finally:
        await client.close()


async def test_routes_outside_the_prefix_need_no_token() -> None:
    client = await _client([TOKEN])
    try:
        assert (await client.get("/health")).status == 200
    finally:
        await client.close()


def test_the_token_parser_and_comparison() -> None:
    assert bearer_token(None) is None
    assert bearer_token("Basic abc") is None
    assert bearer_token("Bearer   ") is None
    assert bearer_token(f"Bearer  {TOKEN} ") == TOKEN.encode()
    assert token_accepted(TOKEN.encode(), [OLD_TOKEN.encode(), TOKEN.encode()])
    assert not token_accepted(None, [TOKEN.encode()])
    assert not token_accepted(TOKEN.encode(), [])


@pytest.mark.parametrize(
    "raw",
    ["", " ", f"{TOKEN},", f",{TOKEN}", "short-token", f"{TOKEN} with space", f"tökén-{TOKEN}", f'{TOKEN}"'],
)
def test_a_malformed_token_list_is_refused_without_quoting_it(raw: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_bearer_tokens(raw)
    assert "INTERNAL_API_TOKEN" in str(caught.value)
    if raw.strip():
        assert raw not in str(caught.value)


def test_a_rotated_list_parses_in_order() -> None:
    assert parse_bearer_tokens(f" {TOKEN} , {OLD_TOKEN}") == [TOKEN.encode(), OLD_TOKEN.encode()]


def test_payment_svc_does_not_start_without_the_token(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("INTERNAL_API_TOKEN", raising=False)
    monkeypatch.setenv("PAYMENT_SIGNING_SECRET", SIGNING)
    with pytest.raises(SystemExit) as stopped:
        service.load_settings("payment-svc", PaymentSettings)
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert "payment-svc: INTERNAL_API_TOKEN: Field required" in err
    assert SIGNING not in err

    monkeypatch.setenv("INTERNAL_API_TOKEN", "too-short")
    with pytest.raises(SystemExit):
        service.load_settings("payment-svc", PaymentSettings)
    err = capsys.readouterr().err
    assert "INTERNAL_API_TOKEN" in err and "too-short" not in err


def test_both_services_mask_every_token_in_their_logs() -> None:
    rotated = SecretStr(f"{TOKEN},{OLD_TOKEN}")
    payment = PaymentSettings(PAYMENT_SIGNING_SECRET=SecretStr(SIGNING), INTERNAL_API_TOKEN=rotated)
    assert payment.internal_api_tokens() == (TOKEN.encode(), OLD_TOKEN.encode())
    order = OrderSettings(
        API_KEYS=SecretStr("rzp_a:secret-of-a-0123"),
        PAYMENT_SIGNING_SECRET=SecretStr(SIGNING),
        INTERNAL_API_TOKEN=rotated,
    )
    # the first is sent; all are masked
    assert order.internal_api_token() == TOKEN
    for secrets in (payment.secrets(), order.secrets()):
        assert {TOKEN, OLD_TOKEN, f"{TOKEN},{OLD_TOKEN}"} <= set(secrets)


async def test_order_svc_sends_the_token_on_every_call() -> None:
    seen: list[tuple[str, str | None]] = []

    async def record(request: web.Request) -> web.Response:
        seen.append((request.path, request.headers.get("Authorization")))
        # a 401, as payment-svc would answer a wrong token: the client is told payments are unavailable
        return web.json_response({"error": {"code": "UNAUTHORIZED", "description": "x"}}, status=401)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", record)
    async with TestServer(app) as server, TestClient(server) as client:
        payments = PaymentsClient(client.session, str(server.make_url("")), TOKEN)
        calls: list[Any] = [
            payments.initiate("order_1", "rzp_a", 100, "INR", None, "req_1"),
            payments.create_refund("pay_1", "rzp_a", None, None, None),
            payments.events("pay_1"),
        ]
        for call in calls:
            with pytest.raises(ApiError) as refused:
                await call
            assert refused.value.status == 503
    assert [path for path, _ in seen] == [
        "/internal/payments",
        "/internal/payments/pay_1/refunds",
        "/internal/payments/pay_1/events",
    ]
    assert {header for _, header in seen} == {f"Bearer {TOKEN}"}
