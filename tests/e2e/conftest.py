"""End-to-end tier: HTTP against the running system that `payments-stack exec` started.

It reads the same environment as the acceptance suite (API_URL, WEBHOOK_URL, API_KEYS,
PAYMENT_SIGNING_SECRET, WEBHOOK_SECRETS) plus PAYMENTS_RUN_DIR, where the stack keeps pid files.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from payments_common.config import parse_api_keys, parse_signing_secrets, parse_webhook_secrets
from payments_common.signatures import payment_signature, sign_webhook

pytestmark = pytest.mark.e2e


def _need(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.skip(f"{name} is not set: run this tier through `make system` (payments-stack exec)")
    return value


class System:
    def __init__(self) -> None:
        self.api_url = _need("API_URL").rstrip("/")
        self.webhook_url = _need("WEBHOOK_URL").rstrip("/")
        self.amqp_url = os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
        keys = list(parse_api_keys(_need("API_KEYS")).values())
        self.keys = [(k.key_id, k.secret.get_secret_value()) for k in keys]
        self.payment_secret = parse_signing_secrets(_need("PAYMENT_SIGNING_SECRET"))[0]
        self.webhook_key = parse_webhook_secrets(_need("WEBHOOK_SECRETS"))[0]
        self.run_dir = Path(os.environ.get("PAYMENTS_RUN_DIR", ".run"))
        self.api = httpx.Client(base_url=self.api_url, auth=self.keys[0], timeout=15)
        self.raw = httpx.Client(timeout=15)
        self.database_url = _need("DATABASE_URL")
        self.payment_svc_url = os.environ.get("PAYMENT_SVC_URL", "http://127.0.0.1:8082").rstrip("/")
        self.admin = httpx.Client(
            base_url=self.payment_svc_url,
            headers={"Authorization": f"Bearer {_need('ADMIN_TOKEN')}"},
            timeout=60,
        )

    def sql(self, query: str, *args: Any) -> list[dict[str, Any]]:
        """Run one statement against the system's database (to read state, or to age a row)."""

        async def run() -> list[dict[str, Any]]:
            conn = await asyncpg.connect(self.database_url)
            try:
                return [dict(row) for row in await conn.fetch(query, *args)]
            finally:
                await conn.close()

        return asyncio.run(run())

    def reconcile(self, older_than: float | None = None) -> dict[str, Any]:
        body = {} if older_than is None else {"olderThanSeconds": older_than}
        r = self.admin.post("/admin/reconcile", json=body)
        assert r.status_code == 200, r.text
        return dict(r.json())

    def client_for(self, merchant: int) -> httpx.Client:
        return httpx.Client(base_url=self.api_url, auth=self.keys[merchant], timeout=15)

    def create_order(self, amount: int = 1500, currency: str = "INR", **extra: Any) -> dict[str, Any]:
        r = self.api.post("/orders", json={"amount": amount, "currency": currency, **extra})
        assert r.status_code == 201, r.text
        return dict(r.json())

    def initiate(self, order_id: str, vpa: str | None = None) -> httpx.Response:
        body: dict[str, Any] = {"orderId": order_id}
        if vpa is not None:
            body["method"] = {"type": "upi", "vpa": vpa}
        return self.api.post("/payments/initiate", json=body)

    def pending_payment(self, amount: int = 1500) -> tuple[dict[str, Any], dict[str, Any]]:
        order = self.create_order(amount)
        r = self.initiate(order["orderId"], vpa="pending@razorpay")
        assert r.status_code == 201, r.text
        return order, dict(r.json())

    def get_order(self, order_id: str) -> dict[str, Any]:
        r = self.api.get(f"/orders/{order_id}")
        assert r.status_code == 200, r.text
        return dict(r.json())

    def wait_order(self, order_id: str, statuses: set[str], timeout: float = 20.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            order = self.get_order(order_id)
            if order["status"] in statuses:
                return order
            if time.monotonic() > deadline:
                raise AssertionError(f"order {order_id} stayed {order['status']}, wanted {statuses}")
            time.sleep(0.1)

    def webhook(
        self,
        order: dict[str, Any],
        payment: dict[str, Any],
        status: str = "SUCCESS",
        event_id: str | None = None,
        **extra: Any,
    ) -> httpx.Response:
        payload = {
            "orderId": order["orderId"],
            "paymentId": payment["paymentId"],
            "gatewayPaymentId": payment["gatewayPaymentId"],
            "signature": payment_signature(self.payment_secret, order["orderId"], payment["gatewayPaymentId"]),
            "status": status,
            **extra,
        }
        body = json.dumps(payload).encode()
        headers = sign_webhook(self.webhook_key, event_id or f"evt_{uuid.uuid4().hex}", body).as_dict()
        headers["content-type"] = "application/json"
        return self.raw.post(f"{self.webhook_url}/webhook/payment", content=body, headers=headers)

    def pid(self, service: str) -> int:
        return int((self.run_dir / "pids" / f"{service}.pid").read_text())


@pytest.fixture(scope="session")
def system() -> Iterator[System]:
    yield System()


def payments_admin(*args: str) -> tuple[int, Any, str]:
    """Run the operator console against the system; (exit code, parsed JSON or None, stderr)."""
    import subprocess
    import sys

    command = [str(Path(sys.executable).parent / "payments-admin"), *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    parsed = json.loads(done.stdout) if "--json" in args and done.stdout.strip() else None
    return done.returncode, parsed, done.stderr
