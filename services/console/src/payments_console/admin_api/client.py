"""HTTP client of the services' admin APIs (payment-svc's, order-svc's and merchant-webhooks', behind
`ADMIN_TOKEN`) and of every service's readiness. The token stays on this side: nothing the console sends a
browser holds it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol, TypeVar
from urllib.parse import quote

import aiohttp
import orjson
from pydantic import BaseModel, ValidationError

from payments_common.admin_api.analytics import OrderAnalytics, PaymentAnalytics
from payments_common.admin_api.operations import (
    DeadLetterListing,
    DeadLetterMessages,
    OperationResult,
    OutboxStatus,
    QueueDepths,
    Readiness,
    ReconcileLast,
)
from payments_common.admin_api.payments import Anomalies, PaymentDetail, PaymentSearch, ResolveResult
from payments_common.merchant_webhooks import Delivery, DeliveryList
from payments_common.timeutil import iso
from payments_console.admin_api.schemas import OrderView, Selection

M = TypeVar("M", bound=BaseModel)
PAYMENT_SVC = "payment-svc"
ORDER_SVC = "order-svc"
MERCHANT_WEBHOOKS = "merchant-webhooks"


class AdminApiError(Exception):
    """A service's admin API failed us: unreachable, an error status, or an answer of another shape."""

    def __init__(self, service: str, status: int | None, message: str) -> None:
        super().__init__(f"{service}: {message}")
        self.service = service
        self.status = status
        self.message = message


class NotFound(AdminApiError):
    pass


def _description(raw: bytes) -> str:
    try:
        data = orjson.loads(raw)
        return str(data["error"]["description"])
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return raw[:200].decode(errors="replace") or "no description"


class AdminApi(Protocol):
    """What the console's features need from the admin APIs; the tests give a fake of it."""

    async def payment_analytics(
        self, since: datetime, until: datetime, bucket: str, merchant: str | None
    ) -> PaymentAnalytics: ...
    async def order_analytics(
        self, since: datetime, until: datetime, bucket: str, merchant: str | None
    ) -> OrderAnalytics: ...
    async def search_payments(self, query: Mapping[str, str]) -> PaymentSearch: ...
    async def payment(self, payment_id: str) -> PaymentDetail: ...
    async def order(self, order_id: str) -> OrderView: ...
    async def dead_letters(self) -> DeadLetterListing: ...
    async def dead_letter(self, message_id: str) -> DeadLetterMessages: ...
    async def requeue(self, selection: Selection) -> OperationResult: ...
    async def purge(self, selection: Selection) -> OperationResult: ...
    async def anomalies(self, *, include_resolved: bool) -> Anomalies: ...
    async def resolve_anomaly(self, anomaly_id: int, operator: str, action: str, note: str) -> ResolveResult: ...
    async def outbox(self) -> OutboxStatus: ...
    async def queues(self) -> QueueDepths: ...
    async def reconcile_last(self) -> ReconcileLast: ...
    async def readiness(self, service: str) -> Readiness: ...
    async def webhook_deliveries(self, query: Mapping[str, str]) -> DeliveryList: ...
    async def webhook_delivery(self, delivery_id: str) -> Delivery: ...
    async def redeliver_webhook(self, delivery_id: str) -> Delivery: ...


class AdminClient:
    def __init__(self, session: aiohttp.ClientSession, urls: Mapping[str, str], admin_token: str) -> None:
        """`urls`: each service's base URL by name (order-svc and payment-svc hold the admin APIs)."""
        self._session = session
        self._urls = dict(urls)
        self._headers = {"Authorization": f"Bearer {admin_token}"}

    async def _call(
        self,
        service: str,
        method: str,
        path: str,
        model: type[M],
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
    ) -> M:
        url = self._urls[service] + path
        data = orjson.dumps(body) if body is not None else None
        headers = {**self._headers, **({"Content-Type": "application/json"} if data is not None else {})}
        try:
            async with self._session.request(method, url, params=params, data=data, headers=headers) as response:
                raw = await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise AdminApiError(service, None, f"unreachable ({type(exc).__name__})") from None
        if status == 404:
            raise NotFound(service, status, _description(raw))
        if status >= 400:
            raise AdminApiError(service, status, f"{status}: {_description(raw)}")
        try:
            return model.model_validate_json(raw)
        except ValidationError as exc:
            first = exc.errors(include_url=False, include_input=False)[0]
            where = ".".join(str(part) for part in first["loc"])
            raise AdminApiError(service, status, f"unexpected answer at {where}: {first['msg']}") from None

    @staticmethod
    def _window(since: datetime, until: datetime, bucket: str, merchant: str | None) -> dict[str, str]:
        params = {"from": iso(since), "to": iso(until), "bucket": bucket}
        if merchant:
            params["merchant"] = merchant
        return params

    async def payment_analytics(
        self, since: datetime, until: datetime, bucket: str, merchant: str | None
    ) -> PaymentAnalytics:
        params = self._window(since, until, bucket, merchant)
        return await self._call(PAYMENT_SVC, "GET", "/admin/analytics", PaymentAnalytics, params=params)

    async def order_analytics(
        self, since: datetime, until: datetime, bucket: str, merchant: str | None
    ) -> OrderAnalytics:
        params = self._window(since, until, bucket, merchant)
        return await self._call(ORDER_SVC, "GET", "/admin/analytics/orders", OrderAnalytics, params=params)

    async def search_payments(self, query: Mapping[str, str]) -> PaymentSearch:
        return await self._call(PAYMENT_SVC, "GET", "/admin/payments", PaymentSearch, params=query)

    async def payment(self, payment_id: str) -> PaymentDetail:
        return await self._call(PAYMENT_SVC, "GET", f"/admin/payments/{_segment(payment_id)}", PaymentDetail)

    async def order(self, order_id: str) -> OrderView:
        return await self._call(ORDER_SVC, "GET", f"/admin/orders/{_segment(order_id)}", OrderView)

    async def dead_letters(self) -> DeadLetterListing:
        params = {"messages": "true"}
        return await self._call(PAYMENT_SVC, "GET", "/admin/dlq", DeadLetterListing, params=params)

    async def dead_letter(self, message_id: str) -> DeadLetterMessages:
        return await self._call(PAYMENT_SVC, "GET", f"/admin/dlq/{_segment(message_id)}", DeadLetterMessages)

    async def requeue(self, selection: Selection) -> OperationResult:
        body = selection.model_dump()
        return await self._call(PAYMENT_SVC, "POST", "/admin/dlq/requeue", OperationResult, body=body)

    async def purge(self, selection: Selection) -> OperationResult:
        body = selection.model_dump()
        return await self._call(PAYMENT_SVC, "POST", "/admin/dlq/purge", OperationResult, body=body)

    async def anomalies(self, *, include_resolved: bool) -> Anomalies:
        params = {"includeResolved": "true" if include_resolved else "false", "limit": "500"}
        return await self._call(PAYMENT_SVC, "GET", "/admin/anomalies", Anomalies, params=params)

    async def resolve_anomaly(self, anomaly_id: int, operator: str, action: str, note: str) -> ResolveResult:
        body = {"operator": operator, "action": action, "note": note}
        path = f"/admin/anomalies/{anomaly_id}/resolve"
        return await self._call(PAYMENT_SVC, "POST", path, ResolveResult, body=body)

    async def outbox(self) -> OutboxStatus:
        return await self._call(PAYMENT_SVC, "GET", "/admin/outbox", OutboxStatus)

    async def queues(self) -> QueueDepths:
        return await self._call(PAYMENT_SVC, "GET", "/admin/queues", QueueDepths)

    async def reconcile_last(self) -> ReconcileLast:
        return await self._call(PAYMENT_SVC, "GET", "/admin/reconcile/last", ReconcileLast)

    async def webhook_deliveries(self, query: Mapping[str, str]) -> DeliveryList:
        path = "/admin/webhook-deliveries"
        return await self._call(MERCHANT_WEBHOOKS, "GET", path, DeliveryList, params=query)

    async def webhook_delivery(self, delivery_id: str) -> Delivery:
        path = f"/admin/webhook-deliveries/{_segment(delivery_id)}"
        return await self._call(MERCHANT_WEBHOOKS, "GET", path, Delivery)

    async def redeliver_webhook(self, delivery_id: str) -> Delivery:
        path = f"/admin/webhook-deliveries/{_segment(delivery_id)}/redeliver"
        return await self._call(MERCHANT_WEBHOOKS, "POST", path, Delivery)

    async def readiness(self, service: str) -> Readiness:
        """GET /readyz: 200 ready, 503 not ready (the body says why), 404 a service without the route yet."""
        try:
            async with self._session.get(self._urls[service] + "/readyz") as response:
                raw = await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            return Readiness(service=service, state="down", reason=f"unreachable ({type(exc).__name__})")
        if status == 200:
            return Readiness(service=service, state="ready", reason=_reason(raw) or "ready")
        if status == 404:
            return Readiness(service=service, state="unknown", reason="no /readyz on this service")
        return Readiness(service=service, state="not ready", reason=_reason(raw) or f"answered {status}")


def _reason(raw: bytes) -> str:
    """A readiness answer's why: the failing checks of a JSON body, or its text."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return raw[:200].decode(errors="replace").strip()
    if isinstance(data, dict):
        checks = data.get("checks")
        if isinstance(checks, dict):
            # payments_common.health's answer: each check's `ok` and, when it failed, its `error`
            failing = [
                f"{name}: {value.get('error', 'failing') if isinstance(value, dict) else value}"
                for name, value in checks.items()
                if not (value is True or value in ("ok", "up") or (isinstance(value, dict) and value.get("ok")))
            ]
            return "; ".join(failing) if failing else f"all checks pass ({', '.join(checks)})"
        if "reason" in data:
            return str(data["reason"])
        if "status" in data:
            return str(data["status"])
    return raw[:200].decode(errors="replace").strip()


def _segment(value: str) -> str:
    return quote(value, safe="")
