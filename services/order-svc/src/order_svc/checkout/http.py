"""The hosted checkout pages, public (no credential: a link's random token, or the signature of the URL
the merchant made for its order, is the only key to a page):

GET  /l/{token}                          the link's page: pay by card, UPI, wallet or netbanking, or what the
                                         link's state is (paid, expired, cancelled, a payment in progress)
POST /l/{token}                          a form of that page (CSRF-checked): starts the payment, 303 to its page
GET  /l/{token}/payments/{payment_id}    the payment's outcome: refreshed while in flight; once the link is
                                         paid, 303 to the merchant's callback_url with the signed parameters
GET|POST /checkout/orders/{order_id}?key_id=…&signature=…, and …/payments/{payment_id}?…: the same for an
                                         order, for a merchant with no front end (no callback: the page says
                                         the payment was received)
"""

from __future__ import annotations

import os
import time
from typing import Any

from aiohttp import web

from order_svc.access.limits import checkout_payment
from order_svc.checkout import pages, service
from order_svc.checkout.domain import CSRF_FIELD, NONCE_COOKIE, ORDER_PATH, csrf_key, csrf_token, csrf_valid, new_nonce
from order_svc.checkout.service import Page
from order_svc.deps import DEPS, Deps
from order_svc.payment_links.domain import SHORT_PATH
from payments_common.errors import ApiError
from payments_common.http import CORRELATION_ID
from payments_common.openapi import Route

PUBLIC_PREFIX = SHORT_PATH
# no cache keeps a page (or a card field's value); the token in the URL goes to no other site as a
# Referer; no frame shows the page inside another site's; nothing but the inline style is loaded. No
# `form-action`: browsers apply it to the redirects that follow a form's POST too, and a payment settled
# before its page is read is sent on, by redirect, to the merchant's callback_url
_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
}
# a process's own key when no signing key is configured (tests of the pages alone): tokens then hold on
# this instance only
_FALLBACK_KEY = os.urandom(32)


def _html(body: str, status: int = 200) -> web.Response:
    return web.Response(text=body, status=status, content_type="text/html", charset="utf-8", headers=_HEADERS)


def _key(deps: Deps) -> bytes:
    return csrf_key(deps.signing_keys[0] if deps.signing_keys else _FALLBACK_KEY)


def _secure(deps: Deps) -> bool:
    return deps.checkout_url.startswith("https://")


def _pay_form(request: web.Request, page: Page, error: str | None = None, status: int = 200) -> web.Response:
    """The payment forms with a fresh CSRF token, bound to this browser's nonce cookie (set if it has none)."""
    deps = request.app[DEPS]
    nonce = request.cookies.get(NONCE_COOKIE) or new_nonce()
    token = csrf_token(_key(deps), page.subject, nonce, int(time.time()))
    order = page.order
    body = pages.pay_page(page.merchant_name, order.amount, order.currency, page.description, token, page.href(), error)
    response = _html(body, status)
    response.set_cookie(NONCE_COOKIE, nonce, path="/", httponly=True, samesite="Strict", secure=_secure(deps))
    return response


def _notice(page: Page, kind: str, message: str, status: int = 200, **extra: Any) -> web.Response:
    order = page.order
    body = pages.notice_page(page.merchant_name, order.amount, order.currency, page.description, kind, message, **extra)
    return _html(body, status)


def _what(page: Page) -> str:
    return "payment link" if page.link is not None else "order"


def _link_state(request: web.Request, page: Page) -> web.Response:
    if page.status == "paid":
        return _notice(page, "paid", f"This {_what(page)} has been paid. Thank you.")
    if page.status in ("expired", "cancelled"):
        return _notice(page, "error", f"This payment link is {page.status}: it can no longer be paid.", 410)
    in_flight = page.in_flight()
    if in_flight is not None:
        target = page.href(f"/payments/{in_flight.id}")
        return _notice(page, "", f"A payment of this {_what(page)} is in progress.", action=(target, "See its status"))
    return _pay_form(request, page)


async def _link_page(request: web.Request) -> Page | None:
    return await service.link_page(request.app[DEPS], request.match_info["token"])


async def _order_page(request: web.Request) -> Page | None:
    query = request.query
    order_id = request.match_info["order_id"]
    return await service.order_page(request.app[DEPS], order_id, query.get("key_id", ""), query.get("signature", ""))


async def _show(page: Page | None, request: web.Request) -> web.Response:
    if page is None:
        return _html(pages.not_found_page(), 404)
    return _link_state(request, page)


async def get_link(request: web.Request) -> web.Response:
    return await _show(await _link_page(request), request)


async def get_order(request: web.Request) -> web.Response:
    return await _show(await _order_page(request), request)


async def post_link(request: web.Request) -> web.Response:
    return await _post(await _link_page(request), request)


async def post_order(request: web.Request) -> web.Response:
    return await _post(await _order_page(request), request)


async def _post(page: Page | None, request: web.Request) -> web.Response:
    if page is None:
        return _html(pages.not_found_page(), 404)
    received = await request.post()
    # the fields as text (a file part is no field of these forms); never logged: they may be a card
    form = {name: value for name, value in received.items() if isinstance(value, str)}
    # a link that cannot be paid says so, whatever was posted
    if page.status != "created" or page.in_flight() is not None:
        return _link_state(request, page)
    key, nonce = _key(request.app[DEPS]), request.cookies.get(NONCE_COOKIE)
    if not csrf_valid(key, page.subject, nonce, form.get(CSRF_FIELD), int(time.time())):
        return _pay_form(request, page, "This page has expired. Please enter your details again.", 403)
    decision = await checkout_payment(request, page.subject)
    if not decision.allowed:
        wait = decision.retry_after_header
        refused = _pay_form(request, page, f"Too many payment attempts. Please try again in {wait} seconds.", 429)
        refused.headers["Retry-After"] = wait
        return refused
    try:
        payment_id = await service.pay(request.app[DEPS], page, form, request.get(CORRELATION_ID))
    except ApiError as error:
        if error.status >= 500:
            return _pay_form(request, page, "Payments cannot be taken right now. Please try again shortly.", 503)
        return _pay_form(request, page, error.description, 400 if error.status == 400 else 409)
    raise web.HTTPSeeOther(page.href(f"/payments/{payment_id}"), headers=_HEADERS)


async def get_link_payment(request: web.Request) -> web.Response:
    return await _outcome(await _link_page(request), request)


async def get_order_payment(request: web.Request) -> web.Response:
    return await _outcome(await _order_page(request), request)


async def _outcome(page: Page | None, request: web.Request) -> web.Response:
    attempt = page.attempt(request.match_info["payment_id"]) if page is not None else None
    if page is None or attempt is None:
        return _html(pages.not_found_page(), 404)
    retry = (page.href(), "Try again")
    if attempt.status == "FAILED":
        reason = attempt.error_description or "the payment failed"
        message = f"The payment was declined: {reason}."
        return _notice(page, "error", message, action=retry if page.status == "created" else None)
    if page.paid_by(attempt.id):
        target = await service.callback(request.app[DEPS], page, attempt.id)
        if target is not None:
            raise web.HTTPSeeOther(target, headers=_HEADERS)
        return _notice(page, "paid", "Payment received. Thank you.")
    if page.status == "paid":
        return _notice(page, "paid", f"This {_what(page)} has been paid. Thank you.")
    # in flight, or succeeded and the order not yet marked paid: a moment more
    return _notice(page, "", "Processing your payment…", refresh_seconds=1)


ROUTES = [
    Route("GET", PUBLIC_PREFIX + "{token}", get_link, answer=None),
    Route("POST", PUBLIC_PREFIX + "{token}", post_link, answer=None),
    Route("GET", PUBLIC_PREFIX + "{token}/payments/{payment_id}", get_link_payment, answer=None),
    Route("GET", ORDER_PATH + "{order_id}", get_order, answer=None),
    Route("POST", ORDER_PATH + "{order_id}", post_order, answer=None),
    Route("GET", ORDER_PATH + "{order_id}/payments/{payment_id}", get_order_payment, answer=None),
]


def document_paths() -> dict[str, Any]:
    """The pages' part of the OpenAPI document: HTML, no credential."""
    html = {"text/html": {"schema": {"type": "string"}}}

    def param(name: str, where: str = "path", description: str | None = None) -> dict[str, Any]:
        found = {"name": name, "in": where, "required": True, "schema": {"type": "string"}}
        return {**found, "description": description} if description else found

    signed = [
        param("key_id", "query", "the merchant's API key whose secret signed the URL"),
        param("signature", "query", 'hex(HMAC-SHA256(key_secret, "checkout_page|" + order_id))'),
    ]

    def page(summary: str, statuses: dict[int, str], operation_id: str, params: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "operationId": operation_id,
            "summary": summary,
            "security": [],
            "parameters": params,
            "responses": {str(code): {"description": text, "content": html} for code, text in statuses.items()},
        }

    form = {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": {"type": "object"}}}}
    posted = {
        200: "the page's state, when it cannot be paid (paid, or a payment of it in flight)",
        303: "to the payment's page",
        400: "the method refused",
        403: "no valid CSRF token",
        404: "no such page",
        409: "another payment of it started meanwhile, or it stopped being payable",
        429: "too many payments started from this address or this page: the forms again, with Retry-After",
        503: "payments unavailable",
    }
    paths: dict[str, Any] = {}
    for base, ids_, what, name in (
        (PUBLIC_PREFIX + "{token}", [param("token")], "payment link", "Link"),
        (ORDER_PATH + "{order_id}", [param("order_id"), *signed], "order (the URL its merchant signed)", "Order"),
    ):
        link = name == "Link"
        shown = {200: "the payment forms, or its state", 404: "no such page"} | (
            {410: "expired or cancelled"} if link else {}
        )
        outcome = {200: "in flight (refreshed), declined, or paid", 404: "no such page"} | (
            {303: "to the merchant's callback_url, signed"} if link else {}
        )
        paths[base] = {
            "get": page(f"A {what}'s hosted checkout page", shown, f"getCheckout{name}Page", ids_),
            "post": {
                **page(
                    "Pay by the method of one of the page's forms (form-encoded, with its CSRF token)",
                    posted | ({410: "expired or cancelled"} if link else {}),
                    f"postCheckout{name}Page",
                    ids_,
                ),
                "requestBody": form,
            },
        }
        paths[base + "/payments/{payment_id}"] = {
            "get": page(
                f"A payment's outcome on the {what}'s page",
                outcome,
                f"getCheckout{name}Payment",
                [*ids_[:1], param("payment_id"), *ids_[1:]],
            )
        }
    return paths
