"""The signatures a merchant verifies a delivery with, both over the exact bytes sent:

- `X-Razorpay-Signature`: hex HMAC-SHA256 of the body keyed by the endpoint's secret string, what Razorpay's
  SDKs check (`Utility.verify_webhook_signature(body, signature, secret)`);
- Standard Webhooks' `webhook-signature`: `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">` keyed by the
  secret's base64 part decoded; during a rotation's overlap one signature per secret, space-separated, so a
  receiver holding either secret accepts the delivery.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from datetime import datetime

SECRET_PREFIX = "whsec_"  # noqa: S105 (the format's prefix, not a secret)
SECRET_BYTES = 32


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def standard_key(secret: str) -> bytes:
    """The Standard Webhooks key of a `whsec_<base64>` secret."""
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def signing_secrets(
    secret: str, previous: str | None, previous_expires_at: datetime | None, now: datetime
) -> list[str]:
    """The secrets that sign now: the current one, then the previous one until its overlap ends."""
    if previous is not None and previous_expires_at is not None and now < previous_expires_at:
        return [secret, previous]
    return [secret]


def razorpay_signature(body: bytes, secret: str) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def standard_signature(event_id: str, timestamp: int, body: bytes, secret: str) -> str:
    signed = f"{event_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(standard_key(secret), signed, hashlib.sha256).digest()).decode()


def headers(event_id: str, timestamp: int, body: bytes, signing: Sequence[str]) -> dict[str, str]:
    """The headers of one attempt; `signing` is the current secret first, then the previous one while it
    still signs. Razorpay's header has room for one signature: the current secret's."""
    return {
        "Content-Type": "application/json",
        "X-Razorpay-Signature": razorpay_signature(body, signing[0]),
        "X-Razorpay-Event-Id": event_id,
        "webhook-id": event_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(standard_signature(event_id, timestamp, body, s) for s in signing),
    }
