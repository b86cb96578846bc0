"""The two signatures of the contract, checked against independent computations."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import pytest

from payments_common.signatures import (
    WebhookVerificationError,
    payment_signature,
    sign_webhook,
    verify_payment_signature,
    verify_webhook,
)

KEY = b"k" * 32
OTHER_KEY = b"o" * 32
BODY = b'{"orderId":"order_1","status":"SUCCESS"}'
EVENT_ID = "evt_0192f0c4-5d6e-7a8b-9c0d-1e2f3a4b5c6d"
TOLERANCE = 300


def independent_webhook_signature(key: bytes, webhook_id: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(key, f"{webhook_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def headers(signature: str, timestamp: int | None = None, webhook_id: str = EVENT_ID) -> dict[str, str]:
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(time.time()) if timestamp is None else timestamp),
        "webhook-signature": signature,
    }


def valid_headers(key: bytes = KEY, body: bytes = BODY, timestamp: int | None = None) -> dict[str, str]:
    ts = int(time.time()) if timestamp is None else timestamp
    return headers(independent_webhook_signature(key, EVENT_ID, ts, body), ts)


# --- payment signature -------------------------------------------------------------------------


def test_payment_signature_is_hex_hmac_of_order_and_gateway_payment() -> None:
    expected = hmac.new(b"secret", b"order_1|gw_2", hashlib.sha256).hexdigest()
    assert payment_signature(b"secret", "order_1", "gw_2") == expected


def test_verify_payment_signature_accepts_the_right_one_and_refuses_others() -> None:
    good = payment_signature(b"secret", "order_1", "gw_2")
    assert verify_payment_signature(b"secret", "order_1", "gw_2", good)
    assert not verify_payment_signature(b"secret", "order_1", "gw_3", good)
    assert not verify_payment_signature(b"other", "order_1", "gw_2", good)
    assert not verify_payment_signature(b"secret", "order_1", "gw_2", good.upper())
    assert not verify_payment_signature(b"secret", "order_1", "gw_2", "")
    assert not verify_payment_signature(b"secret", "order_1", "gw_2", "é" * 64)


# --- Standard Webhooks: accepted ---------------------------------------------------------------


def test_sign_webhook_matches_independent_computation() -> None:
    signed = sign_webhook(KEY, EVENT_ID, BODY, timestamp=1_700_000_000)
    assert signed.signature == independent_webhook_signature(KEY, EVENT_ID, 1_700_000_000, BODY)
    assert signed.as_dict()["webhook-timestamp"] == "1700000000"


def test_valid_headers_give_the_webhook_id() -> None:
    assert verify_webhook([KEY], valid_headers(), BODY, TOLERANCE) == EVENT_ID


def test_one_valid_signature_among_several_is_enough() -> None:
    ts = int(time.time())
    wrong = independent_webhook_signature(OTHER_KEY, EVENT_ID, ts, BODY)
    right = independent_webhook_signature(KEY, EVENT_ID, ts, BODY)
    assert verify_webhook([KEY], headers(f"{wrong} v2,abc {right}", ts), BODY, TOLERANCE) == EVENT_ID


def test_any_configured_key_verifies() -> None:
    # rotation: the sender still signs with the old key while the receiver knows both
    assert verify_webhook([OTHER_KEY, KEY], valid_headers(KEY), BODY, TOLERANCE) == EVENT_ID


def test_timestamp_just_inside_tolerance_is_accepted() -> None:
    now = 1_700_000_000
    for ts in (now - TOLERANCE, now + TOLERANCE):
        assert verify_webhook([KEY], valid_headers(timestamp=ts), BODY, TOLERANCE, now=now) == EVENT_ID


# --- Standard Webhooks: refused ----------------------------------------------------------------


def refused(keys: list[bytes], hdrs: dict[str, str], body: bytes = BODY, now: float | None = None) -> str:
    with pytest.raises(WebhookVerificationError) as info:
        verify_webhook(keys, hdrs, body, TOLERANCE, now=now)
    return str(info.value)


def test_tampered_body_is_refused() -> None:
    hdrs = valid_headers()
    assert "no webhook-signature matches" in refused([KEY], hdrs, BODY.replace(b"SUCCESS", b"FAILED"))


def test_wrong_key_is_refused() -> None:
    refused([KEY], valid_headers(OTHER_KEY))


def test_changed_webhook_id_is_refused() -> None:
    hdrs = valid_headers()
    hdrs["webhook-id"] = "evt_other"
    refused([KEY], hdrs)


@pytest.mark.parametrize("skew", [-(TOLERANCE + 1), TOLERANCE + 1, -3600, 3600])
def test_timestamp_outside_tolerance_is_refused(skew: int) -> None:
    now = 1_700_000_000
    message = refused([KEY], valid_headers(timestamp=now + skew), now=now)
    assert "tolerance" in message


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_header_is_refused(missing: str) -> None:
    hdrs = valid_headers()
    del hdrs[missing]
    assert "missing" in refused([KEY], hdrs)


@pytest.mark.parametrize("timestamp", ["12.5", "-1", "1e9", "abc", "١٢٣"])
def test_non_numeric_timestamp_is_refused(timestamp: str) -> None:
    hdrs = valid_headers()
    hdrs["webhook-timestamp"] = timestamp
    refused([KEY], hdrs)


def test_non_ascii_signature_is_refused() -> None:
    hdrs = valid_headers()
    hdrs["webhook-signature"] = "v1,ünïcødé"
    refused([KEY], hdrs)


@pytest.mark.parametrize("signature", ["v1,!!!not-base64!!!", "v1,", "v1", "v2," + "A" * 44, "", "   "])
def test_garbage_signature_is_refused(signature: str) -> None:
    refused([KEY], headers(signature))


def test_non_printable_webhook_id_is_refused() -> None:
    hdrs = valid_headers()
    hdrs["webhook-id"] = "evt\n1"
    refused([KEY], hdrs)


def test_refusal_messages_carry_no_signature() -> None:
    hdrs = valid_headers(OTHER_KEY)
    message = refused([KEY], hdrs)
    assert hdrs["webhook-signature"].removeprefix("v1,") not in message
