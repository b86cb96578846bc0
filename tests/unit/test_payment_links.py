"""Payment links' and the checkout page's pure rules: the entity's shape as the SDK reads it, status at a
moment (expiry read, not swept), the callback signature as Razorpay's SDK verifies it, what a create or
edit may hold, the page's CSRF token, the form read as a native method, and the pages escaping what they
show and never echoing a card."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import razorpay
from pydantic import ValidationError
from razorpay.errors import SignatureVerificationError

from order_svc.checkout import pages
from order_svc.checkout.domain import (
    csrf_key,
    csrf_token,
    csrf_valid,
    method_of,
    order_page_signature,
    order_page_signed,
    with_query,
)
from order_svc.orders.domain import Order, OrderStatus
from order_svc.payment_links.domain import (
    PaymentLink,
    callback_query,
    is_link_id,
    new_link_id,
    new_token,
    refusal,
    short_url,
    status_at,
)
from order_svc.payment_links.schemas import CreatePaymentLink, EditPaymentLink, PaymentLinkEntity
from order_svc.payments.domain import PaymentView
from order_svc.payments.schemas import InitiatePayment
from order_svc.v1.domain import checkout_signature

NOW = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)
SECRET = "merchant-key-secret-0123456789"


def link(**changes: Any) -> PaymentLink:
    fields: dict[str, Any] = {
        "id": "plink_ABCDEFGHIJ1234",
        "merchant_id": "m1",
        "order_id": "order_1",
        "token": "t" * 43,
        "short_url": "http://127.0.0.1:8080/l/" + "t" * 43,
        "description": "Invoice <7>",
        "customer_name": "Asha",
        "customer_email": "asha@example.com",
        "customer_contact": None,
        "expire_by": None,
        "reference_id": "INV-7",
        "callback_url": "https://shop.example.com/done",
        "callback_method": "get",
        "notes": {"a": "1"},
        "status": "created",
        "paid_payment_id": None,
        "cancelled_at": None,
        "created_at": NOW - timedelta(hours=1),
        "updated_at": NOW - timedelta(hours=1),
    }
    return PaymentLink(**{**fields, **changes})


def order(status: OrderStatus = OrderStatus.CREATED) -> Order:
    return Order("order_1", "m1", 2500, "INR", status, "INV-7", None, NOW, NOW)


def attempt(status: str) -> PaymentView:
    return PaymentView(
        "pay_1", "order_1", status, 2500, "INR", "gw_1", None, None, None, 2, NOW, NOW, {"type": "upi", "vpa": "a@b"}
    )


def test_ids_and_tokens_are_of_their_shape_and_unguessable() -> None:
    ids = {new_link_id() for _ in range(200)}
    assert len(ids) == 200 and all(is_link_id(value) for value in ids)
    assert not is_link_id("plink_short") and not is_link_id("order_ABCDEFGHIJ1234")
    tokens = {new_token() for _ in range(200)}
    assert len(tokens) == 200 and {len(token) for token in tokens} == {43}
    assert short_url("https://pay.example.com/", "abc") == "https://pay.example.com/l/abc"


def test_status_at_a_moment_expiry_read_not_swept() -> None:
    expiring = link(expire_by=NOW)
    assert status_at(expiring, NOW - timedelta(seconds=1)) == "created"
    assert status_at(expiring, NOW) == "expired"
    assert refusal(expiring, NOW) == "this payment link is expired"
    assert refusal(expiring, NOW - timedelta(seconds=1)) is None
    # paid and cancelled stay so, past expire_by or not
    assert status_at(link(expire_by=NOW, status="paid", paid_payment_id="pay_1"), NOW) == "paid"
    assert status_at(link(status="cancelled", cancelled_at=NOW), NOW) == "cancelled"


def test_the_entity_has_razorpays_shape() -> None:
    created = PaymentLinkEntity.of(link(expire_by=NOW + timedelta(days=1)), order(), [attempt("FAILED")], "u", NOW)
    body = created.model_dump(mode="json")
    assert body["entity"] == "payment_link" and body["status"] == "created" and body["short_url"] == "u"
    assert (body["amount"], body["amount_paid"], body["currency"], body["accept_partial"]) == (2500, 0, "INR", False)
    assert body["payments"] is None  # a failed attempt took no money
    assert body["customer"] == {"name": "Asha", "email": "asha@example.com"}
    assert (body["cancelled_at"], body["expired_at"], body["expire_by"]) == (
        0,
        0,
        int((NOW + timedelta(days=1)).timestamp()),
    )
    paid = PaymentLinkEntity.of(
        link(status="paid", paid_payment_id="pay_1"), order(OrderStatus.PAID), [attempt("SUCCESS")], "u", NOW
    )
    assert (paid.status, paid.amount_paid) == ("paid", 2500)
    assert paid.payments is not None
    assert paid.payments[0].model_dump() == {
        "amount": 2500,
        "created_at": int(NOW.timestamp()),
        "method": "upi",
        "payment_id": "pay_1",
        "plink_id": "plink_ABCDEFGHIJ1234",
        "status": "captured",
        "updated_at": int(NOW.timestamp()),
    }
    expired = PaymentLinkEntity.of(link(expire_by=NOW - timedelta(seconds=5)), order(), [], "u", NOW)
    assert expired.status == "expired" and expired.expired_at == expired.expire_by


@pytest.mark.parametrize("reference", ["INV-7", None])
def test_the_callback_is_signed_as_razorpays_sdk_verifies(reference: str | None) -> None:
    query = callback_query(link(reference_id=reference), "pay_1", SECRET)
    parameters = {
        "razorpay_payment_id": query["razorpay_payment_id"],
        "payment_link_id": query["razorpay_payment_link_id"],
        "payment_link_reference_id": query["razorpay_payment_link_reference_id"],
        "payment_link_status": query["razorpay_payment_link_status"],
        "razorpay_signature": query["razorpay_signature"],
    }
    utility = razorpay.Client(auth=("rzp_test_x", SECRET)).utility
    assert utility.verify_payment_link_signature(parameters) is True
    for tampered in ({"payment_link_status": "created"}, {"razorpay_payment_id": "pay_2"}):
        with pytest.raises(SignatureVerificationError):
            utility.verify_payment_link_signature({**parameters, **tampered})
    with pytest.raises(SignatureVerificationError):
        razorpay.Client(auth=("rzp_test_x", "another-secret")).utility.verify_payment_link_signature(parameters)


def test_the_callback_keeps_the_merchants_own_query() -> None:
    target = with_query("https://shop.example.com/done?cart=9#top", {"razorpay_payment_id": "pay_1", "x": "a b"})
    parts = urlsplit(target)
    assert parse_qsl(parts.query) == [("cart", "9"), ("razorpay_payment_id", "pay_1"), ("x", "a b")]
    assert parts.fragment == "top"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"amount": 0}, "amount"),
        ({"accept_partial": True}, "accept_partial"),
        ({"callback_url": "javascript:alert(1)"}, "callback_url"),
        ({"callback_url": "/relative"}, "callback_url"),
        ({"callback_url": "https://a.example/", "callback_method": "post"}, "callback_method"),
        ({"expire_by": 1000}, "expire_by"),
        ({"reference_id": "x" * 41}, "reference_id"),
        ({"currency": "XYZ"}, "currency"),
        ({"customer": {"email": "not-an-address"}}, "customer"),
        ({"unknown": 1}, "unknown"),
    ],
)
def test_create_refuses(fields: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        CreatePaymentLink.model_validate({"amount": 2500, "currency": "INR", **fields})
    assert field in str(refused.value.errors()[0]["loc"])


def test_create_and_edit_take_what_the_sdk_sends() -> None:
    later = int(time.time()) + 3600
    created = CreatePaymentLink.model_validate(
        {
            "amount": 2500,
            "currency": "INR",
            "accept_partial": False,
            "description": "d",
            "customer": {"name": "Asha", "email": "asha@example.com", "contact": "+919000090000"},
            "notify": {"sms": True, "email": True},
            "reminder_enable": True,
            "notes": {"k": "v"},
            "callback_url": "https://shop.example.com/done",
            "callback_method": "get",
            "expire_by": later,
            "reference_id": "R-1",
        }
    )
    assert created.expire_by == later
    edit = EditPaymentLink.model_validate({"reference_id": "R-2", "expire_by": later, "notes": {}})
    assert (edit.reference_id, edit.notes) == ("R-2", {})


def test_csrf_token_binds_the_page_the_browser_and_the_time() -> None:
    key = csrf_key(b"signing-key")
    token = csrf_token(key, "page-a", "nonce-1", 1000)
    assert csrf_valid(key, "page-a", "nonce-1", token, 1000 + 3600)
    assert not csrf_valid(key, "page-a", "nonce-1", token, 1000 + 3601)  # stale
    assert not csrf_valid(key, "page-b", "nonce-1", token, 1001)  # another link's page
    assert not csrf_valid(key, "page-a", "nonce-2", token, 1001)  # another browser
    assert not csrf_valid(key, "page-a", None, token, 1001)
    assert not csrf_valid(csrf_key(b"other"), "page-a", "nonce-1", token, 1001)
    for forged in ("", "1000", "x.y", f"1001.{token.split('.')[1]}"):
        assert not csrf_valid(key, "page-a", "nonce-1", forged, 1001)


def test_the_form_reads_as_the_native_method_and_its_rules_apply() -> None:
    card = method_of(
        {"method": "card", "card_number": "4111 1111 1111 1111", "expiry": "12/35", "cvv": "123", "card_name": "A"}
    )
    assert (card["expiryMonth"], card["expiryYear"]) == (12, 2035)
    assert InitiatePayment.model_validate({"orderId": "order_1", "method": card}).method is not None
    assert method_of({"method": "upi", "vpa": " a@b "}) == {"type": "upi", "vpa": "a@b"}
    assert method_of({"method": "netbanking", "bank": "HDFC"}) == {"type": "netbanking", "bank": "HDFC"}
    bad_expiry = method_of({"method": "card", "card_number": "4111111111111111", "expiry": "soon", "cvv": "1"})
    with pytest.raises(ValidationError) as refused:
        InitiatePayment.model_validate({"orderId": "order_1", "method": bad_expiry})
    assert "4111111111111111" not in str(refused.value)


def test_pages_escape_what_they_show_and_never_hold_a_card() -> None:
    html = pages.pay_page("<Shop>", 2500, "INR", "<script>x</script>", "tok", "/l/t?a=1&b=2", error="number: <bad>")
    assert html.count('action="/l/t?a=1&amp;b=2"') == 4
    assert "<script>x" not in html and "&lt;script&gt;x" in html and "&lt;Shop&gt;" in html
    assert html.count('name="csrf_token" value="tok"') == 4  # one form per method
    for label in ("Card number", "Expiry (MM/YY)", "CVV", "Name on card", "UPI ID", "Wallet", "Bank"):
        assert f">{label}</label>" in html
    assert "₹25.00" in html and 'name="viewport"' in html and "<script" not in html
    notice = pages.notice_page("S", 2500, "INR", None, "error", "declined", ("/l/t", "Try again"), refresh_seconds=1)
    assert 'http-equiv="refresh" content="1"' in notice and 'href="/l/t"' in notice


def test_an_order_page_opens_only_from_a_url_its_merchant_signed() -> None:
    signature = order_page_signature(SECRET, "order_1")
    assert order_page_signed(SECRET, "order_1", signature)
    assert not order_page_signed(SECRET, "order_2", signature)
    assert not order_page_signed("another-secret", "order_1", signature)
    assert not order_page_signed(SECRET, "order_1", signature[:-1] + "0")
    # never the checkout signature the same secret makes of an order and a payment
    assert signature != checkout_signature(SECRET, "order_1", "")
