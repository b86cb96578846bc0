"""HTTP to payment-svc's internal API, with its bearer token on every call. The aiohttp session is injected."""

from __future__ import annotations

import uuid
from typing import Any

import aiohttp

from payments_common.errors import NOT_FOUND, SERVICE_UNAVAILABLE, ApiError
from payments_common.events import PaymentSnapshot, RefundSnapshot
from payments_common.logging import get_logger

log = get_logger(__name__)

# payment-svc's refusals that the client should see as they are
_PASSED_THROUGH = {404, 409, 502}


def _unavailable(status: int | None = None) -> ApiError:
    if status == 401:
        # a configuration fault, not the client's: the client sees a 503 like any other outage, the
        # operator this line (which names the setting, never its value)
        log.error("payments_client.unauthorized", hint="INTERNAL_API_TOKEN differs from payment-svc's")
    return ApiError(503, SERVICE_UNAVAILABLE, "payments are unavailable right now; try again")


class PaymentsClient:
    def __init__(self, session: aiohttp.ClientSession, base_url: str, token: str) -> None:
        self._session = session
        self._base_url = base_url.rstrip("/")
        self._authorization = f"Bearer {token}"

    def _headers(self, correlation_id: str | None = None) -> dict[str, str]:
        headers = {"Authorization": self._authorization}
        if correlation_id:
            headers["X-Request-Id"] = correlation_id
        return headers

    async def initiate(
        self,
        order_id: str,
        merchant_id: str,
        amount: int,
        currency: str,
        method: dict[str, Any] | None,
        correlation_id: str | None,
        request_id: uuid.UUID | None = None,
    ) -> PaymentSnapshot:
        body = {
            "orderId": order_id,
            "merchantId": merchant_id,
            "amount": amount,
            "currency": currency,
            "method": method,
        }
        if request_id is not None:
            body["requestId"] = str(request_id)
        headers = self._headers(correlation_id)
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
        raise _unavailable(status)

    async def create_refund(
        self,
        payment_id: str,
        merchant_id: str,
        amount: int | None,
        notes: dict[str, Any] | None,
        correlation_id: str | None,
        request_id: uuid.UUID | None = None,
    ) -> RefundSnapshot:
        """payment-svc's refusals (400 with its `field`, 404, 409) reach the client as they are."""
        body: dict[str, Any] = {"merchantId": merchant_id}
        if request_id is not None:
            body["requestId"] = str(request_id)
        if amount is not None:
            body["amount"] = amount
        if notes is not None:
            body["notes"] = notes
        headers = self._headers(correlation_id)
        url = f"{self._base_url}/internal/payments/{payment_id}/refunds"
        try:
            async with self._session.post(url, json=body, headers=headers) as r:
                data = await r.json(content_type=None)
                status = r.status
        except (aiohttp.ClientError, TimeoutError, ValueError):
            raise _unavailable() from None
        if status == 201:
            return RefundSnapshot.model_validate(data)
        error = data.get("error", {}) if isinstance(data, dict) else {}
        if status in (400, 404, 409) and isinstance(error, dict) and "code" in error:
            field = error.get("field")
            raise ApiError(
                status, str(error["code"]), str(error.get("description", "")), field if isinstance(field, str) else None
            )
        raise _unavailable(status)

    async def events(self, payment_id: str) -> list[dict[str, Any]]:
        """The attempt's trail as payment-svc keeps it, oldest first. The caller checks the merchant."""
        try:
            url = f"{self._base_url}/internal/payments/{payment_id}/events"
            async with self._session.get(url, headers=self._headers()) as r:
                data = await r.json(content_type=None)
                status = r.status
        except (aiohttp.ClientError, TimeoutError, ValueError):
            raise _unavailable() from None
        if status == 404:
            raise ApiError(404, NOT_FOUND, "payment not found")
        events = data.get("events") if status == 200 and isinstance(data, dict) else None
        if not isinstance(events, list) or not all(isinstance(event, dict) for event in events):
            raise _unavailable(status)
        return events
