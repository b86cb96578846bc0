"""The official Python SDK (`razorpay`, pinned in the dev dependencies) as a real merchant's client of the
/v1 surface: orders, server-to-server payments with every method and a decline, the checkout signature,
fetches and lists, refunds in part and in full, and every error class the SDK maps.

SDK methods exercised: `order.create`, `order.fetch`, `order.all`, `order.payments`,
`payment.createPaymentJson`, `payment.fetch`, `payment.all`, `payment.edit`, `payment.capture` (authorise,
then capture: `payment_capture: 0`), `payment.refund`,
`payment.fetch_multiple_refund`, `payment.fetch_refund_id`, `payment.fetchPaymentMethods`, `refund.fetch`,
`refund.all`, `utility.verify_payment_signature`; errors `BadRequestError` (bad amount, unknown id,
over-refund, paid order, bad credentials' code), `SignatureVerificationError`.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import pytest
import razorpay
from conftest import System
from razorpay.errors import BadRequestError, SignatureVerificationError

CARD = {"number": "4111111111111111", "expiry_month": "12", "expiry_year": "35", "cvv": "123", "name": "Asha Rao"}
DECLINED_CARD = {**CARD, "number": "4000000000000002"}
CUSTOMER = {"email": "asha@example.com", "contact": "+919000090000"}


@pytest.fixture
def client(system: System) -> razorpay.Client:
    return razorpay.Client(auth=system.keys[0], base_url=system.api_url)


def _order(client: razorpay.Client, amount: int = 50_000) -> dict[str, Any]:
    receipt = f"rcpt-{uuid.uuid4().hex[:12]}"
    return dict(client.order.create({"amount": amount, "currency": "INR", "receipt": receipt, "notes": {"a": "b"}}))


def _pay(client: razorpay.Client, order: dict[str, Any], method: str, **fields: Any) -> str:
    body = {"amount": order["amount"], "currency": "INR", "order_id": order["id"], "method": method}
    answer = client.payment.createPaymentJson({**body, **CUSTOMER, **fields})
    assert answer["razorpay_order_id"] == order["id"]
    return str(answer["razorpay_payment_id"])


def _settled(client: razorpay.Client, payment_id: str, timeout: float = 20.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        payment = dict(client.payment.fetch(payment_id))
        if payment["status"] != "created" or time.monotonic() > deadline:
            return payment
        time.sleep(0.2)


def _refund_settled(client: razorpay.Client, refund_id: str, timeout: float = 20.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        refund = dict(client.refund.fetch(refund_id))
        if refund["status"] != "pending" or time.monotonic() > deadline:
            return refund
        time.sleep(0.2)


def test_an_order_paid_by_card_with_its_checkout_signature(client: razorpay.Client, system: System) -> None:
    order = _order(client)
    assert order["entity"] == "order" and order["status"] == "created" and order["amount_due"] == 50_000
    payment_id = _pay(client, order, "card", card=CARD)
    payment = _settled(client, payment_id)
    assert payment["status"] == "captured" and payment["captured"] is True
    assert payment["card"]["last4"] == "1111" and payment["method"] == "card"
    assert payment["email"] == CUSTOMER["email"] and payment["order_id"] == order["id"]
    # what the front end reports after checkout, read where /v1 answers it (create/json's `next`)
    checkout = system.api.get(f"/v1/payments/{payment_id}/checkout").json()
    assert client.utility.verify_payment_signature(checkout) is True
    forged = {**checkout, "razorpay_signature": "0" * 64}
    with pytest.raises(SignatureVerificationError):
        client.utility.verify_payment_signature(forged)
    paid = client.order.fetch(order["id"])
    assert paid["status"] == "paid" and paid["amount_paid"] == 50_000 and paid["amount_due"] == 0
    assert paid["attempts"] == 1
    payments = client.order.payments(order["id"])
    assert payments["entity"] == "collection" and [p["id"] for p in payments["items"]] == [payment_id]
    edited = client.payment.edit(payment_id, {"notes": {"invoice": "INV-7"}})
    assert edited["notes"] == {"invoice": "INV-7"}


@pytest.mark.parametrize(
    ("method", "fields", "shown"),
    [
        ("upi", {"vpa": "success@razorpay"}, ("vpa", "success@razorpay")),
        ("wallet", {"wallet": "paytm"}, ("wallet", "paytm")),
        ("netbanking", {"bank": "HDFC"}, ("bank", "HDFC")),
    ],
)
def test_each_method_pays(client: razorpay.Client, method: str, fields: dict[str, Any], shown: tuple[str, str]) -> None:
    order = _order(client)
    payment = _settled(client, _pay(client, order, method, **fields))
    assert payment["status"] == "captured" and payment["method"] == method
    assert payment[shown[0]] == shown[1]


def test_a_decline_then_a_good_card(client: razorpay.Client, system: System) -> None:
    order = _order(client)
    declined = _settled(client, _pay(client, order, "card", card=DECLINED_CARD))
    assert declined["status"] == "failed" and declined["error_reason"] == "card_declined"
    assert declined["error_code"] == "BAD_REQUEST_ERROR" and declined["error_description"]
    assert client.order.fetch(order["id"])["status"] == "attempted"
    # a failed payment has no checkout signature
    refused = system.api.get(f"/v1/payments/{declined['id']}/checkout")
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "BAD_REQUEST_ERROR"
    good = _settled(client, _pay(client, order, "card", card=CARD))
    assert good["status"] == "captured"
    assert client.order.fetch(order["id"])["attempts"] == 2
    # a paid order takes no other payment
    with pytest.raises(BadRequestError):
        _pay(client, order, "upi", vpa="success@razorpay")


def test_refunds_in_part_then_in_full(client: razorpay.Client) -> None:
    order = _order(client, 10_000)
    payment_id = _pay(client, order, "card", card=CARD)
    assert _settled(client, payment_id)["status"] == "captured"
    part = client.payment.refund(payment_id, {"amount": 3_000, "receipt": "refund-1", "notes": {"why": "size"}})
    assert part["entity"] == "refund" and part["amount"] == 3_000 and part["status"] == "pending"
    assert part["receipt"] == "refund-1" and part["payment_id"] == payment_id
    partial = client.payment.fetch(payment_id)
    assert partial["refund_status"] == "partial" and partial["amount_refunded"] == 3_000
    # more than what is left
    with pytest.raises(BadRequestError):
        client.payment.refund(payment_id, {"amount": 7_001})
    rest = client.payment.refund(payment_id, {})
    assert rest["amount"] == 7_000
    full = client.payment.fetch(payment_id)
    assert full["status"] == "refunded" and full["refund_status"] == "full"
    assert _refund_settled(client, part["id"])["status"] == "processed"
    listed = client.payment.fetch_multiple_refund(payment_id)
    assert {r["id"] for r in listed["items"]} == {part["id"], rest["id"]}
    assert client.payment.fetch_refund_id(payment_id, rest["id"])["amount"] == 7_000
    assert client.refund.fetch(part["id"])["notes"] == {"why": "size"}
    assert part["id"] in {r["id"] for r in client.refund.all({"count": 100})["items"]}
    with pytest.raises(BadRequestError):
        client.payment.refund(payment_id, {"amount": 1})


def test_lists_page_newest_first(client: razorpay.Client) -> None:
    # from the next whole second: no order of an earlier test is in the window
    start = int(time.time()) + 1
    time.sleep(start - time.time())
    made = [_order(client, 1_000 + n) for n in range(3)]
    newest = client.order.all({"count": 2, "from": start})
    assert newest["entity"] == "collection" and newest["count"] == 2
    assert [o["id"] for o in newest["items"]] == [made[2]["id"], made[1]["id"]]
    after = client.order.all({"count": 2, "skip": 2, "from": start})
    assert [o["id"] for o in after["items"]] == [made[0]["id"]]
    by_receipt = client.order.all({"receipt": made[1]["receipt"]})
    assert [o["id"] for o in by_receipt["items"]] == [made[1]["id"]]
    assert client.payment.all({"count": 1})["entity"] == "collection"
    methods = client.payment.fetchPaymentMethods()
    assert methods["entity"] == "methods" and methods["upi"] is True


def test_every_error_the_sdk_maps(client: razorpay.Client, system: System) -> None:
    with pytest.raises(BadRequestError, match="amount"):
        client.order.create({"amount": -5, "currency": "INR"})
    with pytest.raises(BadRequestError, match="does not exist"):
        client.order.fetch("order_" + "0" * 32)
    with pytest.raises(BadRequestError, match="does not exist"):
        client.payment.fetch("pay_nope")
    with pytest.raises(BadRequestError):
        client.order.all({"count": 101})
    order = _order(client)
    with pytest.raises(BadRequestError, match="amount"):
        _pay(client, {**order, "amount": order["amount"] + 1}, "card", card=CARD)
    with pytest.raises(BadRequestError, match=r"card\.number"):
        _pay(client, order, "card", card={**CARD, "number": "4111111111111112"})
    stranger = razorpay.Client(auth=(system.keys[0][0], "wrong-secret"), base_url=system.api_url)
    with pytest.raises(BadRequestError):
        stranger.order.all()
    # the error objects themselves, as Razorpay shapes them
    r = httpx.get(f"{system.api_url}/v1/orders/order_x", auth=system.keys[0])
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["code"] == "BAD_REQUEST_ERROR" and error["description"] == "The id provided does not exist"
    assert set(error) == {"code", "description", "field", "source", "step", "reason", "metadata"}
    assert httpx.get(f"{system.api_url}/v1/orders", auth=("x", "y")).status_code == 401


def _authorized(client: razorpay.Client, card: dict[str, Any] = CARD) -> tuple[dict[str, Any], dict[str, Any]]:
    """An order created with `payment_capture: 0`, paid by card: the payment stops at `authorized`."""
    order = dict(client.order.create({"amount": 50_000, "currency": "INR", "payment_capture": 0}))
    payment = _settled(client, _pay(client, order, "card", card=card))
    return order, payment


def test_authorise_then_capture(client: razorpay.Client, system: System) -> None:
    order, payment = _authorized(client)
    assert payment["status"] == "authorized" and payment["captured"] is False
    assert client.order.fetch(order["id"])["status"] == "attempted"

    captured = client.payment.capture(payment["id"], 50_000, {"currency": "INR"})

    assert captured["status"] == "captured" and captured["captured"] is True and captured["id"] == payment["id"]
    deadline = time.monotonic() + 20
    while client.order.fetch(order["id"])["status"] != "paid":
        assert time.monotonic() < deadline, "the captured order never became paid"
        time.sleep(0.2)
    paid = client.order.fetch(order["id"])
    assert paid["amount_paid"] == 50_000 and paid["amount_due"] == 0
    checkout = system.api.get(f"/v1/payments/{payment['id']}/checkout").json()
    assert client.utility.verify_payment_signature(checkout) is True
    # a captured payment refunds as any other
    refund = client.payment.refund(payment["id"], {"amount": 10_000})
    assert refund["amount"] == 10_000


def test_captures_that_cannot_be_made_are_bad_requests(client: razorpay.Client) -> None:
    _, payment = _authorized(client)
    with pytest.raises(BadRequestError, match="amount"):
        client.payment.capture(payment["id"], 49_999, {"currency": "INR"})
    with pytest.raises(BadRequestError, match="currency"):
        client.payment.capture(payment["id"], 50_000, {"currency": "USD"})
    assert client.payment.fetch(payment["id"])["status"] == "authorized"

    client.payment.capture(payment["id"], 50_000, {"currency": "INR"})
    with pytest.raises(BadRequestError, match="already captured"):
        client.payment.capture(payment["id"], 50_000, {"currency": "INR"})

    _, declined = _authorized(client, DECLINED_CARD)
    assert declined["status"] == "failed"
    with pytest.raises(BadRequestError):
        client.payment.capture(declined["id"], 50_000, {"currency": "INR"})
    with pytest.raises(BadRequestError, match="does not exist"):
        client.payment.capture("pay_nope", 50_000, {"currency": "INR"})
