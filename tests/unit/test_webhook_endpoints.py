"""The webhook endpoints' pure rules on order-svc's side: the /v1 requests as the internal API's, the /v1
entities of its answers, and which of the process's answers reach the merchant as they are."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError
from webhook_samples import AT, ENDPOINT_ID, delivery, endpoint

from order_svc.v1.webhooks.schemas import (
    CreateWebhookV1,
    EditWebhookV1,
    WebhookDeliveryEntity,
    WebhookEntity,
    WebhookWithSecret,
)
from order_svc.webhook_endpoints.client import _refusal
from payments_common.merchant_webhooks import EndpointWithSecret


@pytest.mark.parametrize(
    ("body", "sent"),
    [
        ({"active": False}, {"status": "disabled"}),
        ({"active": True, "events": ["*"]}, {"status": "enabled", "events": ["*"]}),
        ({"url": "https://m.example/h"}, {"url": "https://m.example/h"}),
        ({"description": None}, {"description": None}),
    ],
)
def test_a_v1_edit_sends_only_what_it_changes(body: dict[str, Any], sent: dict[str, Any]) -> None:
    native = EditWebhookV1.model_validate(body).native()
    assert native.model_dump(exclude_unset=True) == sent


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"status": "disabled"},
        {"active": "no"},
        {"events": ["payment.teleported"]},
        {"events": []},
    ],
)
def test_a_v1_edit_refuses_nothing_to_change_and_unknown_fields_or_events(body: dict[str, Any]) -> None:
    # refused when the request is parsed (a 400), not later by the native model (it was a 500)
    with pytest.raises(ValidationError):
        EditWebhookV1.model_validate(body)


def test_a_v1_creation_is_the_native_one() -> None:
    created = CreateWebhookV1.model_validate({"url": "https://m.example/h", "events": ["order.paid", "order.paid"]})
    assert created.native().model_dump(exclude_unset=True) == {"url": "https://m.example/h", "events": ["order.paid"]}
    with pytest.raises(ValidationError, match="unknown event"):
        CreateWebhookV1.model_validate({"url": "https://m.example/h", "events": ["payment.teleported"]})


def test_the_v1_entities_of_an_endpoint_and_a_delivery() -> None:
    unix = int(AT.timestamp())
    shown = WebhookEntity.of(endpoint())
    assert shown.model_dump() == {
        "id": ENDPOINT_ID,
        "entity": "webhook",
        "url": "https://merchant.example/hooks",
        "events": ["payment.captured", "order.paid"],
        "description": "orders",
        "active": True,
        "disabled_reason": None,
        "created_at": unix,
        "updated_at": unix,
    }
    secret = EndpointWithSecret(**endpoint().model_dump(), secret="whsec_x", previousSecretExpiresAt=AT)
    with_secret = WebhookWithSecret.with_secret(secret)
    assert (with_secret.secret, with_secret.previous_secret_expires_at) == ("whsec_x", unix)
    logged = WebhookDeliveryEntity.of(delivery())
    assert (logged.entity, logged.webhook_id, logged.status, logged.next_attempt_at) == (
        "webhook_delivery",
        ENDPOINT_ID,
        "pending",
        unix,
    )
    assert [(a.status_code, a.error) for a in logged.attempts] == [(500, None), (None, "connection refused")]


@pytest.mark.parametrize(
    ("status", "data", "expected"),
    [
        # the merchant's faults, as the process said them
        (400, {"error": {"code": "BAD_REQUEST_ERROR", "description": "url: not https", "field": "url"}}, 400),
        (404, {"error": {"code": "NOT_FOUND", "description": "webhook endpoint not found"}}, 404),
        (409, {"error": {"code": "CONFLICT", "description": "busy"}}, 409),
        # ours, or no answer worth passing on: a 503
        (401, {"error": {"code": "UNAUTHORIZED", "description": "bad token"}}, 503),
        (500, {"error": {"code": "SERVER_ERROR", "description": "boom"}}, 503),
        (400, {"detail": "not our error shape"}, 503),
        (400, None, 503),
    ],
)
def test_which_refusals_pass_through(status: int, data: Any, expected: int) -> None:
    error = _refusal(status, data)
    assert error.status == expected
    if expected == status:
        assert (error.code, error.description) == (data["error"]["code"], data["error"]["description"])
        assert error.field == data["error"].get("field")
    else:
        assert error.code == "SERVICE_UNAVAILABLE" and "bad token" not in error.description
