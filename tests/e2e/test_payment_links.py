"""Payment links against the running system, through the official SDK (`client.payment_link.create`,
`fetch`, `all`, `edit`, `cancel`, unchanged) and the hosted checkout page at each link's short_url, driven
over plain HTTP as a browser without script would: a decline then a retry on the same link, the redirect
to callback_url whose signature `Utility.verify_payment_link_signature` accepts, a paid link that cannot be
paid again, and a cancelled one that says so."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
import razorpay
from conftest import System
from razorpay.errors import BadRequestError, SignatureVerificationError

CALLBACK = "https://shop.example.com/paid?cart=42"


@pytest.fixture
def client(system: System) -> razorpay.Client:
    return razorpay.Client(auth=system.keys[0], base_url=system.api_url)


def _create(client: razorpay.Client, **fields: Any) -> dict[str, Any]:
    body = {
        "amount": 2500,
        "currency": "INR",
        "description": "Order #42",
        "reference_id": f"ref-{uuid.uuid4().hex[:12]}",
        "customer": {"name": "Asha Rao", "email": "asha@example.com", "contact": "+919000090000"},
        "callback_url": CALLBACK,
        "callback_method": "get",
        "notes": {"cart": "42"},
        **fields,
    }
    return dict(client.payment_link.create(body))


def attempts_of(system: System, link_id: str) -> int:
    rows = system.sql(
        """SELECT count(*) AS n FROM orders.payment_views v
             JOIN orders.payment_links l ON l.order_id = v.order_id WHERE l.id = $1""",
        link_id,
    )
    return int(rows[0]["n"])


def _csrf(page: httpx.Response) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


def _outcome(browser: httpx.Client, location: str, timeout: float = 20.0) -> httpx.Response:
    """The payment's page, refreshed (as its meta refresh does) until it says more than "Processing"."""
    deadline = time.monotonic() + timeout
    while True:
        answer = browser.get(location)
        if "Processing your payment" not in answer.text or time.monotonic() > deadline:
            return answer
        time.sleep(0.3)


def _pay(browser: httpx.Client, short_url: str, **form: str) -> httpx.Response:
    page = browser.get(short_url)
    assert page.status_code == 200 and 'name="csrf_token"' in page.text
    started = browser.post(short_url, data={**form, "csrf_token": _csrf(page)})
    assert started.status_code == 303, started.text
    return _outcome(browser, short_url.rsplit("/l/", 1)[0] + started.headers["location"])


def test_the_sdk_creates_fetches_lists_edits_and_cancels(client: razorpay.Client, system: System) -> None:
    link = _create(client)
    assert link["id"].startswith("plink_") and link["entity"] == "payment_link" and link["status"] == "created"
    assert link["short_url"].startswith(system.api_url + "/l/") and link["amount"] == 2500
    assert link["customer"]["email"] == "asha@example.com" and link["payments"] is None
    assert client.payment_link.fetch(link["id"]) == link
    listed = client.payment_link.all({"reference_id": link["reference_id"]})
    assert [found["id"] for found in listed["payment_links"]] == [link["id"]]
    later = int(time.time()) + 86_400
    edited = client.payment_link.edit(link["id"], {"notes": {"cart": "43"}, "expire_by": later})
    assert (edited["notes"], edited["expire_by"], edited["status"]) == ({"cart": "43"}, later, "created")
    with pytest.raises(BadRequestError):
        _create(client, reference_id=link["reference_id"])  # a reference id is the merchant's once
    cancelled = client.payment_link.cancel(link["id"])
    assert cancelled["status"] == "cancelled" and cancelled["cancelled_at"] > 0
    with pytest.raises(BadRequestError):
        client.payment_link.cancel(link["id"])
    with pytest.raises(BadRequestError):
        client.payment_link.edit(link["id"], {"notes": {}})
    # the page of a cancelled link says so and offers no form
    page = httpx.get(link["short_url"], timeout=15)
    assert page.status_code == 410 and "cancelled" in page.text and "csrf_token" not in page.text
    with pytest.raises(BadRequestError):
        client.payment_link.fetch("plink_" + "0" * 14)
    # another merchant's link is not found
    other = razorpay.Client(auth=system.keys[1], base_url=system.api_url)
    with pytest.raises(BadRequestError):
        other.payment_link.fetch(link["id"])


def test_a_declined_payment_then_a_retry_pays_the_link_and_returns_signed(
    client: razorpay.Client, system: System
) -> None:
    link = _create(client)
    with httpx.Client(timeout=15) as browser:
        declined = _pay(browser, link["short_url"], method="upi", vpa="failure@razorpay")
        assert "declined" in declined.text and "Try again" in declined.text
        assert client.payment_link.fetch(link["id"])["status"] == "created"
        paid = _pay(browser, link["short_url"], method="upi", vpa="success@razorpay")
        assert paid.status_code == 303, paid.text
        target = paid.headers["location"]
    assert target.startswith("https://shop.example.com/paid?")
    query = dict(parse_qsl(urlsplit(target).query))
    assert query["cart"] == "42" and query["razorpay_payment_link_status"] == "paid"
    assert query["razorpay_payment_link_id"] == link["id"]
    assert query["razorpay_payment_link_reference_id"] == link["reference_id"]
    parameters = {
        "razorpay_payment_id": query["razorpay_payment_id"],
        "payment_link_id": query["razorpay_payment_link_id"],
        "payment_link_reference_id": query["razorpay_payment_link_reference_id"],
        "payment_link_status": query["razorpay_payment_link_status"],
        "razorpay_signature": query["razorpay_signature"],
    }
    assert client.utility.verify_payment_link_signature(parameters) is True
    with pytest.raises(SignatureVerificationError):
        client.utility.verify_payment_link_signature({**parameters, "payment_link_status": "created"})

    fetched = client.payment_link.fetch(link["id"])
    assert (fetched["status"], fetched["amount_paid"]) == ("paid", 2500)
    assert [payment["payment_id"] for payment in fetched["payments"]] == [query["razorpay_payment_id"]]
    payment = client.payment.fetch(query["razorpay_payment_id"])
    assert payment["status"] == "captured" and payment["vpa"] == "success@razorpay"

    # a paid link cannot be paid again: its page says so, and a form posted anyway starts nothing
    with httpx.Client(timeout=15) as browser:
        page = browser.get(link["short_url"])
        assert page.status_code == 200 and "has been paid" in page.text and "csrf_token" not in page.text
        again = browser.post(link["short_url"], data={"method": "upi", "vpa": "success@razorpay", "csrf_token": "x"})
        assert again.status_code == 200 and "has been paid" in again.text and "csrf_token" not in again.text
    assert attempts_of(system, link["id"]) == 2


def test_a_form_without_its_csrf_pair_starts_nothing(client: razorpay.Client, system: System) -> None:
    link = _create(client)
    with httpx.Client(timeout=15) as browser:
        page = browser.get(link["short_url"])
        token = _csrf(page)
    # another browser (no nonce cookie) with a token lifted from the page
    refused = httpx.post(link["short_url"], data={"method": "upi", "vpa": "success@razorpay", "csrf_token": token})
    assert refused.status_code == 403
    assert attempts_of(system, link["id"]) == 0
