"""The hosted checkout pages in Chromium at phone width, served by order-svc's own checkout routes on a
throwaway database (`checkout_alone`: runs with or without the system): the pay page with its four
labelled forms filled in order by the keyboard; a form posted from another browser, without the page's
cookie, refused; a declined payment's page offering a retry that leads back to the forms; once the link is
paid, the return to callback_url whose parameters Razorpay's SDK verifies, and the link's page saying it
is paid with nothing to pay; an order's own page opened only from the URL its merchant signed. Takes the
screenshots in docs/images/ that docs/api.md shows."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
import razorpay
from playwright.sync_api import Browser, Page, expect

from .checkout_alone import MERCHANT_NAME, Pages, serve_alone, shop, walk_the_card_form_by_keyboard
from .conftest import DEFAULT_ADMIN_URL, IMAGES

PHONE = {"width": 375, "height": 812}


@pytest.fixture(scope="module")
def pages() -> Iterator[Pages]:
    with serve_alone(os.environ.get("TEST_DATABASE_ADMIN_URL") or DEFAULT_ADMIN_URL) as served:
        yield served


@pytest.fixture(scope="module")
def callback_url() -> Iterator[str]:
    with shop() as url:
        yield url


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def test_the_pay_page_at_phone_width_filled_by_the_keyboard(phone: Page, pages: Pages, callback_url: str) -> None:
    link = pages.link(callback_url)
    phone.goto(link.short_url)
    expect(phone.locator("#amount")).to_have_text("₹25.00")
    expect(phone.get_by_role("heading")).to_have_text(MERCHANT_NAME)
    expect(phone.get_by_text("Two notebooks and a pen")).to_be_visible()
    # nothing wider than the phone: no sideways scrolling
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    phone.screenshot(path=str(IMAGES / "checkout-link.png"), full_page=True)
    walk_the_card_form_by_keyboard(phone)


def test_a_form_from_another_browser_is_refused_and_starts_nothing(
    phone: Page, pages: Pages, callback_url: str
) -> None:
    link = pages.link(callback_url)
    phone.goto(link.short_url)
    token = phone.locator('#upi input[name="csrf_token"]').get_attribute("value")
    assert token
    # the token alone, without the page's SameSite cookie, as a cross-site form would send it
    refused = httpx.post(link.short_url, data={"method": "upi", "vpa": "success@razorpay", "csrf_token": token})
    assert refused.status_code == 403 and "This page has expired" in refused.text
    assert pages.run(pages.deps.pool.fetchval("SELECT count(*) FROM payment_views")) == 0
    assert refused.headers["Cache-Control"] == "no-store" and refused.headers["Referrer-Policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in refused.headers["Content-Security-Policy"]


def test_a_declined_payment_offers_a_retry_then_the_paid_link_returns_signed(
    phone: Page, pages: Pages, callback_url: str
) -> None:
    link = pages.link(callback_url)
    token = link.short_url.rsplit("/", 1)[1]
    declined = pages.settle(
        link, "FAILED", errorCode="CARD_DECLINED", errorDescription="The card was declined by the issuing bank"
    )
    phone.goto(f"{pages.url}/l/{token}/payments/{declined}")
    expect(phone.locator("#status")).to_have_text(
        "The payment was declined: The card was declined by the issuing bank."
    )
    phone.screenshot(path=str(IMAGES / "checkout-declined.png"), full_page=True)
    phone.get_by_role("link", name="Try again").click()
    expect(phone.get_by_role("button", name=re.compile("by card"))).to_be_visible()

    paid = pages.settle(link, "SUCCESS", gatewayPaymentId="gw_1", signature="s")
    phone.goto(f"{pages.url}/l/{token}/payments/{paid}")
    phone.wait_for_url(callback_url + "?*")
    query = dict(parse_qsl(urlsplit(phone.url).query))
    assert (query["razorpay_payment_id"], query["razorpay_payment_link_id"]) == (paid, link.id)
    assert query["razorpay_payment_link_reference_id"] == link.reference_id
    parameters = {
        "razorpay_payment_id": query["razorpay_payment_id"],
        "payment_link_id": query["razorpay_payment_link_id"],
        "payment_link_reference_id": query["razorpay_payment_link_reference_id"],
        "payment_link_status": query["razorpay_payment_link_status"],
        "razorpay_signature": query["razorpay_signature"],
    }
    assert (
        razorpay.Client(auth=(pages.key_id, pages.key_secret)).utility.verify_payment_link_signature(parameters) is True
    )

    # the paid link's page says so, and has nothing to pay with; a form posted anyway starts nothing
    phone.goto(link.short_url)
    expect(phone.locator("#status")).to_have_text("This payment link has been paid. Thank you.")
    expect(phone.get_by_role("button")).to_have_count(0)
    phone.screenshot(path=str(IMAGES / "checkout-paid.png"), full_page=True)
    again = httpx.post(link.short_url, data={"method": "upi", "vpa": "success@razorpay", "csrf_token": "x"})
    assert again.status_code == 200 and "has been paid" in again.text


def test_an_orders_own_page_from_the_url_its_merchant_signed(phone: Page, pages: Pages) -> None:
    order_id, url = pages.order_page(4200)
    phone.goto(url)
    expect(phone.locator("#amount")).to_have_text("₹42.00")
    expect(phone.get_by_role("heading")).to_have_text(MERCHANT_NAME)
    phone.screenshot(path=str(IMAGES / "checkout-order.png"), full_page=True)
    # each form posts back to the very URL, its signature kept
    for action in phone.locator("form").evaluate_all("forms => forms.map(form => form.action)"):
        assert action == url
    # a URL the merchant did not sign is no page
    forged = url.rsplit("=", 1)[0] + "=" + "0" * 64
    assert httpx.get(forged).status_code == 404
    assert httpx.get(url.split("?")[0]).status_code == 404
    paid = pages.settle(order_id, "SUCCESS", gatewayPaymentId="gw_2", signature="s")
    phone.goto(url.replace("?", f"/payments/{paid}?"))
    expect(phone.locator("#status")).to_have_text("Payment received. Thank you.")
    phone.goto(url)
    expect(phone.locator("#status")).to_have_text("This order has been paid. Thank you.")
    expect(phone.get_by_role("button")).to_have_count(0)


def test_a_cancelled_links_page_says_so_and_takes_no_payment(phone: Page, pages: Pages, callback_url: str) -> None:
    link = pages.link(callback_url)
    phone.goto(link.short_url)
    token = phone.locator("input[name=csrf_token]").first.input_value()
    pages.cancel(link)
    response = phone.goto(link.short_url)
    assert response is not None and response.status == 410
    expect(phone.locator("#status")).to_have_text("This payment link is cancelled: it can no longer be paid.")
    expect(phone.locator("form")).to_have_count(0)
    phone.screenshot(path=str(IMAGES / "checkout-cancelled.png"), full_page=True)
    # a form kept from before the cancellation starts nothing
    posted = phone.request.post(link.short_url, form={"csrf_token": token, "method": "upi", "vpa": "success@razorpay"})
    assert posted.status == 410
