"""HTTP to the payment gateway. The aiohttp session is injected, so tests point it anywhere."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import aiohttp
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from payments_common import metrics
from payments_common.logging import get_logger

log = get_logger(__name__)


class GatewayStatus(StrEnum):
    """The gateway's own record of a payment: `created` (not settled yet), `captured` or `failed`; one made
    for manual capture is `authorized` until it is `captured` or `voided`."""

    CREATED = "created"
    AUTHORIZED = "authorized"
    CAPTURED = "captured"
    VOIDED = "voided"
    FAILED = "failed"


class GatewayRefundStatus(StrEnum):
    """The gateway's own record of a refund: `pending` (not reported yet), `processed` or `failed`."""

    PENDING = "pending"
    PROCESSED = "processed"
    FAILED = "failed"


# the names the reconcilers match records with, typed as a record's `status` is (any string the gateway sends)
GATEWAY_CAPTURED: str = GatewayStatus.CAPTURED
GATEWAY_FAILED: str = GatewayStatus.FAILED
GATEWAY_AUTHORIZED: str = GatewayStatus.AUTHORIZED
GATEWAY_VOIDED: str = GatewayStatus.VOIDED
GATEWAY_REFUND_PROCESSED: str = GatewayRefundStatus.PROCESSED
GATEWAY_REFUND_FAILED: str = GatewayRefundStatus.FAILED


class GatewayUnavailable(Exception):
    """The gateway could not be reached or answered with a server error; the attempt cannot start."""


class GatewayRejected(Exception):
    """The gateway refused the request (4xx): retrying the same request will not help."""


@dataclass(frozen=True, slots=True)
class GatewayPayment:
    id: str
    signature: str


@dataclass(frozen=True, slots=True)
class GatewayRecord:
    id: str
    payment_id: str
    order_id: str
    amount: int | None
    currency: str | None
    status: str
    signature: str
    error_code: str | None = None
    error_description: str | None = None

    @classmethod
    def from_json(cls, data: Any) -> GatewayRecord:
        try:
            return cls(
                id=str(data["id"]),
                payment_id=str(data["paymentId"]),
                order_id=str(data["orderId"]),
                amount=data.get("amount"),
                currency=data.get("currency"),
                status=str(data["status"]),
                signature=str(data["signature"]),
                error_code=data.get("errorCode"),
                error_description=data.get("errorDescription"),
            )
        except (KeyError, TypeError, AttributeError):
            raise GatewayRejected("gateway record lacks a required field") from None


@dataclass(frozen=True, slots=True)
class GatewayRefund:
    id: str
    status: str


@dataclass(frozen=True, slots=True)
class GatewayRefundRecord:
    id: str
    refund_id: str
    gateway_payment_id: str
    amount: int
    currency: str
    status: str
    error_code: str | None = None
    error_description: str | None = None

    @classmethod
    def from_json(cls, data: Any) -> GatewayRefundRecord:
        try:
            return cls(
                id=str(data["id"]),
                refund_id=str(data["refundId"]),
                gateway_payment_id=str(data["gatewayPaymentId"]),
                amount=int(data["amount"]),
                currency=str(data["currency"]),
                status=str(data["status"]),
                error_code=data.get("errorCode"),
                error_description=data.get("errorDescription"),
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            raise GatewayRejected("gateway refund record lacks a required field") from None


class _Retryable(Exception):
    pass


class GatewayClient:
    def __init__(self, session: aiohttp.ClientSession, base_url: str, *, attempts: int = 3) -> None:
        self._session = session
        self._base_url = base_url.rstrip("/")
        self._attempts = attempts

    async def create_payment(
        self,
        payment_id: str,
        order_id: str,
        amount: int,
        currency: str,
        method: dict[str, Any] | None,
        correlation_id: str | None = None,
        *,
        manual_capture: bool = False,
    ) -> GatewayPayment:
        """Idempotent on `payment_id` at the gateway, so retrying after a timeout is safe. A manual capture's
        payment is only authorised by the gateway: `capture_payment` or `void_payment` settles it."""
        body = {"paymentId": payment_id, "orderId": order_id, "amount": amount, "currency": currency, "method": method}
        if manual_capture:
            body["capture"] = "manual"
        data = await self._post_retrying("/v1/payments", body, correlation_id, "payment")
        try:
            return GatewayPayment(id=str(data["id"]), signature=str(data["signature"]))
        except (KeyError, TypeError):
            raise GatewayRejected("gateway answer lacks id or signature") from None

    async def find_payment(self, *, gateway_payment_id: str | None, payment_id: str) -> GatewayRecord | None:
        """The gateway's record, by its id when we know it, else by ours; None when it has none."""
        data = await self._lookup("payments", gateway_payment_id, {"paymentId": payment_id}, "lookup")
        return None if data is None else GatewayRecord.from_json(data)

    async def capture_payment(
        self, gateway_payment_id: str, amount: int, currency: str, correlation_id: str | None = None
    ) -> GatewayRecord:
        """Capture an authorised payment; idempotent at the gateway (a captured one answers as it is).
        `GatewayRejected` when the gateway refuses (voided, not authorised, another amount)."""
        body = {"amount": amount, "currency": currency}
        path = f"/v1/payments/{gateway_payment_id}/capture"
        return GatewayRecord.from_json(await self._post_retrying(path, body, correlation_id, "capture"))

    async def void_payment(
        self, gateway_payment_id: str, error_code: str, error_description: str, correlation_id: str | None = None
    ) -> GatewayRecord:
        """Void an authorised payment, releasing its money, for the reason given (kept on the gateway's
        record); idempotent at the gateway. `GatewayRejected` when it refuses (captured meanwhile)."""
        path = f"/v1/payments/{gateway_payment_id}/void"
        body = {"errorCode": error_code, "errorDescription": error_description}
        return GatewayRecord.from_json(await self._post_retrying(path, body, correlation_id, "void"))

    async def create_refund(
        self,
        refund_id: str,
        gateway_payment_id: str,
        amount: int,
        currency: str,
        correlation_id: str | None = None,
    ) -> GatewayRefund:
        """Idempotent on `refund_id` at the gateway: a retry, or a redelivered request, never refunds twice.

        `GatewayRejected` when the gateway refuses the refund for good (not captured, more than is left).
        """
        body = {"refundId": refund_id, "gatewayPaymentId": gateway_payment_id, "amount": amount, "currency": currency}
        data = await self._post_retrying("/v1/refunds", body, correlation_id, "refund")
        try:
            return GatewayRefund(id=str(data["id"]), status=str(data["status"]))
        except (KeyError, TypeError):
            raise GatewayRejected("gateway answer lacks the refund's id or status") from None

    async def find_refund(self, *, gateway_refund_id: str | None, refund_id: str) -> GatewayRefundRecord | None:
        """The gateway's refund, by its id when we know it, else by ours; None when it has none."""
        data = await self._lookup("refunds", gateway_refund_id, {"refundId": refund_id}, "refund lookup")
        return None if data is None else GatewayRefundRecord.from_json(data)

    async def _lookup(self, collection: str, gateway_id: str | None, ours: dict[str, str], what: str) -> Any:
        """`GET /v1/<collection>/<gateway id>`, or by our id as a query when the gateway's is unknown: the
        JSON answer, None for a 404."""
        if gateway_id is not None:
            url, params = f"{self._base_url}/v1/{collection}/{gateway_id}", {}
        else:
            url, params = f"{self._base_url}/v1/{collection}", ours
        try:
            async with (
                metrics.gateway_call(f"find_{collection.removesuffix('s')}") as call,
                self._session.get(url, params=params) as response,
            ):
                call.status = response.status
                if response.status == 404:
                    return None
                if response.status >= 500:
                    raise GatewayUnavailable(f"gateway answered {response.status}")
                if response.status >= 400:
                    raise GatewayRejected(f"gateway refused the {what}: {response.status}")
                return await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise GatewayUnavailable(f"gateway unreachable: {type(exc).__name__}") from exc

    async def _post_retrying(self, path: str, body: dict[str, Any], correlation_id: str | None, what: str) -> Any:
        """The gateway's JSON answer, retried while it is unreachable or answers 5xx: safe because the gateway is
        idempotent on the id the body carries; `GatewayUnavailable` once the attempts are spent."""
        headers = {"X-Request-Id": correlation_id} if correlation_id else {}
        try:
            async for attempt in AsyncRetrying(
                stop=stop_after_attempt(self._attempts),
                wait=wait_exponential_jitter(multiplier=0.1, max=1, jitter=0.1),
                retry=retry_if_exception_type(_Retryable),
                reraise=True,
            ):
                with attempt:
                    return await self._post_json(f"{self._base_url}{path}", body, headers, what)
        except _Retryable as exc:
            raise GatewayUnavailable(str(exc)) from None
        raise AssertionError("unreachable")

    async def _post_json(self, url: str, body: dict[str, Any], headers: dict[str, str], what: str) -> Any:
        try:
            async with (
                metrics.gateway_call(what if what in ("capture", "void") else f"create_{what}") as call,
                self._session.post(url, json=body, headers=headers) as response,
            ):
                call.status = response.status
                if response.status >= 500:
                    raise _Retryable(f"gateway answered {response.status}")
                try:
                    data = await response.json(content_type=None)
                except ValueError:
                    data = None
                if response.status >= 400:
                    error = data.get("error") if isinstance(data, dict) else None
                    code = error.get("code") if isinstance(error, dict) else None
                    raise GatewayRejected(f"gateway refused the {what}: {response.status} {code or ''}".rstrip())
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise _Retryable(f"gateway unreachable: {type(exc).__name__}") from exc
        return data
