"""Driving the running system for the browser tier: payments of mixed outcomes through the client API (the
mock gateway's test values), signed webhooks for the cases a gateway would never send on its own, and
reads of the system's database to know what the console must show."""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx

from payments_common.config import parse_api_keys, parse_signing_secrets, parse_webhook_secrets
from payments_common.signatures import payment_signature, sign_webhook

YEAR = datetime.now(UTC).year + 2


def card(number: str) -> dict[str, Any]:
    return {"type": "card", "number": number, "expiryMonth": 12, "expiryYear": YEAR, "cvv": "123", "name": "Asha Rao"}


# (method, outcome once settled), weighted by repetition: mostly successes, a spread of declines, a few left
# pending (the mock gateway sends no webhook for those)
OUTCOMES: list[tuple[dict[str, Any], str]] = [
    *[({"type": "upi", "vpa": "success@razorpay"}, "SUCCESS")] * 5,
    *[(card("4111 1111 1111 1111"), "SUCCESS")] * 5,
    ({"type": "wallet", "provider": "paytm"}, "SUCCESS"),
    ({"type": "netbanking", "bank": "HDFC"}, "SUCCESS"),
    ({"type": "upi", "vpa": "failure@razorpay"}, "FAILED"),
    (card("4000 0000 0000 0002"), "FAILED"),
    (card("4000 0000 0000 9995"), "FAILED"),
    ({"type": "wallet", "provider": "freecharge"}, "FAILED"),
    ({"type": "netbanking", "bank": "YESB"}, "FAILED"),
    ({"type": "upi", "vpa": "pending@razorpay"}, "INITIATED"),
]


class Driver:
    """The system as `payments-stack exec` describes it in the environment."""

    def __init__(self) -> None:
        keys = list(parse_api_keys(os.environ["API_KEYS"]).values())
        self.key = (keys[0].key_id, keys[0].secret.get_secret_value())
        self.api = httpx.Client(base_url=os.environ["API_URL"].rstrip("/"), auth=self.key, timeout=30)
        self.webhook_url = os.environ["WEBHOOK_URL"].rstrip("/")
        self.payment_secret = parse_signing_secrets(os.environ["PAYMENT_SIGNING_SECRET"])[0]
        self.webhook_key = parse_webhook_secrets(os.environ["WEBHOOK_SECRETS"])[0]
        self.database_url = os.environ["DATABASE_URL"]

    def sql(self, query: str, *args: Any) -> list[dict[str, Any]]:
        async def run() -> list[dict[str, Any]]:
            conn = await asyncpg.connect(self.database_url)
            try:
                return [dict(row) for row in await conn.fetch(query, *args)]
            finally:
                await conn.close()

        with ThreadPoolExecutor(1) as pool:  # Playwright's sync API runs a loop on this thread
            return pool.submit(asyncio.run, run()).result()

    def pay(self, n: int, method: dict[str, Any] | None = None) -> dict[str, Any]:
        """An order and one attempt; `method` default: the n-th of OUTCOMES."""
        method = method if method is not None else OUTCOMES[n % len(OUTCOMES)][0]
        currency = "USD" if n % 7 == 3 else "INR"
        r = self.api.post("/orders", json={"amount": 1000 + (n * 137) % 90_000, "currency": currency})
        assert r.status_code == 201, r.text
        order = r.json()
        r = self.api.post("/payments/initiate", json={"orderId": order["orderId"], "method": method})
        assert r.status_code == 201, r.text
        return {**order, **r.json()}

    def pay_many(self, count: int) -> list[dict[str, Any]]:
        with ThreadPoolExecutor(8) as pool:
            return list(pool.map(self.pay, range(count)))

    def refund(self, payment_id: str, amount: int | None = None) -> None:
        r = self.api.post(f"/payments/{payment_id}/refunds", json={} if amount is None else {"amount": amount})
        assert r.status_code == 201, r.text

    def wait_settled(self, payment_ids: list[str], timeout: float = 60) -> None:
        """Until every one of `payment_ids` has settled (leave out the pending ones: they never do)."""
        deadline = time.monotonic() + timeout
        while True:
            rows = self.sql(
                "SELECT count(*) AS open FROM payments.payments WHERE id = ANY($1) AND status = 'INITIATED'",
                payment_ids,
            )
            if rows[0]["open"] == 0:
                return
            assert time.monotonic() < deadline, f"{rows[0]['open']} payments did not settle"
            time.sleep(0.3)

    def webhook(self, order_id: str, payment_id: str, gateway_payment_id: str, status: str, **extra: Any) -> str:
        """A signed webhook as the gateway would send it; its event id."""
        payload = {
            "orderId": order_id,
            "paymentId": payment_id,
            "gatewayPaymentId": gateway_payment_id,
            "signature": payment_signature(self.payment_secret, order_id, gateway_payment_id),
            "status": status,
            **extra,
        }
        body = json.dumps(payload).encode()
        event_id = f"evt_console_{uuid.uuid4().hex}"
        headers = {**sign_webhook(self.webhook_key, event_id, body).as_dict(), "content-type": "application/json"}
        r = httpx.post(f"{self.webhook_url}/webhook/payment", content=body, headers=headers, timeout=15)
        assert r.status_code == 200, r.text
        return event_id
