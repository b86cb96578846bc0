"""payment-svc's internal API, called directly on its port: without order-svc's bearer token nothing is
created or read, with it (as order-svc sends it) everything works."""

from __future__ import annotations

import os
import socket
from typing import Any

import httpx
from conftest import System
from yarl import URL

WRONG_CREDENTIALS = (
    {},
    {"Authorization": "Bearer not-the-internal-token-000000"},
    {"Authorization": "Basic aW50ZXJuYWw6dG9rZW4="},
    {"Authorization": "bearer"},
)


def internal_token() -> str:
    # the first of the list is the one order-svc sends
    return os.environ["INTERNAL_API_TOKEN"].split(",")[0].strip()


def direct(system: System, headers: dict[str, str] | None = None) -> httpx.Client:
    return httpx.Client(base_url=system.payment_svc_url, headers=headers or {}, timeout=15)


def rows(system: System, table: str, column: str, value: str) -> int:
    return int(system.sql(f"SELECT count(*) AS n FROM payments.{table} WHERE {column} = $1", value)[0]["n"])


def assert_refused(r: httpx.Response, token: str) -> None:
    assert r.status_code == 401, r.text
    assert r.json()["error"]["code"] == "UNAUTHORIZED"
    assert token not in r.text


def test_initiating_without_the_token_is_refused_and_creates_nothing(system: System) -> None:
    token = internal_token()
    order = system.create_order(1500)
    merchant = system.keys[0][0]
    body: dict[str, Any] = {"orderId": order["orderId"], "merchantId": merchant, "amount": 1500, "currency": "INR"}
    for headers in WRONG_CREDENTIALS:
        with direct(system, headers) as client:
            assert_refused(client.post("/internal/payments", json=body), token)
    assert rows(system, "payments", "order_id", order["orderId"]) == 0
    assert rows(system, "order_payments", "order_id", order["orderId"]) == 0

    # order-svc sends the token: the client's initiate goes through, and creates exactly one attempt
    r = system.initiate(order["orderId"], vpa="pending@razorpay")
    assert r.status_code == 201, r.text
    assert rows(system, "payments", "order_id", order["orderId"]) == 1


def test_a_non_ascii_authorization_header_is_a_401(system: System) -> None:
    target = URL(system.payment_svc_url)
    with socket.create_connection((target.host or "127.0.0.1", target.port or 80), timeout=15) as sock:
        sock.sendall(
            b"GET /internal/payments/pay_x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            b"Authorization: Bearer \xff\xfe t\xc3\xb6k\xc3\xa9n\r\n\r\n"
        )
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]


def test_reading_and_refunding_need_the_token_too(system: System) -> None:
    token = internal_token()
    order, payment = system.pending_payment(900)
    payment_id = payment["paymentId"]
    paths = (f"/internal/payments/{payment_id}", f"/internal/payments/{payment_id}/events")
    for headers in WRONG_CREDENTIALS:
        with direct(system, headers) as client:
            for path in paths:
                assert_refused(client.get(path), token)
            refund = client.post(f"/internal/payments/{payment_id}/refunds", json={"merchantId": system.keys[0][0]})
            assert_refused(refund, token)
    assert rows(system, "refunds", "payment_id", payment_id) == 0

    with direct(system, {"Authorization": f"Bearer {token}"}) as client:
        r = client.get(f"/internal/payments/{payment_id}")
        assert r.status_code == 200, r.text
        assert r.json()["orderId"] == order["orderId"]
        assert client.get(f"/internal/payments/{payment_id}/events").status_code == 200
