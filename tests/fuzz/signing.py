"""Making fuzzed webhooks verify, so that generated cases reach past the signature checks.

`StandardWebhooksSigner` is a requests auth hook: it runs on the prepared request, so it signs the
exact bytes that go out, whatever schemathesis serialised; that is all `/webhook/refund` needs, its
body carrying no signature of its own. A payment report's payment signature lives in the body and must
be set before serialisation: `sign_payment` does that on the case (and leaves a refund report alone).
"""

from __future__ import annotations

import base64
import hashlib
import time
import zlib
from typing import Any

from requests import PreparedRequest
from requests.auth import AuthBase

from payments_common import ids
from payments_common.signatures import MAX_WEBHOOK_ID_LENGTH, payment_signature, sign_webhook

CONTENT_DIGEST = "Content-Digest"


def _share(seed: str, out_of: int) -> bool:
    """One in `out_of`, drawn from a value that is random per case (its id, its event id)."""
    return zlib.crc32(seed.encode()) % out_of == 0


def _usable_event_id(value: str | bytes | None) -> str | None:
    if isinstance(value, str) and 0 < len(value) <= MAX_WEBHOOK_ID_LENGTH and value.isascii() and value.isprintable():
        return value
    return None


class StandardWebhooksSigner(AuthBase):
    """Signs every request with `key`, the first `WEBHOOK_SECRETS` key, at the current time.

    A generated `webhook-id` is kept when it is a usable one (so odd ids are tried too), else a new
    one is made. A generated `Content-Digest` is replaced by the body's true one for half of the
    cases, so both the digest's refusal and its acceptance are reached.
    """

    def __init__(self, key: bytes) -> None:
        self._key = key

    def __call__(self, request: PreparedRequest) -> PreparedRequest:
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        # schemathesis sends JSON bodies as bytes; anything streamed could not be signed up front
        assert isinstance(body, bytes), f"cannot sign a {type(body).__name__} body"
        event_id = _usable_event_id(request.headers.get("webhook-id")) or ids.new_id(ids.EVENT)
        signed = sign_webhook(self._key, event_id, body, int(time.time()))
        request.headers.update(signed.as_dict())
        if CONTENT_DIGEST in request.headers and _share(event_id, 2):
            digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
            request.headers[CONTENT_DIGEST] = f"sha-256=:{digest}:"
        return request


def sign_payment(body: Any, key: bytes, seed: str) -> None:
    """Give a generated body the right payment signature, except for one case in four (which then
    tries the payment signature's refusal)."""
    if not isinstance(body, dict) or _share(seed, 4):
        return
    order_id, gateway_payment_id = body.get("orderId"), body.get("gatewayPaymentId")
    if isinstance(order_id, str) and isinstance(gateway_payment_id, str) and "signature" in body:
        body["signature"] = payment_signature(key, order_id, gateway_payment_id)
