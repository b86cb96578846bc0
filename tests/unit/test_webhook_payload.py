"""The webhook body model: the contract's shapes pass, malformed ones name the field at fault."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from payments_common import ids
from payments_common.errors import ApiError
from payments_common.events import WebhookEnvelope
from payments_common.http import parse_model
from webhook_gateway.payments.schemas import PaymentWebhook

ORDER_ID = ids.new_id(ids.ORDER)
PAYMENT_ID = ids.new_id(ids.PAYMENT)
GW_ID = ids.new_id(ids.GATEWAY_PAYMENT)


def minimal(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "orderId": ORDER_ID,
        "paymentId": PAYMENT_ID,
        "gatewayPaymentId": GW_ID,
        "signature": "ab" * 32,
        "status": "SUCCESS",
    }
    body.update(changes)
    return body


def refused_field(body: dict[str, Any]) -> str | None:
    with pytest.raises(ApiError) as info:
        parse_model(PaymentWebhook, body)
    assert info.value.status == 400
    assert info.value.code == "BAD_REQUEST_ERROR"
    return info.value.field


def test_minimal_shape_is_accepted() -> None:
    webhook = parse_model(PaymentWebhook, minimal())
    assert webhook.orderId == ORDER_ID
    assert webhook.gatewayPaymentId == GW_ID
    assert webhook.amount is None
    assert webhook.contract_dict() == minimal()


def test_full_shape_is_accepted_and_kept_by_contract_names() -> None:
    body = minimal(
        status="FAILED",
        amount=1500,
        currency="INR",
        method={"type": "upi", "vpa": "failure@razorpay"},
        errorCode="BAD_REQUEST_ERROR",
        errorDescription="Payment declined by the bank",
    )
    assert parse_model(PaymentWebhook, body).contract_dict() == body


def test_unknown_fields_are_ignored_and_not_passed_on() -> None:
    webhook = parse_model(PaymentWebhook, minimal(acquirerData={"rrn": "1"}, notes=None))
    assert "acquirerData" not in webhook.contract_dict()


def test_null_optional_fields_are_left_out() -> None:
    webhook = parse_model(PaymentWebhook, minimal(method=None, amount=None, errorCode=None))
    assert webhook.contract_dict() == minimal()


@pytest.mark.parametrize("missing", ["orderId", "paymentId", "gatewayPaymentId", "signature", "status"])
def test_missing_required_field_names_it(missing: str) -> None:
    body = minimal()
    del body[missing]
    assert refused_field(body) == missing


@pytest.mark.parametrize("status", ["MAYBE", "success", "", None, 1, "CAPTURED"])
def test_bad_status_is_refused(status: object) -> None:
    assert refused_field(minimal(status=status)) == "status"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("orderId", "pay_" + ORDER_ID.removeprefix("order_")),
        ("orderId", "order_1"),
        ("orderId", ""),
        ("orderId", 12),
        ("paymentId", ORDER_ID),
        ("gatewayPaymentId", "gw_" + "x" * 100),
        ("signature", ""),
        ("signature", "a" * 257),
        ("signature", None),
        ("amount", 0),
        ("amount", -5),
        ("amount", 15.0),
        ("amount", "1500"),
        ("amount", True),
        ("currency", "inr"),
        ("currency", "RUPEES"),
        ("currency", 356),
        ("method", "upi"),
        ("method", ["upi"]),
        ("errorCode", 7),
        ("errorDescription", "x" * 1001),
    ],
)
def test_malformed_field_is_named(field: str, value: object) -> None:
    assert refused_field(minimal(**{field: value})) == field


def test_envelope_is_what_the_consumer_reads() -> None:
    webhook = parse_model(PaymentWebhook, minimal(amount=1500, currency="INR"))
    received = datetime(2026, 11, 28, 7, 0, 0, 123_000, tzinfo=UTC)
    published = orjson.loads(WebhookEnvelope(eventId="evt_abc", receivedAt=received, data=webhook).to_json())
    assert published == {
        "eventId": "evt_abc",
        "receivedAt": "2026-11-28T07:00:00.123Z",
        "data": minimal(amount=1500, currency="INR"),
    }
    consumed = WebhookEnvelope.model_validate_json(orjson.dumps(published))
    assert consumed.eventId == "evt_abc"
    assert consumed.receivedAt == received
    assert consumed.data.gatewayPaymentId == GW_ID
    assert consumed.data.amount == 1500


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"errorCode": "BAD\x00"}, "errorCode"),
        ({"errorDescription": "declined\x00"}, "errorDescription"),
        ({"method": {"type": "upi", "vpa": "a\x00@b"}}, "method"),
        ({"method": {"nested": [{"k\x00": 1}]}}, "method"),
    ],
)
def test_nul_characters_the_database_cannot_store_are_refused_at_the_door(changes: dict[str, Any], field: str) -> None:
    assert refused_field(minimal(**changes)) == field


def test_text_without_nul_passes_unchanged() -> None:
    body = minimal(
        status="FAILED",
        errorCode="BAD_REQUEST_ERROR",
        errorDescription="déclin ✓",
        method={"type": "upi", "vpa": "a@b"},
    )
    parsed = parse_model(PaymentWebhook, body)
    assert parsed.errorDescription == "déclin ✓"
    assert parsed.method == {"type": "upi", "vpa": "a@b"}


def test_a_whole_card_in_a_report_is_cut_down_to_its_summary() -> None:
    card = {"type": "card", "number": "4111111111111111", "cvv": "123", "expiryMonth": 12, "expiryYear": 2030}
    body = minimal(status="SUCCESS", method=card)
    published = json.dumps(parse_model(PaymentWebhook, body).contract_dict())
    assert "4111111111111111" not in published
    assert '"123"' not in published
    assert json.loads(published)["method"]["last4"] == "1111"
