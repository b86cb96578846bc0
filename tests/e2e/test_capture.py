"""Authorise, then capture, on the native API: an order created with `capture: manual` has its successful
payment AUTHORIZED (the order not paid) until `POST /payments/{id}/capture`; then the order is PAID through
the normal event path. Captures that cannot be made are 400s that change nothing."""

from __future__ import annotations

import time
from typing import Any

from conftest import System


def _attempt(system: System, order_id: str, statuses: set[str], timeout: float = 20.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        [attempt] = system.get_order(order_id)["payments"]
        if attempt["status"] in statuses:
            return dict(attempt)
        if time.monotonic() > deadline:
            raise AssertionError(f"the attempt stayed {attempt['status']}, wanted {statuses}")
        time.sleep(0.1)


def _authorized(system: System, amount: int = 1500) -> tuple[dict[str, Any], dict[str, Any]]:
    order = system.create_order(amount, capture="manual")
    r = system.initiate(order["orderId"], vpa="success@razorpay")
    assert r.status_code == 201, r.text
    return order, _attempt(system, order["orderId"], {"AUTHORIZED", "SUCCESS", "FAILED"})


def test_an_authorised_payment_is_captured_and_its_order_becomes_paid(system: System) -> None:
    order, attempt = _authorized(system)
    assert attempt["status"] == "AUTHORIZED"
    assert system.get_order(order["orderId"])["status"] == "CREATED"
    [gateway] = system.sql("SELECT status FROM gateway.payments WHERE payment_id = $1", attempt["id"])
    assert gateway["status"] == "authorized"

    r = system.api.post(f"/payments/{attempt['id']}/capture", json={"amount": 1500, "currency": "INR"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "SUCCESS"

    paid = system.wait_order(order["orderId"], {"PAID"})
    assert paid["payments"][0]["status"] == "SUCCESS"
    [gateway] = system.sql("SELECT status FROM gateway.payments WHERE payment_id = $1", attempt["id"])
    assert gateway["status"] == "captured"
    assert system.api.get(f"/orders/{order['orderId']}/receipt.pdf").status_code == 200


def test_captures_that_cannot_be_made_are_400s_that_change_nothing(system: System) -> None:
    order, attempt = _authorized(system)
    path = f"/payments/{attempt['id']}/capture"

    wrong = (({"amount": 1499, "currency": "INR"}, "amount"), ({"amount": 1500, "currency": "USD"}, "currency"))
    for body, field in wrong:
        r = system.api.post(path, json=body)
        assert r.status_code == 400, r.text
        assert r.json()["error"]["code"] == "PAYMENT_NOT_CAPTURABLE" and r.json()["error"]["field"] == field
    unchanged = _attempt(system, order["orderId"], {"AUTHORIZED"})
    assert unchanged["updatedAt"] == attempt["updatedAt"]

    assert system.api.post(path, json={"amount": 1500, "currency": "INR"}).status_code == 200
    again = system.api.post(path, json={"amount": 1500, "currency": "INR"})
    assert again.status_code == 400 and again.json()["error"]["code"] == "PAYMENT_NOT_CAPTURABLE"
    assert system.wait_order(order["orderId"], {"PAID"})["status"] == "PAID"

    # a failed payment has nothing to capture; an auto-captured order is as it always was
    failed_order = system.create_order(1500, capture="manual")
    assert system.initiate(failed_order["orderId"], vpa="failure@razorpay").status_code == 201
    failed = _attempt(system, failed_order["orderId"], {"FAILED", "AUTHORIZED", "SUCCESS"})
    assert failed["status"] == "FAILED"
    refused = system.api.post(f"/payments/{failed['id']}/capture", json={"amount": 1500, "currency": "INR"})
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "PAYMENT_NOT_CAPTURABLE"
    auto = system.create_order(1500)
    assert system.initiate(auto["orderId"], vpa="success@razorpay").status_code == 201
    assert system.wait_order(auto["orderId"], {"PAID"})["payments"][0]["status"] == "SUCCESS"
    unknown = system.api.post("/payments/pay_nope/capture", json={"amount": 1500, "currency": "INR"})
    assert unknown.status_code == 404
