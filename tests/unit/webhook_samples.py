"""The webhook endpoints' routes, native and /v1, as `test_order_svc_answers` drives them: what each is
asked, and the native use cases stubbed to answer the internal API's models (the /v1 ones render them)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from order_svc.webhook_endpoints import service
from payments_common.merchant_webhooks import Delivery, DeliveryList, Endpoint, EndpointList, EndpointWithSecret

ENDPOINT_ID = "whep_0123456789abcdef0123456789abcdef"
DELIVERY_ID = "whdl_0123456789abcdef0123456789abcdef"
AT = datetime(2026, 12, 7, 1, 0, 0, 250000, tzinfo=UTC)


def _returning(value: Any) -> Callable[..., Awaitable[Any]]:
    async def use_case(*_: Any, **__: Any) -> Any:
        return value

    return use_case


def calls() -> dict[tuple[str, str], tuple[str, dict[str, Any] | None]]:
    created = {"url": "https://merchant.example/hooks", "events": ["payment.captured", "order.paid"]}
    base, v1 = f"/webhook-endpoints/{ENDPOINT_ID}", f"/v1/webhooks/{ENDPOINT_ID}"
    return {
        ("POST", "/webhook-endpoints"): ("/webhook-endpoints", {**created, "description": "orders"}),
        ("GET", "/webhook-endpoints"): ("/webhook-endpoints", None),
        ("GET", "/webhook-endpoints/{endpoint_id}"): (base, None),
        ("PATCH", "/webhook-endpoints/{endpoint_id}"): (base, {"status": "disabled"}),
        ("DELETE", "/webhook-endpoints/{endpoint_id}"): (base, None),
        ("POST", "/webhook-endpoints/{endpoint_id}/rotate-secret"): (f"{base}/rotate-secret", None),
        ("GET", "/webhook-endpoints/{endpoint_id}/deliveries"): (f"{base}/deliveries?limit=10", None),
        ("POST", "/webhook-deliveries/{delivery_id}/redeliver"): (f"/webhook-deliveries/{DELIVERY_ID}/redeliver", None),
        ("POST", "/v1/webhooks"): ("/v1/webhooks", {**created, "events": ["*"]}),
        ("GET", "/v1/webhooks"): ("/v1/webhooks", None),
        ("GET", "/v1/webhooks/{webhook_id}"): (v1, None),
        ("PATCH", "/v1/webhooks/{webhook_id}"): (v1, {"active": False}),
        ("DELETE", "/v1/webhooks/{webhook_id}"): (v1, None),
        ("POST", "/v1/webhooks/{webhook_id}/rotate-secret"): (f"{v1}/rotate-secret", None),
        ("GET", "/v1/webhooks/{webhook_id}/deliveries"): (f"{v1}/deliveries?count=5", None),
        ("POST", "/v1/webhooks/deliveries/{delivery_id}/redeliver"): (
            f"/v1/webhooks/deliveries/{DELIVERY_ID}/redeliver",
            None,
        ),
    }


def endpoint() -> Endpoint:
    return Endpoint(
        id=ENDPOINT_ID,
        merchantId="merch_1",
        url="https://merchant.example/hooks",
        events=["payment.captured", "order.paid"],
        description="orders",
        status="enabled",
        createdAt=AT,
        updatedAt=AT,
    )


def delivery() -> Delivery:
    return Delivery.model_validate(
        {
            "id": DELIVERY_ID,
            "merchantId": "merch_1",
            "endpointId": ENDPOINT_ID,
            "eventId": "evt_0123456789ABCDEFabcd",
            "event": "payment.captured",
            "status": "pending",
            "attempts": [
                {"at": AT, "statusCode": 500, "latencyMs": 12},
                {"at": AT, "error": "connection refused"},
            ],
            "nextAttemptAt": AT,
            "createdAt": AT,
        }
    )


def stub(monkeypatch: pytest.MonkeyPatch) -> None:
    shown = endpoint()
    with_secret = EndpointWithSecret(**shown.model_dump(), secret="whsec_c2VjcmV0", previousSecretExpiresAt=None)
    monkeypatch.setattr(service, "create_endpoint", _returning(with_secret))
    monkeypatch.setattr(service, "list_endpoints", _returning(EndpointList(items=[shown])))
    monkeypatch.setattr(service, "get_endpoint", _returning(shown))
    monkeypatch.setattr(service, "update_endpoint", _returning(shown))
    monkeypatch.setattr(service, "delete_endpoint", _returning(ENDPOINT_ID))
    monkeypatch.setattr(service, "rotate_secret", _returning(with_secret))
    monkeypatch.setattr(service, "endpoint_deliveries", _returning(DeliveryList(items=[delivery()])))
    monkeypatch.setattr(service, "redeliver", _returning(delivery()))
