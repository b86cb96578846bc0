"""The console against the whole running system (`make browser`): a few hundred payments of mixed outcomes
driven through the client API, then the analytics page's numbers checked against what SQL says of the same
window, a payment found by its order's id and its log read, a dead letter requeued until it leaves the list
and its payment settles, and an anomaly resolved. Each page's screenshot is written to docs/images/."""

from __future__ import annotations

import os
import re
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from payments_common import ids
from payments_common.money import format_amount
from payments_common.signatures import payment_signature
from payments_console.http import _percent, _seconds

from .conftest import IMAGES, Console, login
from .seed import OUTCOMES, Driver

PAYMENTS = int(os.environ.get("BROWSER_PAYMENTS", "300"))


def shot(page: Page, name: str, *, full_page: bool = True) -> None:
    IMAGES.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(IMAGES / name), full_page=full_page)


@pytest.fixture(scope="session")
def driver(system: Console) -> Driver:
    return Driver()


@pytest.fixture(scope="session")
def seeded(driver: Driver) -> dict[str, Any]:
    """PAYMENTS payments of mixed outcomes, a tenth of the successes partly refunded; the window they fall in."""
    since = datetime.now(UTC).replace(second=0, microsecond=0)
    made = driver.pay_many(PAYMENTS)
    driver.wait_settled([p["paymentId"] for n, p in enumerate(made) if OUTCOMES[n % len(OUTCOMES)][1] != "INITIATED"])
    succeeded = driver.sql(
        "SELECT id, amount FROM payments.payments WHERE id = ANY($1) AND status = 'SUCCESS' ORDER BY id",
        [p["paymentId"] for p in made],
    )
    for row in succeeded[::10]:
        driver.refund(row["id"], row["amount"] // 2)
    return {"since": since, "made": made, "refunded": [row["id"] for row in succeeded[::10]]}


def _figure(page: Page, name: str) -> str:
    return page.locator(f'[data-figure="{name}"]').first.inner_text().strip()


def test_the_analytics_page_shows_what_sql_counts(page: Page, system: Console, driver: Driver, seeded: Any) -> None:
    since: datetime = seeded["since"]
    until = (datetime.now(UTC) + timedelta(minutes=2)).replace(second=0, microsecond=0)
    window = (since, until)
    # the order-svc side settles a moment after payment-svc's: wait for its view of the same payments
    deadline = time.monotonic() + 30
    while True:
        unpaid = driver.sql(
            """SELECT count(*) AS n FROM orders.orders o JOIN payments.payments p ON p.order_id = o.id
                WHERE p.id = ANY($1) AND p.status = 'SUCCESS' AND o.status <> 'PAID'""",
            [p["paymentId"] for p in seeded["made"]],
        )[0]["n"]
        if unpaid == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    [counts] = driver.sql(
        """SELECT count(*) AS attempted, count(*) FILTER (WHERE status = 'SUCCESS') AS succeeded,
                  count(*) FILTER (WHERE status = 'FAILED') AS failed,
                  count(*) FILTER (WHERE status = 'INITIATED') AS pending,
                  coalesce(sum(amount) FILTER (WHERE status = 'SUCCESS' AND currency = 'INR'), 0)::bigint AS paid_inr,
                  count(*) FILTER (WHERE status = 'SUCCESS' AND currency = 'INR') AS paid_inr_count
             FROM payments.payments WHERE created_at >= $1 AND created_at < $2""",
        *window,
    )
    [refunds] = driver.sql(
        "SELECT count(*) AS n FROM payments.refunds WHERE created_at >= $1 AND created_at < $2", *window
    )
    [orders] = driver.sql(
        """SELECT count(*) AS orders, count(*) FILTER (WHERE status = 'PAID') AS paid
             FROM orders.orders WHERE created_at >= $1 AND created_at < $2""",
        *window,
    )
    [settle] = driver.sql(
        """SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY s) AS p50 FROM (
             SELECT extract(epoch FROM min(e.created_at) - p.created_at)::float8 AS s
               FROM payments.payments p JOIN payments.payment_events e ON e.payment_id = p.id AND e.kind = 'settled'
              WHERE p.created_at >= $1 AND p.created_at < $2 GROUP BY p.id, p.created_at) t""",
        *window,
    )
    assert counts["attempted"] >= PAYMENTS

    login(page, system)
    page.goto(f"{system.url}/?window=custom&from={since:%Y-%m-%dT%H:%M}&to={until:%Y-%m-%dT%H:%M}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Analytics")
    for name in ("attempted", "succeeded", "failed", "pending"):
        assert _figure(page, name) == str(counts[name]), name
    assert _figure(page, "success-rate") == _percent(counts["succeeded"] / counts["attempted"])
    assert _figure(page, "paid-count-INR") == str(counts["paid_inr_count"])
    assert _figure(page, "paid-amount-INR") == format_amount(counts["paid_inr"], "INR")
    assert _figure(page, "refund-count") == str(refunds["n"])
    assert _figure(page, "orders") == str(orders["orders"])
    assert _figure(page, "orders-paid") == str(orders["paid"])
    assert _figure(page, "conversion") == _percent(orders["paid"] / orders["orders"])
    assert _figure(page, "p50") == _seconds(settle["p50"])
    page.wait_for_function("document.querySelectorAll('#chart-payments canvas').length > 0")
    shot(page, "console-analytics.png")


def test_a_payment_is_found_by_its_orders_id_and_its_log_read(
    page: Page, system: Console, driver: Driver, seeded: Any
) -> None:
    refunded = seeded["refunded"][0]
    [row] = driver.sql("SELECT order_id FROM payments.payments WHERE id = $1", refunded)
    login(page, system)
    page.goto(f"{system.url}/payments")
    page.get_by_label("Order, payment, gateway or refund id").fill(row["order_id"])
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name=refunded).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(refunded)
    expect(page.locator('[data-figure="status"]')).to_have_text("SUCCESS")
    expect(page.locator('[data-figure="order-status"]')).to_have_text("PAID")
    kinds = page.locator("table.log tr[data-event-kind]").evaluate_all("rows => rows.map(r => r.dataset.eventKind)")
    assert kinds[0] == "created" and "settled" in kinds and "refund_requested" in kinds, kinds
    shot(page, "console-payment.png")


def test_a_dead_letter_is_requeued_leaves_the_list_and_its_payment_settles(
    page: Page, system: Console, driver: Driver
) -> None:
    # a report of a payment this system does not know yet: retried, then dead-lettered
    order = driver.pay(0, {"type": "upi", "vpa": "pending@razorpay"})
    payment_id, gateway_payment_id = ids.new_id(ids.PAYMENT), ids.new_id(ids.GATEWAY_PAYMENT)
    amount, currency = order["amount"], order["currency"]
    event_id = driver.webhook(
        order["orderId"], payment_id, gateway_payment_id, "SUCCESS", amount=amount, currency=currency
    )
    login(page, system)
    row = page.locator(f'tr[data-message-id="{event_id}"]')
    deadline = time.monotonic() + 30
    while True:
        page.goto(f"{system.url}/dead-letters")
        if row.count() or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    expect(row).to_contain_text("payment.webhook")
    shot(page, "console-dead-letters.png")

    # what it needs comes to exist (a lost write restored): the order's attempt is this payment
    merchant = driver.key[0]
    signature = payment_signature(driver.payment_secret, order["orderId"], gateway_payment_id)
    driver.sql(
        "UPDATE payments.payments SET status = 'FAILED', error_code = 'EXPIRED' WHERE id = $1", order["paymentId"]
    )
    driver.sql(
        """INSERT INTO payments.payments (id, order_id, merchant_id, amount, currency, status, gateway_payment_id,
                                          signature)
           VALUES ($1, $2, $3, $4, $5, 'INITIATED', $6, $7)""",
        payment_id,
        order["orderId"],
        merchant,
        amount,
        currency,
        gateway_payment_id,
        signature,
    )
    page.get_by_label(f"Select {event_id}").check()
    row.locator("xpath=ancestor::form").get_by_role("button", name="Requeue selected").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"Requeue: 1 of 1 done"))
    page.goto(f"{system.url}/dead-letters")
    expect(page.locator(f'tr[data-message-id="{event_id}"]')).to_have_count(0)
    deadline = time.monotonic() + 30
    while True:
        page.goto(f"{system.url}/payments/{payment_id}")
        if page.locator('[data-figure="status"]').inner_text() == "SUCCESS" or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    expect(page.locator('[data-figure="status"]')).to_have_text("SUCCESS")
    expect(page.locator('table.log tr[data-event-kind="settled"]')).to_contain_text(event_id)


def test_an_anomaly_is_resolved_with_a_note(page: Page, system: Console, driver: Driver) -> None:
    made = driver.pay(0, {"type": "upi", "vpa": "failure@razorpay"})
    driver.wait_settled([made["paymentId"]])
    # the gateway reports a success for the attempt this system already settled FAILED
    event_id = driver.webhook(made["orderId"], made["paymentId"], made["gatewayPaymentId"], "SUCCESS")
    deadline = time.monotonic() + 30
    while not (found := driver.sql("SELECT id FROM payments.anomalies WHERE event_id = $1", event_id)):
        assert time.monotonic() < deadline, "no anomaly was recorded"
        time.sleep(0.3)
    anomaly_id = found[0]["id"]
    login(page, system)
    page.goto(f"{system.url}/anomalies")
    article = page.locator(f"#anomaly-{anomaly_id}")
    expect(article).to_contain_text("SUCCESS_AFTER_FAILED")
    expect(article.get_by_role("button", name="Refund the captured money")).to_be_visible()
    # the window only: the list holds every open anomaly of the test database, of earlier runs too
    article.scroll_into_view_if_needed()
    shot(page, "console-anomalies.png", full_page=False)

    note = f"checked with the gateway: not captured ({uuid.uuid4().hex[:6]})"
    article.get_by_label("Note (what was found or done)").fill(note)
    article.get_by_role("button", name="Mark resolved").click()
    resolved = page.locator(f'[data-figure="resolved-{anomaly_id}"]')
    expect(resolved).to_contain_text(f"resolved by {system.operator}")
    expect(page.locator(f"#anomaly-{anomaly_id}")).to_contain_text(note)
    [row] = driver.sql("SELECT resolved_by, resolution_note FROM payments.anomalies WHERE id = $1", anomaly_id)
    assert row == {"resolved_by": system.operator, "resolution_note": note}
