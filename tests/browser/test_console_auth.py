"""Signing in and out of the console in a real browser, the pages a signed-out browser is sent away from,
a POST without the session's CSRF token, and the layout at phone width."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from .conftest import Console, login

PAGES = ["/", "/payments", "/payments?recent=1", "/dead-letters", "/anomalies", "/system"]


def test_a_wrong_password_is_refused_and_the_right_one_signs_in(page: Page, console: Console) -> None:
    login(page, console, password="not the password")
    expect(page.get_by_role("alert")).to_have_text("Wrong name or password.")
    expect(page).to_have_url(re.compile(r"/login$"))
    login(page, console)
    expect(page.get_by_role("heading", level=1)).to_have_text("Analytics")
    expect(page.locator(".who")).to_have_text(console.operator)
    cookies = {c["name"]: c for c in page.context.cookies()}
    session = cookies.get("console_session") or cookies["__Host-console_session"]
    assert session["httpOnly"] and session["sameSite"] == "Strict"
    # the session's token is in no URL the page links to
    hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.href).join(' ')")
    assert session["value"] not in hrefs


@pytest.mark.parametrize("path", PAGES)
def test_signed_out_pages_send_the_browser_to_the_login(page: Page, console: Console, path: str) -> None:
    page.goto(f"{console.url}{path}")
    expect(page).to_have_url(re.compile(r"/login(\?next=.*)?$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")


def test_after_the_login_the_browser_goes_where_it_was_sent_from(page: Page, console: Console) -> None:
    page.goto(f"{console.url}/anomalies")
    page.get_by_label("Operator name").fill(console.operator)
    page.get_by_label("Password").fill(console.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/anomalies$"))


def test_a_post_without_the_csrf_token_is_refused(page: Page, console: Console) -> None:
    login(page, console)
    expect(page.get_by_role("heading", level=1)).to_have_text("Analytics")
    # the browser's own cookies, but no token: what a forged form from elsewhere would send at best
    refused = page.request.post(f"{console.url}/dead-letters/requeue", form={"all": "1"}, max_redirects=0)
    assert refused.status == 403
    forged = page.request.post(f"{console.url}/logout", form={"csrf": "forged"}, max_redirects=0)
    assert forged.status == 403
    page.goto(f"{console.url}/system")
    expect(page.get_by_role("heading", level=1)).to_have_text("Health")


def test_signing_out_ends_the_session(page: Page, console: Console) -> None:
    login(page, console)
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    page.goto(f"{console.url}/system")
    expect(page).to_have_url(re.compile(r"/login"))


def test_the_keyboard_reaches_a_visible_skip_link_first(page: Page, console: Console) -> None:
    login(page, console)
    # the page is there (with the whole system behind it, its figures take a moment) before the first Tab
    expect(page.get_by_role("heading", level=1)).to_have_text("Analytics")
    page.wait_for_load_state("load")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent")
    assert focused == "Skip to content"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"


def test_pages_fit_a_phone(page: Page, console: Console) -> None:
    page.set_viewport_size({"width": 375, "height": 800})
    login(page, console)
    for path in PAGES:
        page.goto(f"{console.url}{path}")
        page.wait_for_load_state("load")
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"{path} is {overflow}px wider than a phone"
