"""Talking to the running system the way an attacker would: the environment `payments-stack exec`
passes, signed and forged webhooks, and raw HTTP/1.1 for what no client library will send (non-ASCII
header bytes, chunked bodies, a chosen source address)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import socket
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from yarl import URL

from payments_common.config import parse_api_keys, parse_webhook_secrets
from payments_common.signatures import payment_signature, sign_webhook


def _need(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise SystemExit(
            f"attacks: {name} is not set; run it through the stack: flock /tmp/payments-system.lock make attacks"
        )
    return value


@dataclass(frozen=True)
class Webhook:
    """One webhook as sent on the wire."""

    event_id: str
    body: bytes
    headers: dict[str, str]


class Target:
    """The running system, from the environment the stack gives the command it runs."""

    def __init__(self) -> None:
        self.api_url = _need("API_URL").rstrip("/")
        self.webhook_url = _need("WEBHOOK_URL").rstrip("/")
        self.database_url = _need("DATABASE_URL")
        self.amqp_url = os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
        keys = list(parse_api_keys(_need("API_KEYS")).values())
        if len(keys) < 2:
            raise SystemExit("attacks: API_KEYS needs two merchants (the stack generates two)")
        self.keys = [(key.key_id, key.secret.get_secret_value()) for key in keys]
        # the first of a comma-separated list signs
        self.payment_secret = _need("PAYMENT_SIGNING_SECRET").split(",")[0].strip().encode()
        self.webhook_key = parse_webhook_secrets(_need("WEBHOOK_SECRETS"))[0]
        self.tolerance = int(os.environ.get("WEBHOOK_TOLERANCE_SECONDS", "300"))
        self.max_body = int(os.environ.get("MAX_BODY_BYTES", str(64 * 1024)))
        self.run_dir = Path(os.environ.get("PAYMENTS_RUN_DIR", ".run"))
        self.merchant_a = httpx.Client(base_url=self.api_url, auth=self.keys[0], timeout=15)
        self.merchant_b = httpx.Client(base_url=self.api_url, auth=self.keys[1], timeout=15)
        self.raw = httpx.Client(timeout=15)
        # every webhook-id signed here, forged or not: the snapshot looks for inbox rows of each
        self.event_ids: list[str] = []

    # -- victims ----------------------------------------------------------------------------------

    def pending_payment(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """An order of merchant A with an attempt the mock gateway leaves unsettled: a webhook decides it."""
        r = self.merchant_a.post("/orders", json={"amount": 2500, "currency": "INR"})
        r.raise_for_status()
        order = dict(r.json())
        r = self.merchant_a.post(
            "/payments/initiate",
            json={"orderId": order["orderId"], "method": {"type": "upi", "vpa": "pending@razorpay"}},
        )
        r.raise_for_status()
        return order, dict(r.json())

    # -- webhooks ---------------------------------------------------------------------------------

    def payload(self, order: dict[str, Any], payment: dict[str, Any], status: str = "SUCCESS") -> bytes:
        return json.dumps(
            {
                "orderId": order["orderId"],
                "paymentId": payment["paymentId"],
                "gatewayPaymentId": payment["gatewayPaymentId"],
                "signature": payment_signature(self.payment_secret, order["orderId"], payment["gatewayPaymentId"]),
                "status": status,
            }
        ).encode()

    def signed(self, body: bytes, *, timestamp: int | None = None, key: bytes | None = None) -> Webhook:
        event_id = f"evt_attack_{uuid.uuid4().hex}"
        self.event_ids.append(event_id)
        headers = sign_webhook(key or self.webhook_key, event_id, body, timestamp).as_dict()
        return Webhook(event_id, body, {**headers, "content-type": "application/json"})

    def forged(self, body: bytes) -> Webhook:
        """Signed with a key of the right shape that the system does not hold."""
        return self.signed(body, key=secrets.token_bytes(32))

    def send(self, webhook: Webhook, *, body: bytes | None = None, headers: dict[str, str] | None = None) -> int:
        """POST it (with another body, or headers replaced or added); the status."""
        content = webhook.body if body is None else body
        sent = {**webhook.headers, **(headers or {})}
        return self.raw.post(f"{self.webhook_url}/webhook/payment", content=content, headers=sent).status_code


def digest_header(body: bytes, algorithm: str = "sha-256") -> str:
    hashed = hashlib.sha256(body) if algorithm == "sha-256" else hashlib.sha512(body)
    return f"{algorithm}=:{base64.b64encode(hashed.digest()).decode()}:"


def raw_request(url: str, request: bytes, *, source: str | None = None, timeout: float = 15.0) -> int:
    """Send one HTTP/1.1 request as bytes (optionally from a chosen local address); its status, or 0
    when the server closed the connection without an answer."""
    target = URL(url)
    address = (target.host or "127.0.0.1", target.port or 80)
    with socket.create_connection(address, timeout=timeout, source_address=(source, 0) if source else None) as sock:
        sock.sendall(request)
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
                if b"\r\n" in received:
                    break
        except ConnectionResetError:
            pass
    if not received.startswith(b"HTTP/1."):
        return 0
    return int(received.split(b" ", 2)[1])


def request_bytes(method: str, path: str, headers: list[tuple[bytes, bytes]], body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1".encode(), b"Host: payments", b"Connection: close"]
    lines += [name + b": " + value for name, value in headers]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body
