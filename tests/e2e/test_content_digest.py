"""The optional Content-Digest of `POST /webhook/payment` against the running system: a matching one is
accepted and applied like any webhook, a wrong one is refused naming the header and changes nothing."""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from typing import Any

from conftest import System

from payments_common.signatures import payment_signature, sign_webhook


def signed_webhook(system: System, order: dict[str, Any], payment: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(
        {
            "orderId": order["orderId"],
            "paymentId": payment["paymentId"],
            "gatewayPaymentId": payment["gatewayPaymentId"],
            "signature": payment_signature(system.payment_secret, order["orderId"], payment["gatewayPaymentId"]),
            "status": "SUCCESS",
        }
    ).encode()
    headers = sign_webhook(system.webhook_key, f"evt_digest_{uuid.uuid4().hex}", body).as_dict()
    return body, {**headers, "content-type": "application/json"}


def digest(body: bytes, algorithm: str = "sha-256") -> str:
    hashed = hashlib.sha256(body) if algorithm == "sha-256" else hashlib.sha512(body)
    return f"{algorithm}=:{base64.b64encode(hashed.digest()).decode()}:"


def test_a_matching_digest_is_accepted_and_applied(system: System) -> None:
    order, payment = system.pending_payment()
    body, headers = signed_webhook(system, order, payment)
    headers["Content-Digest"] = f"{digest(body)}, {digest(body, 'sha-512')}, md5=:AAAA:"
    r = system.raw.post(f"{system.webhook_url}/webhook/payment", content=body, headers=headers)
    assert r.status_code == 200, r.text
    assert system.wait_order(order["orderId"], {"PAID", "FAILED"})["status"] == "PAID"


def test_a_wrong_digest_is_refused_and_changes_nothing(system: System) -> None:
    order, payment = system.pending_payment()
    body, headers = signed_webhook(system, order, payment)
    headers["Content-Digest"] = digest(body.replace(b"SUCCESS", b"FAILED"))
    r = system.raw.post(f"{system.webhook_url}/webhook/payment", content=body, headers=headers)
    assert r.status_code == 400
    assert r.json()["success"] is False
    assert r.json()["error"]["code"] == "BAD_REQUEST_ERROR"
    assert r.json()["error"]["field"] == "Content-Digest"

    time.sleep(1.0)
    assert system.get_order(order["orderId"])["status"] == "CREATED"
    inbox = system.sql("SELECT count(*) AS n FROM payments.inbox WHERE message_id = $1", headers["webhook-id"])[0]["n"]
    assert inbox == 0
