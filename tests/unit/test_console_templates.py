"""Every console page renders from what the (fake) admin APIs answer: the figures land where the page says,
what a service sent is escaped, every form that changes something carries the CSRF token, no link holds a
token, and a page's refresh gets its content alone."""

from __future__ import annotations

import re
from typing import Any

import pytest
from console_fake import NOW, FakeAdminApi

from payments_common.merchant_webhooks import Attempt
from payments_console.analytics.domain import window_of
from payments_console.analytics.service import figures
from payments_console.dead_letters.domain import grouped
from payments_console.health.service import health
from payments_console.http import environment, render_text
from payments_console.webhooks.domain import STATUSES, delivery_filters

CSRF = "csrf-token-of-this-session-0123456789abcdef"
BASE = {"operator": "alice", "csrf_token": CSRF, "refresh_seconds": 5.0, "path": "/"}


def render(name: str, context: dict[str, Any], *, fragment: bool = False) -> str:
    return render_text(environment(), name, {**BASE, **context}, fragment=fragment)


def figure(html: str, name: str) -> str:
    match = re.search(rf'data-figure="{re.escape(name)}"[^>]*>([^<]*)<', html)
    assert match, f"no figure {name}"
    return match[1].strip()


def assert_forms_carry_csrf(html: str) -> None:
    forms = re.findall(r"<form[^>]*method=\"post\"[^>]*>(.*?)</form>", html, re.S)
    for form in forms:
        assert f'name="csrf" value="{CSRF}"' in form
    assert CSRF not in "".join(re.findall(r'href="([^"]*)"', html))


async def test_analytics_shows_the_services_figures() -> None:
    window = window_of({"window": "day"}, NOW)
    result = await figures(FakeAdminApi(), window)
    html = render("analytics.html", {"window": window, "presets": ["hour", "day", "week"], "query": {},
                                     "payments": result.payments, "orders": result.orders, "errors": result.errors,
                                     "chart": result.chart()})  # fmt: skip
    assert figure(html, "success-rate") == "70.0%"
    assert figure(html, "paid-amount-INR") == "₹3,500.00"
    assert figure(html, "conversion") == "75.0%"
    assert figure(html, "p50") == "1.2 s" or figure(html, "p50") == "1.3 s"
    assert figure(html, "p95") == "3.5 s"
    assert figure(html, "refund-pending") == "1"
    assert figure(html, "failure-CARD_DECLINED") == "2"
    assert '<script type="application/json" id="chart-data">' in html
    assert_forms_carry_csrf(html)


async def test_analytics_says_which_service_failed_and_shows_the_rest() -> None:
    api = FakeAdminApi()
    api.fail_analytics = True
    window = window_of({"window": "hour"}, NOW)
    result = await figures(api, window)
    assert result.payments is None and result.orders is not None
    html = render("analytics.html", {"window": window, "presets": [], "query": {}, "payments": None,
                                     "orders": result.orders, "errors": result.errors, "chart": {}})  # fmt: skip
    assert "payment-svc: unreachable" in html
    assert figure(html, "conversion") == "75.0%"


async def test_payment_page_shows_the_log_and_the_order() -> None:
    api = FakeAdminApi()
    detail = await api.payment("pay_1")
    html = render("payment.html", {"detail": detail, "p": detail.payment, "order": await api.order("order_1"),
                                   "order_error": None})  # fmt: skip
    assert figure(html, "status") == "SUCCESS"
    assert figure(html, "order-status") == "PAID"
    assert 'data-event-kind="succeeded"' in html and "webhook" in html


async def test_dead_letters_are_grouped_escaped_and_every_action_carries_csrf() -> None:
    listing = await FakeAdminApi().dead_letters()
    html = render("dead_letters.html", {"listing": listing, "groups": grouped(listing), "error": None})
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert html.count('data-message-id="') == 3
    assert figure(html, "dlq-payment-svc.webhooks.dlq") == "3"
    assert_forms_carry_csrf(html)


async def test_anomalies_offer_a_refund_only_where_money_was_captured() -> None:
    api = FakeAdminApi()
    found = (await api.anomalies(include_resolved=False)).anomalies
    html = render("anomalies.html", {"anomalies": found, "error": None, "include_resolved": False,
                                     "refundable": ("SUCCESS_AFTER_FAILED",)})  # fmt: skip
    assert 'value="refund"' in html
    assert_forms_carry_csrf(html)
    await api.resolve_anomaly(7, "alice", "resolve", "checked at the gateway")
    resolved = (await api.anomalies(include_resolved=True)).anomalies
    html = render("anomalies.html", {"anomalies": resolved, "error": None, "include_resolved": True,
                                     "refundable": ()})  # fmt: skip
    assert "by <strong>alice</strong>" in figure_block(html, "resolved-7")


async def test_webhook_deliveries_show_their_latest_attempt_escaped_and_search_without_a_token() -> None:
    api = FakeAdminApi()
    found = (await api.webhook_deliveries(delivery_filters({}))).items
    html = render("webhooks.html", {"query": {"status": "pending"}, "deliveries": found, "error": None,
                                    "statuses": STATUSES})  # fmt: skip
    assert html.count('data-delivery-id="') == 3
    assert figure(html, "status-whdl_3") == "pending"
    assert figure(html, "attempts-whdl_2") == "1"
    row = html[html.index('data-delivery-id="whdl_3"') : html.index("</tr>", html.index('data-delivery-id="whdl_3"'))]
    assert "HTTP 503" in row and "&lt;b&gt;busy&lt;/b&gt;" in row and "<b>busy" not in row
    assert "2025-06-01 12:00:30 UTC" in row  # the next retry
    failed = html[html.index('data-delivery-id="whdl_1"') :]
    assert "refused: 10.0.0.1 is a private address" in failed[: failed.index("</tr>")]
    assert "<option selected>pending</option>" in html
    assert 'method="get" action="/webhooks"' in html
    assert_forms_carry_csrf(html)
    refreshed = render("webhooks.html", {"query": {}, "deliveries": found, "error": None, "statuses": STATUSES},
                       fragment=True)  # fmt: skip
    assert "<html" not in refreshed and "HTTP 503" in refreshed


def test_webhook_deliveries_say_when_merchant_webhooks_failed() -> None:
    error = "merchant-webhooks: unreachable (ClientConnectorError)"
    html = render("webhooks.html", {"query": {}, "deliveries": [], "error": error, "statuses": STATUSES})
    assert error in html and "No delivery matches" not in html


async def test_a_delivery_shows_every_attempt_and_a_redeliver_form_with_csrf() -> None:
    api = FakeAdminApi()
    shown = await api.webhook_delivery("whdl_3")
    shown = shown.model_copy(update={"attempts": [*shown.attempts, Attempt(at=NOW, statusCode=200, latencyMs=1200)]})
    html = render("webhook_delivery.html", {"d": shown, "redelivered": True})
    assert figure(html, "status") == "pending"
    assert figure(html, "attempts") == "2"
    assert figure(html, "next-attempt") == "2025-06-01 12:00:30 UTC"
    assert html.count("data-attempt=") == 2
    assert "41 ms" in html and "1200 ms" in html and "HTTP 200" in html
    assert 'action="/webhooks/whdl_3/redeliver"' in html and "Redelivery requested" in html
    assert_forms_carry_csrf(html)
    plain = render("webhook_delivery.html", {"d": shown, "redelivered": False})
    assert "Redelivery requested" not in plain
    # a page's own refresh renders the content block alone, macros and all
    refreshed = render("webhook_delivery.html", {"d": shown, "redelivered": False}, fragment=True)
    assert "<html" not in refreshed and refreshed.count("data-attempt=") == 2 and "HTTP 503" in refreshed


def figure_block(html: str, name: str) -> str:
    start = html.index(f'data-figure="{name}"')
    return html[start : html.index("</dd>", start)]


async def test_health_shows_unknown_for_what_a_service_does_not_have_yet() -> None:
    found = await health(FakeAdminApi(), ("order-svc", "mock-gateway", "merchant-webhooks"))
    html = render("system.html", {"health": found, "actions": []})
    assert figure(html, "ready-order-svc") == "ready"
    assert figure(html, "ready-merchant-webhooks") == "ready"
    assert figure(html, "ready-mock-gateway") == "unknown"
    assert figure(html, "outbox-payments") == "3"
    assert "no such route yet" in html


@pytest.mark.parametrize("name", ["login.html", "error.html"])
def test_pages_outside_a_session_render(name: str) -> None:
    context = {"operator": None, "csrf_token": "", "login_token": "t", "message": "<b>", "name": "", "next": "/",
               "title": "Forbidden", "detail": "<i>"}  # fmt: skip
    html = render(name, context)
    assert "<b>" not in html and "<i>" not in html
    assert "Sign out" not in html


def test_a_refresh_gets_the_content_alone() -> None:
    html = render("error.html", {"title": "T", "detail": "D"}, fragment=True)
    assert "<html" not in html and "<h1>T</h1>" in html
