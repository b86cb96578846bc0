"""The checkout page's rules without I/O: its CSRF token, the form read as a native payment method, and
the merchant's callback URL with its signed parameters.

CSRF: the page sets a random nonce in a `SameSite=Strict`, HttpOnly cookie and puts in its form an HMAC of
(link token, nonce, issue time) under a key derived from the server's signing key. A POST is taken only
with both, agreeing, and fresh: another site can neither read the cookie nor make the browser send it, so
it cannot forge the pair, and a token lifted from one page does not work on another link or in another
browser.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# where an order's own checkout page is served, for a merchant with no front end of its own
ORDER_PATH = "/checkout/orders/"
CSRF_FIELD = "csrf_token"
NONCE_COOKIE = "checkout_nonce"
# long enough to type a card's details, short enough that a page left open is re-read
CSRF_TTL_SECONDS = 3600
METHODS = ("card", "upi", "wallet", "netbanking")


def csrf_key(signing_key: bytes) -> bytes:
    """A key of its own for the pages' tokens, so no token is ever an HMAC a payment signature could be."""
    return hmac.new(signing_key, b"checkout-page-csrf", hashlib.sha256).digest()


def new_nonce() -> str:
    return secrets.token_urlsafe(24)


def _mac(key: bytes, page: str, nonce: str, issued: int) -> str:
    return hmac.new(key, f"{page}|{nonce}|{issued}".encode(), hashlib.sha256).hexdigest()


def csrf_token(key: bytes, page: str, nonce: str, now: int) -> str:
    return f"{now}.{_mac(key, page, nonce, now)}"


def csrf_valid(key: bytes, page: str, nonce: str | None, token: str | None, now: int) -> bool:
    if not nonce or not token or "." not in token:
        return False
    issued_text, mac = token.split(".", 1)
    if not issued_text.isascii() or not issued_text.isdigit():
        return False
    issued = int(issued_text)
    expected = _mac(key, page, nonce, issued)
    return hmac.compare_digest(expected, mac) and 0 <= now - issued <= CSRF_TTL_SECONDS


def _expiry(value: str) -> tuple[int, int] | None:
    """`MM/YY` or `MM/YYYY` as (month, four-digit year)."""
    month, _, year = value.strip().partition("/")
    if not (month.strip().isdigit() and year.strip().isdigit()):
        return None
    number = int(year.strip())
    return int(month.strip()), number + 2000 if number < 100 else number


def method_of(form: Mapping[str, str]) -> dict[str, Any]:
    """The native `method` object the form describes; the native model validates it (Luhn, expiry, CVV,
    known banks and wallets). A malformed expiry is passed on as an impossible month, so that the native
    rules refuse it in their words."""
    kind = form.get("method", "")
    if kind == "card":
        expiry = _expiry(form.get("expiry", "")) or (0, 0)
        return {
            "type": "card",
            "number": form.get("card_number", ""),
            "expiryMonth": expiry[0],
            "expiryYear": expiry[1],
            "cvv": form.get("cvv", ""),
            "name": form.get("card_name", ""),
        }
    if kind == "upi":
        return {"type": "upi", "vpa": form.get("vpa", "").strip()}
    if kind == "wallet":
        return {"type": "wallet", "provider": form.get("wallet", "")}
    if kind == "netbanking":
        return {"type": "netbanking", "bank": form.get("bank", "")}
    return {"type": kind}


def order_page_signature(key_secret: str, order_id: str) -> str:
    """What a merchant puts in its order's page URL (`signature`): hex(HMAC-SHA256(key_secret,
    "checkout_page|" + order_id)) with one of its API key secrets, so the page is opened only from a URL the
    merchant made, and no other HMAC it makes with that secret (the checkout signature's `order|payment`)
    is ever one of these."""
    return hmac.new(key_secret.encode(), f"checkout_page|{order_id}".encode(), hashlib.sha256).hexdigest()


def order_page_signed(key_secret: str, order_id: str, signature: str) -> bool:
    return hmac.compare_digest(order_page_signature(key_secret, order_id), signature)


def with_query(url: str, params: Mapping[str, str]) -> str:
    """`url` with `params` added to whatever query it already has (a merchant's own parameters kept)."""
    parts = urlsplit(url)
    query = [*parse_qsl(parts.query, keep_blank_values=True), *params.items()]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))
