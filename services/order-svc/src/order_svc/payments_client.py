"""HTTP to payment-svc's internal API. The aiohttp session is injected."""

from __future__ import annotations

from typing import Any

import aiohttp

from payments_common.errors import SERVICE_UNAVAILABLE, ApiError
from payments_common.events import PaymentSnapshot

# payment-svc's refusals that the client should see as they are
_PASSED_THROUGH = {404, 409, 502}


class PaymentsClient:
    def __init__(self, session: aiohttp.ClientSession, base_url: str) -> None:
        self._session = session
        self._base_url = base_url.rstrip("/")

    async def initiate(
        self,
        order_id: str,
        merchant_id: str,
        amount: int,
        currency: str,
        method: dict[str, Any] | None,
        correlation_id: str | None,
    ) -> PaymentSnapshot:
        body = {
            "orderId": order_id,
            "merchantId": merchant_id,
            "amount": amount,
            "currency": currency,
            "method": method,
        }
        headers = {"X-Request-Id": correlation_id} if correlation_id else {}
        try:
            async with self._session.post(f"{self._base_url}/internal/payments", json=body, headers=headers) as r:
                data = await r.json(content_type=None)
                status = r.status
        except (aiohttp.ClientError, TimeoutError, ValueError):
            raise ApiError(503, SERVICE_UNAVAILABLE, "payments are unavailable right now; try again") from None
        if status == 201:
            return PaymentSnapshot.model_validate(data)
        error = data.get("error", {}) if isinstance(data, dict) else {}
        if status in _PASSED_THROUGH and isinstance(error, dict) and "code" in error:
            raise ApiError(status, str(error["code"]), str(error.get("description", "")))
        raise ApiError(503, SERVICE_UNAVAILABLE, "payments are unavailable right now; try again")
