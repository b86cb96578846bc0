"""`GET /orders/{id}/receipt.pdf` on the running system: only for a PAID order, only for its merchant,
the same bytes every time, and what it shows read back out of the PDF."""

from __future__ import annotations

import hashlib
import io
import time
from datetime import datetime
from typing import Any

import httpx
import pytest
from conftest import System
from pypdf import PdfReader

from order_svc.receipts.pdf import format_time
from payments_common import ids


def _receipt(client: httpx.Client, order_id: str) -> httpx.Response:
    return client.get(f"/orders/{order_id}/receipt.pdf")


def _text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def _paid_order(system: System, amount: int = 1500, currency: str = "INR", **extra: Any) -> dict[str, Any]:
    order = system.create_order(amount, currency, **extra)
    r = system.initiate(order["orderId"], vpa="success@razorpay")
    assert r.status_code == 201, r.text
    return system.wait_order(order["orderId"], {"PAID", "FAILED"})


def test_an_unpaid_order_has_no_receipt(system: System) -> None:
    order = system.create_order()
    r = _receipt(system.api, order["orderId"])
    assert r.status_code == 409
    assert r.headers["content-type"].startswith("application/json")
    assert r.json()["error"]["code"] == "ORDER_NOT_PAID"


def test_a_paid_order_gives_the_same_pdf_every_time(system: System) -> None:
    paid = _paid_order(system, receipt="INV-e2e-7")
    assert paid["status"] == "PAID"
    payment = paid["payment"]
    first = _receipt(system.api, paid["id"])
    assert first.status_code == 200, first.text
    assert first.headers["content-type"] == "application/pdf"
    assert first.headers["content-disposition"] == f'inline; filename="receipt-{paid["id"]}.pdf"'
    assert first.headers["cache-control"] == "private"
    assert first.headers["etag"] == f'"{hashlib.sha256(first.content).hexdigest()}"'
    assert first.content.startswith(b"%PDF-")

    again = _receipt(system.api, paid["id"])
    assert again.status_code == 200
    assert again.content == first.content
    assert again.headers["etag"] == first.headers["etag"]

    text = _text(first.content)
    merchant = system.keys[0][0]
    paid_at = format_time(datetime.fromisoformat(payment["updatedAt"]))
    for shown in (merchant, paid["id"], "INV-e2e-7", payment["id"], payment["gatewayPaymentId"], "₹15.00", paid_at):
        assert shown in text, shown
    assert "UPI success@razorpay" in text


def test_the_amount_is_shown_in_the_orders_currency(system: System) -> None:
    paid = _paid_order(system, 2599, "USD")
    assert paid["status"] == "PAID"
    r = _receipt(system.api, paid["id"])
    assert r.status_code == 200
    assert "$25.99" in _text(r.content)


def test_another_merchants_order_and_an_unknown_one_are_not_found(system: System) -> None:
    paid = _paid_order(system)
    assert paid["status"] == "PAID"
    other = _receipt(system.client_for(1), paid["id"])
    assert other.status_code == 404
    assert other.json()["error"]["code"] == "NOT_FOUND"
    for unknown in (ids.new_id(ids.ORDER), "not-an-order-id"):
        r = _receipt(system.api, unknown)
        assert r.status_code == 404
        assert r.json()["error"]["code"] == "NOT_FOUND"
    # and without credentials, nothing at all
    assert system.raw.get(f"{system.api_url}/orders/{paid['id']}/receipt.pdf").status_code == 401


def _wait_refund(system: System, refund_id: str, timeout: float = 20.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        r = system.api.get(f"/refunds/{refund_id}")
        assert r.status_code == 200, r.text
        refund = dict(r.json())
        if refund["status"] != "PENDING":
            return refund
        if time.monotonic() > deadline:
            raise AssertionError(f"refund {refund_id} stayed PENDING")
        time.sleep(0.1)


def test_a_processed_refund_shows_on_the_receipt(system: System) -> None:
    documented = system.raw.get(f"{system.api_url}/openapi.json").json()["paths"]
    if "/payments/{payment_id}/refunds" not in documented:
        pytest.skip("order-svc has no POST /payments/{payment_id}/refunds yet")
    paid = _paid_order(system, 1500, "INR")
    assert paid["status"] == "PAID"
    before = _receipt(system.api, paid["id"])
    assert before.status_code == 200

    r = system.api.post(f"/payments/{paid['payment']['id']}/refunds", json={"amount": 500})
    assert r.status_code == 201, r.text
    refund = _wait_refund(system, r.json()["refundId"])
    assert refund["status"] == "PROCESSED"

    after = _receipt(system.api, paid["id"])
    assert after.status_code == 200
    assert after.headers["etag"] != before.headers["etag"]
    text = _text(after.content)
    assert refund["refundId"] in text
    assert "PROCESSED" in text
    assert "Refunded -₹5.00" in text
    assert "Net amount ₹10.00" in text
