"""The /v1 surface's rules: Razorpay's statuses and error objects from the native ones, the checkout
signature the SDK verifies, and the error middleware on every /v1 answer (and on no native one)."""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import pytest
import razorpay
from aiohttp.test_utils import TestClient, TestServer
from razorpay.errors import SignatureVerificationError
from test_order_svc_answers import ORDER, REFUND, VIEW

from order_svc.access import http as access_http
from order_svc.access.keyring import KeyRing
from order_svc.app import install_routes
from order_svc.deps import DEPS, Deps
from order_svc.lists.domain import Cursor, next_cursor
from order_svc.orders.domain import OrderStatus
from order_svc.v1 import http as v1_http
from order_svc.v1.domain import (
    checkout_signature,
    order_status,
    payment_error,
    payment_status,
    razorpay_error,
    refund_status,
)
from order_svc.v1.orders.schemas import CreateOrderV1
from payments_common.config import parse_api_keys
from payments_common.http import base_app

API_KEYS = "rzp_a:secret-a-123456"
AUTH = {"Authorization": "Basic " + base64.b64encode(API_KEYS.encode()).decode()}


def test_order_statuses() -> None:
    created = dataclasses.replace(ORDER, status=OrderStatus.CREATED)
    assert order_status(created, 0) == "created"
    assert order_status(created, 1) == "attempted"
    assert order_status(dataclasses.replace(ORDER, status=OrderStatus.FAILED), 2) == "attempted"
    assert order_status(ORDER, 1) == "paid"


def test_payment_statuses_and_refund_status() -> None:
    assert payment_status(dataclasses.replace(VIEW, status="INITIATED"), 0) == "created"
    assert payment_status(VIEW, 0) == "captured"
    assert payment_status(VIEW, 500) == "captured" and refund_status(VIEW, 500) == "partial"
    assert payment_status(VIEW, 1500) == "refunded" and refund_status(VIEW, 1500) == "full"
    assert refund_status(VIEW, 0) is None
    failed = dataclasses.replace(VIEW, status="FAILED", error_code="CARD_DECLINED", error_description="declined")
    assert payment_status(failed, 0) == "failed"
    assert payment_error(failed) == {
        "error_code": "BAD_REQUEST_ERROR",
        "error_description": "declined",
        "error_source": "bank",
        "error_step": "payment_authorization",
        "error_reason": "card_declined",
    }
    assert set(payment_error(VIEW).values()) == {None}


def test_the_sdk_verifies_the_checkout_signature() -> None:
    client = razorpay.Client(auth=("rzp_a", "secret-a-123456"))
    signature = checkout_signature("secret-a-123456", ORDER.id, VIEW.id)
    fields = {"razorpay_order_id": ORDER.id, "razorpay_payment_id": VIEW.id, "razorpay_signature": signature}
    assert client.utility.verify_payment_signature(fields) is True
    with pytest.raises(SignatureVerificationError):
        other = razorpay.Client(auth=("rzp_b", "another-secret"))
        other.utility.verify_payment_signature(fields)


@pytest.mark.parametrize(
    ("status", "error", "expected_status", "code", "description"),
    [
        (404, {"code": "NOT_FOUND", "description": "order not found"}, 400, "BAD_REQUEST_ERROR", "The id provided"),
        (404, {"code": "NOT_FOUND", "description": "Not Found"}, 400, "BAD_REQUEST_ERROR", "The requested URL"),
        (409, {"code": "ORDER_ALREADY_PAID", "description": "paid"}, 400, "BAD_REQUEST_ERROR", "paid"),
        (409, {"code": "IDEMPOTENCY_KEY_IN_USE", "description": "busy"}, 409, "BAD_REQUEST_ERROR", "busy"),
        (401, {"code": "UNAUTHORIZED", "description": "no"}, 401, "BAD_REQUEST_ERROR", "no"),
        (429, {"code": "RATE_LIMITED", "description": "slow"}, 429, "BAD_REQUEST_ERROR", "slow"),
        (502, {"code": "GATEWAY_ERROR", "description": "gw"}, 502, "GATEWAY_ERROR", "gw"),
        (503, {"code": "SERVICE_UNAVAILABLE", "description": "down"}, 503, "SERVER_ERROR", "down"),
        (500, {"code": "SERVER_ERROR", "description": "oops"}, 500, "SERVER_ERROR", "oops"),
    ],
)
def test_native_errors_read_as_razorpay_s(
    status: int, error: dict[str, Any], expected_status: int, code: str, description: str
) -> None:
    new_status, body = razorpay_error(status, error)
    assert new_status == expected_status
    assert body["error"]["code"] == code and body["error"]["description"].startswith(description)
    assert set(body["error"]) == {"code", "description", "field", "source", "step", "reason", "metadata"}


def test_a_cursor_round_trips_and_a_forged_one_is_refused() -> None:
    cursor = Cursor(ORDER.created_at, ORDER.id)
    assert Cursor.decode(cursor.encode()) == cursor
    assert Cursor.decode("not a cursor!") is None and Cursor.decode("") is None
    rows = [(ORDER.created_at, f"order_{n}") for n in range(3)]
    assert next_cursor(rows, 3) is None
    assert Cursor.decode(next_cursor(rows, 2) or "") == Cursor(ORDER.created_at, "order_1")


@pytest.fixture
async def client() -> AsyncIterator[TestClient[Any, Any]]:
    app = base_app(max_body_bytes=4096)
    app.middlewares.append(access_http.auth_middleware)
    app[access_http.KEYS] = KeyRing.of(parse_api_keys(API_KEYS))
    app[DEPS] = Deps(pool=None, payments=None)  # type: ignore[arg-type]
    v1_http.install(app)
    install_routes(app)
    async with TestClient(TestServer(app)) as test_client:
        yield test_client


async def test_every_v1_error_is_razorpay_s_and_native_ones_stay(client: TestClient[Any, Any]) -> None:
    unauthenticated = await client.get("/v1/orders")
    assert unauthenticated.status == 401
    assert (await unauthenticated.json())["error"]["code"] == "BAD_REQUEST_ERROR"
    assert "WWW-Authenticate" in unauthenticated.headers
    invalid = await client.post("/v1/orders", json={"amount": 0, "currency": "INR"}, headers=AUTH)
    assert invalid.status == 400
    error = (await invalid.json())["error"]
    assert error["field"] == "amount" and error["reason"] == "input_validation_failed"
    flag = await client.post("/v1/orders", json={"amount": 5, "currency": "INR", "payment_capture": 2}, headers=AUTH)
    assert (await flag.json())["error"]["field"] == "payment_capture"
    count = await client.get("/v1/orders?count=101", headers=AUTH)
    assert count.status == 400 and (await count.json())["error"]["field"] == "count"
    nowhere = await client.get("/v1/nowhere", headers=AUTH)
    assert nowhere.status == 400 and (await nowhere.json())["error"]["description"].startswith("The requested URL")
    unknown_id = await client.get("/v1/payments/pay_x", headers=AUTH)
    assert (await unknown_id.json())["error"]["description"] == "The id provided does not exist"
    native = await client.get("/orders/order_x", headers=AUTH)
    assert native.status == 404 and await native.json() == {
        "error": {"code": "NOT_FOUND", "description": "order not found"}
    }


def test_refund_sample_is_a_refund() -> None:
    assert REFUND.payment_id == VIEW.id


@pytest.mark.parametrize(("flag", "capture"), [(0, "manual"), (False, "manual"), (1, "automatic"), (None, "automatic")])
def test_payment_capture_0_or_false_makes_a_manually_captured_order(flag: bool | int | None, capture: str) -> None:
    body = {"amount": 5, "currency": "INR"} | ({} if flag is None else {"payment_capture": flag})
    assert CreateOrderV1.model_validate(body).native().capture == capture
