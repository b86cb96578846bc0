"""The hosted checkout page of payment links in Chromium, at phone width, against the whole system: a link
paid by card and one by UPI, each returning to a callback receiver on this machine whose parameters
Razorpay's SDK verifies; a declined card then a retry on the same link; a paid link whose page says so and
offers nothing to pay; the card form filled by the keyboard alone, in order. Screenshots of each page go
to docs/images/ (linked from docs/api.md)."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import razorpay
from playwright.sync_api import Browser, Page, expect

from payments_common.config import parse_api_keys

from .checkout_alone import shop, walk_the_card_form_by_keyboard

PHONE = {"width": 375, "height": 812}
AMOUNT = 2500


@pytest.fixture(scope="module")
def callback_url() -> Iterator[str]:
    with shop() as url:
        yield url


@pytest.fixture(scope="module")
def client() -> razorpay.Client:
    api_url, keys = os.environ.get("API_URL"), os.environ.get("API_KEYS")
    if not api_url or not keys:
        pytest.skip("needs the whole system: run this tier through `make browser` (payments-stack exec)")
    key = next(iter(parse_api_keys(keys).values()))
    return razorpay.Client(auth=(key.key_id, key.secret.get_secret_value()), base_url=api_url.rstrip("/"))


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()


def _link(client: razorpay.Client, callback_url: str) -> dict[str, Any]:
    return dict(
        client.payment_link.create(
            {
                "amount": AMOUNT,
                "currency": "INR",
                "description": "Two notebooks and a pen",
                "reference_id": f"shop-{uuid.uuid4().hex[:10]}",
                "customer": {"name": "Asha Rao", "email": "asha@example.com"},
                "callback_url": callback_url,
                "callback_method": "get",
            }
        )
    )


def _pay_by_card(page: Page, number: str) -> None:
    page.get_by_label("Card number").fill(number)
    page.get_by_label("Expiry (MM/YY)").fill("12/35")
    page.get_by_label("CVV").fill("123")
    page.get_by_label("Name on card").fill("Asha Rao")
    page.get_by_role("button", name=re.compile("by card")).click()


def _returned(page: Page, client: razorpay.Client, callback_url: str, link: dict[str, Any]) -> dict[str, str]:
    """The customer is back at the merchant's callback_url; its parameters, verified with the SDK."""
    page.wait_for_url(callback_url + "?*")
    query = dict(parse_qsl(urlsplit(page.url).query))
    assert query["razorpay_payment_link_id"] == link["id"]
    assert query["razorpay_payment_link_reference_id"] == link["reference_id"]
    assert query["razorpay_payment_link_status"] == "paid"
    assert client.utility.verify_payment_link_signature(
        {
            "razorpay_payment_id": query["razorpay_payment_id"],
            "payment_link_id": query["razorpay_payment_link_id"],
            "payment_link_reference_id": query["razorpay_payment_link_reference_id"],
            "payment_link_status": query["razorpay_payment_link_status"],
            "razorpay_signature": query["razorpay_signature"],
        }
    )
    assert client.payment_link.fetch(link["id"])["status"] == "paid"
    return query


def test_a_link_paid_by_card_returns_to_the_merchant_signed(
    phone: Page, client: razorpay.Client, callback_url: str
) -> None:
    link = _link(client, callback_url)
    phone.goto(link["short_url"])
    expect(phone.locator("#amount")).to_have_text("₹25.00")
    expect(phone.get_by_text("Two notebooks and a pen")).to_be_visible()
    _pay_by_card(phone, "4111 1111 1111 1111")
    query = _returned(phone, client, callback_url, link)
    payment = client.payment.fetch(query["razorpay_payment_id"])
    assert payment["method"] == "card" and payment["card"]["last4"] == "1111" and payment["status"] == "captured"

    # a paid link cannot be paid again: its page says so and has no form
    phone.goto(link["short_url"])
    expect(phone.locator("#status")).to_contain_text("has been paid")
    expect(phone.get_by_role("button")).to_have_count(0)


def test_a_link_paid_by_upi(phone: Page, client: razorpay.Client, callback_url: str) -> None:
    link = _link(client, callback_url)
    phone.goto(link["short_url"])
    phone.get_by_text("UPI", exact=True).click()
    phone.get_by_label("UPI ID").fill("success@razorpay")
    phone.get_by_role("button", name=re.compile("by UPI")).click()
    query = _returned(phone, client, callback_url, link)
    assert client.payment.fetch(query["razorpay_payment_id"])["vpa"] == "success@razorpay"


def test_a_declined_card_then_a_retry_on_the_same_link(phone: Page, client: razorpay.Client, callback_url: str) -> None:
    link = _link(client, callback_url)
    phone.goto(link["short_url"])
    _pay_by_card(phone, "4000 0000 0000 0002")
    expect(phone.locator("#status")).to_contain_text("declined", timeout=20_000)
    assert client.payment_link.fetch(link["id"])["status"] == "created"
    phone.get_by_role("link", name="Try again").click()
    _pay_by_card(phone, "4111 1111 1111 1111")
    query = _returned(phone, client, callback_url, link)
    paid = client.payment_link.fetch(link["id"])
    assert [payment["payment_id"] for payment in paid["payments"]] == [query["razorpay_payment_id"]]


def test_the_card_form_is_filled_by_the_keyboard_alone(phone: Page, client: razorpay.Client, callback_url: str) -> None:
    link = _link(client, callback_url)
    phone.goto(link["short_url"])
    walk_the_card_form_by_keyboard(phone)
