"""The two signatures of the contract, each in one place.

1. The payment signature: hex(HMAC-SHA256(PAYMENT_SIGNING_SECRET, orderId|gatewayPaymentId)).
   The paying client sees it, so it binds a gateway payment to an order and proves nothing else.
   During a key rotation several keys verify; the signer uses only the first of its list.
2. Standard Webhooks: `v1,` + base64(HMAC-SHA256(key, id.timestamp.body)) over the raw body, with a
   timestamp tolerance against replays of old captures.

Every comparison is constant time; no error message carries a signature or a key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass


def payment_signature(secret: bytes, order_id: str, gateway_payment_id: str) -> str:
    message = f"{order_id}|{gateway_payment_id}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def verify_payment_signature(
    secrets: bytes | Iterable[bytes], order_id: str, gateway_payment_id: str, signature: str
) -> bool:
    """True when `signature` was made with any of `secrets` (one key, or all the keys of a rotation)."""
    keys = (secrets,) if isinstance(secrets, bytes) else tuple(secrets)
    # compare bytes: compare_digest refuses non-ASCII str, and a hostile value may be non-ASCII
    received = signature.encode("utf-8", "surrogateescape")
    matched = False
    for key in keys:
        # no early exit: the time taken does not tell which key matched
        matched |= hmac.compare_digest(payment_signature(key, order_id, gateway_payment_id).encode(), received)
    return matched


class WebhookVerificationError(Exception):
    """Why a webhook's headers were refused; safe to show to the sender."""


@dataclass(frozen=True, slots=True)
class WebhookHeaders:
    webhook_id: str
    timestamp: int
    signature: str

    def as_dict(self) -> dict[str, str]:
        return {
            "webhook-id": self.webhook_id,
            "webhook-timestamp": str(self.timestamp),
            "webhook-signature": self.signature,
        }


def _mac(key: bytes, webhook_id: str, timestamp: str, body: bytes) -> bytes:
    return hmac.new(key, f"{webhook_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()


def sign_webhook(key: bytes, webhook_id: str, body: bytes, timestamp: int | None = None) -> WebhookHeaders:
    ts = int(time.time()) if timestamp is None else timestamp
    mac = _mac(key, webhook_id, str(ts), body)
    return WebhookHeaders(webhook_id, ts, "v1," + base64.b64encode(mac).decode())


MAX_WEBHOOK_ID_LENGTH = 255


def verify_webhook(
    keys: Iterable[bytes],
    headers: Mapping[str, str],
    body: bytes,
    tolerance_seconds: int,
    now: float | None = None,
) -> str:
    """Check the Standard Webhooks headers; return the webhook id or raise WebhookVerificationError."""
    webhook_id = headers.get("webhook-id", "")
    raw_ts = headers.get("webhook-timestamp", "")
    raw_signatures = headers.get("webhook-signature", "")
    if not webhook_id or not raw_ts or not raw_signatures:
        raise WebhookVerificationError("missing webhook-id, webhook-timestamp or webhook-signature header")
    if len(webhook_id) > MAX_WEBHOOK_ID_LENGTH or not webhook_id.isascii() or not webhook_id.isprintable():
        raise WebhookVerificationError("webhook-id is not a printable ASCII string of at most 255 characters")
    if not raw_ts.isascii() or not raw_ts.isdigit():
        raise WebhookVerificationError("webhook-timestamp is not unix seconds")
    timestamp = int(raw_ts)
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_seconds:
        raise WebhookVerificationError("webhook-timestamp is outside the tolerance window")

    candidates: list[bytes] = []
    for item in raw_signatures.split(" "):
        version, sep, encoded = item.partition(",")
        if version != "v1" or not sep:
            continue
        try:
            candidates.append(base64.b64decode(encoded, validate=True))
        except (binascii.Error, ValueError):
            continue
    if not candidates:
        raise WebhookVerificationError("webhook-signature holds no v1 signature")

    matched = False
    for key in keys:
        expected = _mac(key, webhook_id, raw_ts, body)
        for candidate in candidates:
            # no early exit: the time taken does not tell which key or candidate matched
            matched |= hmac.compare_digest(expected, candidate)
    if not matched:
        raise WebhookVerificationError("no webhook-signature matches")
    return webhook_id
