"""The client API's rules that the acceptance suite does not spell out."""

from __future__ import annotations

from conftest import System


def test_another_merchants_order_is_not_found(system: System) -> None:
    order = system.create_order()
    other = system.client_for(1)
    assert other.get(f"/orders/{order['orderId']}").status_code == 404
    r = other.post("/payments/initiate", json={"orderId": order["orderId"]})
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "NOT_FOUND"
    # the owner still sees it untouched
    assert system.get_order(order["orderId"])["payments"] == []


def test_receipt_and_notes_come_back_verbatim(system: System) -> None:
    notes = {"zeta": "last key first", "alpha": "ünïcödé ✓", "n": ""}
    order = system.create_order(999, "USD", receipt="rcpt #42", notes=notes)
    seen = system.get_order(order["orderId"])
    assert seen["receipt"] == "rcpt #42"
    assert list(seen["notes"].items()) == list(notes.items())


def test_too_many_notes_and_unknown_fields_are_refused_with_the_field(system: System) -> None:
    r = system.api.post("/orders", json={"amount": 100, "currency": "INR", "notes": {str(i): "x" for i in range(16)}})
    assert r.status_code == 400 and r.json()["error"]["field"] == "notes"
    r = system.api.post("/orders", json={"amount": 100, "currency": "INR", "colour": "red"})
    assert r.status_code == 400 and r.json()["error"]["field"] == "colour"


def test_bodies_over_the_limit_are_413_on_both_public_services(system: System) -> None:
    big = b'{"amount": 100, "currency": "INR", "receipt": "' + b"x" * 70_000 + b'"}'
    r = system.api.post("/orders", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"
    r = system.raw.post(
        f"{system.webhook_url}/webhook/payment", content=big, headers={"content-type": "application/json"}
    )
    assert r.status_code == 413
    assert r.json()["success"] is False


def test_request_id_is_echoed_for_tracing(system: System) -> None:
    r = system.api.post("/orders", json={"amount": 100, "currency": "INR"}, headers={"X-Request-Id": "trace-e2e-1"})
    assert r.status_code == 201
    assert r.headers["X-Request-Id"] == "trace-e2e-1"


def test_amount_mismatch_fails_the_payment_with_the_reason(system: System) -> None:
    order, payment = system.pending_payment(1500)
    assert system.webhook(order, payment, "SUCCESS", amount=1499, currency="INR").status_code == 200
    failed = system.wait_order(order["orderId"], {"FAILED", "PAID"})
    assert failed["status"] == "FAILED"
    assert failed["payment"]["status"] == "FAILED"
    assert failed["payment"]["errorCode"] == "AMOUNT_MISMATCH"
    # the order can still be paid properly afterwards
    assert system.initiate(order["orderId"]).status_code == 201
    assert system.wait_order(order["orderId"], {"PAID"})["payment"]["status"] == "SUCCESS"
