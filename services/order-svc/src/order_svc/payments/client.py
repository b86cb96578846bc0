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
_PASSED_THROUGH = frozenset({404, 409, 502})
# and of a refund, with the field at fault when payment-svc names one
_REFUND_PASSED_THROUGH = frozenset({400, 404, 409})
# and of a capture
_CAPTURE_PASSED_THROUGH = frozenset({400, 404, 502})


def unavailable(status: int | None = None) -> ApiError:
    if status == 401:
        # a configuration fault, not the client's: the client sees a 503 like any other outage, the
        # operator this line (which names the setting, never its value)
        log.error("payments_client.unauthorized", hint="INTERNAL_API_TOKEN differs from payment-svc's")
    return ApiError(503, SERVICE_UNAVAILABLE, "payments are unavailable right now; try again")


def _refusal(status: int, data: Any, passed_through: frozenset[int], *, with_field: bool = False) -> ApiError:
    """payment-svc's refusal as the client sees it: its own error when passed through, else a 503."""
    error = data.get("error", {}) if isinstance(data, dict) else {}
    if status in passed_through and isinstance(error, dict) and "code" in error:
        field = error.get("field") if with_field else None
        return ApiError(
            status, str(error["code"]), str(error.get("description", "")), field if isinstance(field, str) else None
        )
    return unavailable(status)


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

    async def _call(
        self, method: str, path: str, body: dict[str, Any] | None = None, correlation_id: str | None = None
    ) -> tuple[int, Any]:
        """payment-svc's status and JSON answer; no answer (or no JSON) is a 503."""
        try:
            async with self._session.request(
                method, f"{self._base_url}{path}", json=body, headers=self._headers(correlation_id)
            ) as r:
                return r.status, await r.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError):
            raise unavailable() from None

    async def initiate(
        self,
        order_id: str,
        merchant_id: str,
        amount: int,
        currency: str,
        method: dict[str, Any] | None,
        correlation_id: str | None,
        request_id: uuid.UUID | None = None,
        *,
        manual_capture: bool = False,
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
        if manual_capture:
            body["manualCapture"] = True
        status, data = await self._call("POST", "/internal/payments", body, correlation_id)
        if status == 201:
            return PaymentSnapshot.model_validate(data)
        raise _refusal(status, data, _PASSED_THROUGH)

    async def capture(
        self, payment_id: str, merchant_id: str, amount: int, currency: str, correlation_id: str | None
    ) -> PaymentSnapshot:
        """Capture an AUTHORIZED attempt; payment-svc's refusals (400 with its `field`, 404, 502) as they are."""
        body = {"merchantId": merchant_id, "amount": amount, "currency": currency}
        status, data = await self._call("POST", f"/internal/payments/{payment_id}/capture", body, correlation_id)
        if status == 200:
            return PaymentSnapshot.model_validate(data)
        raise _refusal(status, data, _CAPTURE_PASSED_THROUGH, with_field=True)

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
        status, data = await self._call("POST", f"/internal/payments/{payment_id}/refunds", body, correlation_id)
        if status == 201:
            return RefundSnapshot.model_validate(data)
        raise _refusal(status, data, _REFUND_PASSED_THROUGH, with_field=True)

    async def events(self, payment_id: str) -> list[dict[str, Any]]:
        """The attempt's trail as payment-svc keeps it, oldest first. The caller checks the merchant."""
        status, data = await self._call("GET", f"/internal/payments/{payment_id}/events")
        if status == 404:
            raise ApiError(404, NOT_FOUND, "payment not found")
        events = data.get("events") if status == 200 and isinstance(data, dict) else None
        if not isinstance(events, list) or not all(isinstance(event, dict) for event in events):
            raise unavailable(status)
        return events
