"""The hosted checkout pages, public (no credential: the link's random token is the only key to it):

GET  /l/{token}                          the link's page: pay by card, UPI, wallet or netbanking, or what the
                                         link's state is (paid, expired, cancelled, a payment in progress)
POST /l/{token}                          a form of that page (CSRF-checked): starts the payment, 303 to its page
GET  /l/{token}/payments/{payment_id}    the payment's outcome: refreshed while in flight; once the link is
                                         paid, 303 to the merchant's callback_url with the signed parameters
"""

from __future__ import annotations

import os
import time
from typing import Any

from aiohttp import web

from order_svc.checkout import pages, service
from order_svc.checkout.domain import CSRF_FIELD, NONCE_COOKIE, csrf_key, csrf_token, csrf_valid, new_nonce
from order_svc.checkout.service import LinkPage
from order_svc.deps import DEPS, Deps
from order_svc.payment_links.domain import SHORT_PATH
from payments_common.errors import ApiError
from payments_common.http import CORRELATION_ID
from payments_common.openapi import Route

PUBLIC_PREFIX = SHORT_PATH
# no cache keeps a page (or a card field's value); the token in the URL goes to no other site as a
# Referer; no frame shows the page inside another site's; nothing but the inline style is loaded
_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
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


def _pay_form(request: web.Request, page: LinkPage, error: str | None = None, status: int = 200) -> web.Response:
    """The payment forms with a fresh CSRF token, bound to this browser's nonce cookie (set if it has none)."""
    deps = request.app[DEPS]
    nonce = request.cookies.get(NONCE_COOKIE) or new_nonce()
    token = csrf_token(_key(deps), page.link.token, nonce, int(time.time()))
    order = page.order
    body = pages.pay_page(page.merchant_name, order.amount, order.currency, page.link.description, token, error)
    response = _html(body, status)
    response.set_cookie(NONCE_COOKIE, nonce, path=PUBLIC_PREFIX, httponly=True, samesite="Strict", secure=_secure(deps))
    return response


def _notice(page: LinkPage, kind: str, message: str, status: int = 200, **extra: Any) -> web.Response:
    order = page.order
    body = pages.notice_page(
        page.merchant_name, order.amount, order.currency, page.link.description, kind, message, **extra
    )
    return _html(body, status)


def _link_state(request: web.Request, page: LinkPage) -> web.Response:
    if page.status == "paid":
        return _notice(page, "paid", "This payment link has been paid. Thank you.")
    if page.status in ("expired", "cancelled"):
        return _notice(page, "error", f"This payment link is {page.status}: it can no longer be paid.", 410)
    in_flight = page.in_flight()
    if in_flight is not None:
        target = f"{PUBLIC_PREFIX}{page.link.token}/payments/{in_flight.id}"
        return _notice(page, "", "A payment of this link is in progress.", action=(target, "See its status"))
    return _pay_form(request, page)


async def _page(request: web.Request) -> LinkPage | None:
    return await service.link_page(request.app[DEPS], request.match_info["token"])


async def get_link(request: web.Request) -> web.Response:
    page = await _page(request)
    if page is None:
        return _html(pages.not_found_page(), 404)
    return _link_state(request, page)


async def post_link(request: web.Request) -> web.Response:
    page = await _page(request)
    if page is None:
        return _html(pages.not_found_page(), 404)
    received = await request.post()
    # the fields as text (a file part is no field of these forms); never logged: they may be a card
    form = {name: value for name, value in received.items() if isinstance(value, str)}
    # a link that cannot be paid says so, whatever was posted
    if page.status != "created" or page.in_flight() is not None:
        return _link_state(request, page)
    key, nonce = _key(request.app[DEPS]), request.cookies.get(NONCE_COOKIE)
    if not csrf_valid(key, page.link.token, nonce, form.get(CSRF_FIELD), int(time.time())):
        return _pay_form(request, page, "This page has expired. Please enter your details again.", 403)
    try:
        payment_id = await service.pay(request.app[DEPS], page, form, request.get(CORRELATION_ID))
    except ApiError as error:
        if error.status >= 500:
            return _pay_form(request, page, "Payments cannot be taken right now. Please try again shortly.", 503)
        return _pay_form(request, page, error.description, 400 if error.status == 400 else 409)
    raise web.HTTPSeeOther(f"{PUBLIC_PREFIX}{page.link.token}/payments/{payment_id}", headers=_HEADERS)


async def get_payment(request: web.Request) -> web.Response:
    page = await _page(request)
    attempt = page.attempt(request.match_info["payment_id"]) if page is not None else None
    if page is None or attempt is None:
        return _html(pages.not_found_page(), 404)
    retry = (f"{PUBLIC_PREFIX}{page.link.token}", "Try again")
    if attempt.status == "FAILED":
        reason = attempt.error_description or "the payment failed"
        message = f"The payment was declined: {reason}."
        return _notice(page, "error", message, action=retry if page.status == "created" else None)
    if page.status == "paid" and page.link.paid_payment_id == attempt.id:
        target = await service.callback(request.app[DEPS], page, attempt.id)
        if target is not None:
            raise web.HTTPSeeOther(target, headers=_HEADERS)
        return _notice(page, "paid", "Payment received. Thank you.")
    if page.status == "paid":
        return _notice(page, "paid", "This payment link has been paid. Thank you.")
    # in flight, or succeeded and the order not yet marked paid: a moment more
    return _notice(page, "", "Processing your payment…", refresh_seconds=1)


ROUTES = [
    Route("GET", PUBLIC_PREFIX + "{token}", get_link, answer=None),
    Route("POST", PUBLIC_PREFIX + "{token}", post_link, answer=None),
    Route("GET", PUBLIC_PREFIX + "{token}/payments/{payment_id}", get_payment, answer=None),
]


def document_paths() -> dict[str, Any]:
    """The pages' part of the OpenAPI document: HTML, no credential."""
    html = {"text/html": {"schema": {"type": "string"}}}

    def page(summary: str, statuses: dict[int, str], operation_id: str) -> dict[str, Any]:
        params = [{"name": "token", "in": "path", "required": True, "schema": {"type": "string"}}]
        return {
            "operationId": operation_id,
            "summary": summary,
            "security": [],
            "parameters": params,
            "responses": {str(code): {"description": text, "content": html} for code, text in statuses.items()},
        }

    pay_id = {"name": "payment_id", "in": "path", "required": True, "schema": {"type": "string"}}
    outcome = page(
        "A payment's outcome on the link's page; once the link is paid, 303 to its callback_url, signed",
        {200: "in flight (refreshed), declined, or paid", 303: "to the merchant's callback_url", 404: "no such page"},
        "getCheckoutPayment",
    )
    outcome["parameters"].append(pay_id)
    return {
        PUBLIC_PREFIX + "{token}": {
            "get": page(
                "A payment link's hosted checkout page",
                {200: "the payment forms, or the link's state", 404: "no such link", 410: "expired or cancelled"},
                "getCheckoutPage",
            ),
            "post": {
                **page(
                    "Pay the link by the method of one of its forms (form-encoded, with its CSRF token)",
                    {
                        200: "the link's state, when it cannot be paid (paid, or a payment of it in flight)",
                        303: "to the payment's page",
                        400: "the method refused",
                        403: "no valid CSRF token",
                        409: "another payment of the link started meanwhile, or the link stopped being payable",
                        410: "expired or cancelled",
                        503: "payments unavailable",
                    },
                    "postCheckoutPage",
                ),
                "requestBody": {
                    "required": True,
                    "content": {"application/x-www-form-urlencoded": {"schema": {"type": "object"}}},
                },
            },
        },
        PUBLIC_PREFIX + "{token}/payments/{payment_id}": {"get": outcome},
    }
