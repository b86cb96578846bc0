"""The refund endpoints' HTTP layers without storage: the webhook gateway's `POST /webhook/refund` (with the
broker replaced by a recording sink) verified, limited and published as a payment's report is, and the
answers order-svc renders held to its OpenAPI document."""

from __future__ import annotations

import base64
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestClient, TestServer
from openapi_schema_validator import OAS31Validator
from pydantic import SecretStr
from webhook_sink import RecordingSink

from order_svc.openapi import document as order_document
from order_svc.orders.domain import MAX_NOTES, Order
from order_svc.orders.schemas import OrderResource
from order_svc.payments.domain import PaymentView
from order_svc.refunds.domain import RefundView
from order_svc.refunds.schemas import RefundResource
from payments_common import ids, topology
from payments_common.config import parse_webhook_secrets
from payments_common.events import REFUND_WEBHOOK_TYPE, RefundWebhookEnvelope
from payments_common.openapi import dump
from payments_common.signatures import sign_webhook
from webhook_gateway.app import create_app
from webhook_gateway.ingress.publishing import MESSAGE_TYPE, Destination
from webhook_gateway.openapi import REFUND_WEBHOOK_PATH
from webhook_gateway.openapi import document as webhook_document
from webhook_gateway.settings import Settings

WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"refund-test-webhook-secret-32by!").decode()
NOW = datetime(2026, 11, 28, 7, 0, tzinfo=UTC)


@pytest.fixture
async def client(sink: RecordingSink) -> AsyncIterator[TestClient[Any, Any]]:
    settings = Settings(
        WEBHOOK_SECRETS=SecretStr(WEBHOOK_SECRET),
        PAYMENT_SIGNING_SECRET=SecretStr("payment-signing-secret-refund-tests"),
        MAX_BODY_BYTES=4096,
        WEBHOOK_TOLERANCE_SECONDS=300,
        # a tight unverified bucket: what does not verify runs out of it quickly
        WEBHOOK_UNVERIFIED_RATE_PER_SECOND=0.001,
        WEBHOOK_UNVERIFIED_RATE_BURST=2,
        WEBHOOK_REFUSAL_DELAY_SECONDS=0,
    )
    app = await create_app(settings, sink=sink)
    async with TestClient(TestServer(app)) as test_client:
        yield test_client


def refund_report(status: str = "PROCESSED", **extra: Any) -> dict[str, Any]:
    return {
        "refundId": ids.new_id(ids.REFUND),
        "paymentId": ids.new_id(ids.PAYMENT),
        "gatewayPaymentId": ids.new_id(ids.GATEWAY_PAYMENT),
        "gatewayRefundId": ids.new_id(ids.GATEWAY_REFUND),
        "amount": 250,
        "currency": "INR",
        "status": status,
        **extra,
    }


def signed(body: bytes, event_id: str | None = None, timestamp: int | None = None) -> dict[str, str]:
    key = parse_webhook_secrets(WEBHOOK_SECRET)[0]
    headers = sign_webhook(key, event_id or ids.new_id(ids.EVENT), body, timestamp).as_dict()
    return {"content-type": "application/json", **headers}


def refused_schema(status: int) -> OAS31Validator:
    doc = webhook_document()
    responses = doc["paths"][REFUND_WEBHOOK_PATH]["post"]["responses"]
    schema = responses[str(status)]["content"]["application/json"]["schema"]
    return OAS31Validator({**schema, "components": doc["components"]})


async def test_a_signed_refund_report_is_published_as_a_refund_webhook(
    client: TestClient[Any, Any], sink: RecordingSink
) -> None:
    data = refund_report("FAILED", errorCode="REFUND_FAILED", errorDescription="bank said no")
    body = orjson.dumps(data)
    response = await client.post(REFUND_WEBHOOK_PATH, data=body, headers=signed(body, event_id="evt_refund_1"))
    assert response.status == 200
    assert await response.json() == {"success": True}
    [message] = sink.messages
    assert (message.event_id, message.message_type) == ("evt_refund_1", REFUND_WEBHOOK_TYPE)
    # what payment-svc's consumer decodes
    envelope = RefundWebhookEnvelope.model_validate_json(message.body)
    assert envelope.eventId == "evt_refund_1"
    assert envelope.data.model_dump(exclude_none=True) == data


async def test_a_refund_report_sent_to_the_payment_endpoint_is_refused(
    client: TestClient[Any, Any], sink: RecordingSink
) -> None:
    # the two reports are not interchangeable: each endpoint validates its own body
    body = orjson.dumps(refund_report())
    response = await client.post("/webhook/payment", data=body, headers=signed(body))
    assert response.status == 400
    assert sink.messages == []


@pytest.mark.parametrize(
    "tamper",
    ["body", "signature", "stale"],
)
async def test_a_refund_report_that_does_not_verify_is_refused_and_not_published(
    client: TestClient[Any, Any], sink: RecordingSink, tamper: str
) -> None:
    body = orjson.dumps(refund_report())
    headers = signed(body, timestamp=int(time.time()) - (3600 if tamper == "stale" else 0))
    if tamper == "body":
        body = orjson.dumps(refund_report("FAILED"))
    if tamper == "signature":
        headers["webhook-signature"] = "v1," + base64.b64encode(b"x" * 32).decode()
    response = await client.post(REFUND_WEBHOOK_PATH, data=body, headers=headers)
    assert response.status == 400
    answer = await response.json()
    assert answer["success"] is False and answer["error"]["code"] == "INVALID_SIGNATURE"
    refused_schema(400).validate(answer)
    assert sink.messages == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"refundId": "rfnd_nope"}, "refundId"),
        ({"gatewayRefundId": ids.new_id(ids.GATEWAY_PAYMENT)}, "gatewayRefundId"),
        ({"status": "PENDING"}, "status"),
        ({"amount": 0}, "amount"),
        ({"currency": "inr"}, "currency"),
        ({"errorCode": "A\x00B"}, "errorCode"),
    ],
)
async def test_a_signed_but_malformed_refund_report_is_a_400_naming_the_field(
    client: TestClient[Any, Any], sink: RecordingSink, change: dict[str, Any], field: str
) -> None:
    body = orjson.dumps(refund_report(**change))
    response = await client.post(REFUND_WEBHOOK_PATH, data=body, headers=signed(body))
    assert response.status == 400
    assert (await response.json())["error"]["field"] == field
    assert sink.messages == []


async def test_the_refund_endpoint_shares_the_ingress_rate_limit(
    client: TestClient[Any, Any], sink: RecordingSink
) -> None:
    body = orjson.dumps(refund_report())
    forged = {**signed(body), "webhook-signature": "v1," + base64.b64encode(b"y" * 32).decode()}
    statuses = [(await client.post(REFUND_WEBHOOK_PATH, data=body, headers=forged)).status for _ in range(3)]
    assert statuses == [400, 400, 429]
    refused_schema(429).validate(await (await client.post(REFUND_WEBHOOK_PATH, data=body, headers=forged)).json())
    # a genuine report still goes through: it draws from the verified bucket
    assert (await client.post(REFUND_WEBHOOK_PATH, data=body, headers=signed(body))).status == 200


def test_refund_reports_are_routed_to_payment_svcs_webhook_queue() -> None:
    destination = Destination()
    assert destination.routing_key_for(REFUND_WEBHOOK_TYPE) == topology.REFUND_WEBHOOK_KEY
    assert destination.routing_key_for(MESSAGE_TYPE) == topology.PAYMENT_WEBHOOK_KEY
    [(exchange, pattern)] = topology.PAYMENT_SVC_WEBHOOKS.bindings
    assert exchange == destination.exchange and pattern == "webhook.#"


def test_the_refund_report_schema_states_the_id_patterns() -> None:
    schema = webhook_document()["components"]["schemas"]["RefundWebhook"]
    validator = OAS31Validator(schema)
    assert validator.is_valid(refund_report())
    assert not validator.is_valid(refund_report(refundId="rfnd_x"))
    assert not validator.is_valid(refund_report(gatewayRefundId=ids.new_id(ids.REFUND)))


# --- order-svc's answers, held to its document --------------------------------------------------------


def _order() -> Order:
    return Order(
        id=ids.new_id(ids.ORDER),
        merchant_id="rzp_a",
        amount=1000,
        currency="INR",
        status="PAID",
        receipt=None,
        notes=None,
        created_at=NOW,
        updated_at=NOW,
    )


def _payment(order: Order) -> PaymentView:
    return PaymentView(
        id=ids.new_id(ids.PAYMENT),
        order_id=order.id,
        status="SUCCESS",
        amount=order.amount,
        currency=order.currency,
        gateway_payment_id=ids.new_id(ids.GATEWAY_PAYMENT),
        signature="ab" * 32,
        error_code=None,
        error_description=None,
        version=2,
        created_at=NOW,
        updated_at=NOW,
    )


def _refund(payment: PaymentView, amount: int, status: str, **changes: Any) -> RefundView:
    values: dict[str, Any] = {
        "id": ids.new_id(ids.REFUND),
        "payment_id": payment.id,
        "order_id": payment.order_id,
        "amount": amount,
        "currency": payment.currency,
        "status": status,
        "notes": None,
        "error_code": None,
        "error_description": None,
        "version": 1,
        "created_at": NOW,
        "updated_at": NOW,
        **changes,
    }
    return RefundView(**values)


def _schema(path: str, method: str, status: int) -> OAS31Validator:
    doc = order_document()
    schema = doc["paths"][path][method]["responses"][str(status)]["content"]["application/json"]["schema"]
    return OAS31Validator({**schema, "components": doc["components"]})


def test_each_payment_of_an_order_shows_its_refunds_and_what_they_take() -> None:
    order = _order()
    first, second = _payment(order), _payment(order)
    refunds = [
        _refund(first, 100, "PROCESSED", notes={"reason": "late"}),
        _refund(first, 300, "FAILED", error_code="REFUND_FAILED", error_description="no"),
        _refund(first, 200, "PENDING"),
        _refund(second, 50, "PENDING"),
    ]
    body = dump(OrderResource.of(order, [first, second], refunds))
    OrderResource.model_validate(body)
    _schema("/orders/{order_id}", "get", 200).validate(body)
    shown = body["payments"][0]
    assert shown["amountRefunded"] == 300
    assert [r["refundId"] for r in shown["refunds"]] == [r.id for r in refunds[:3]]
    assert shown["refunds"][0]["notes"] == {"reason": "late"}
    assert body["payments"][1]["amountRefunded"] == 50
    # an order read without refunds shows none
    plain = dump(OrderResource.of(order, [first]))
    assert plain["payments"][0]["amountRefunded"] == 0 and plain["payments"][0]["refunds"] == []


def test_a_refund_answer_matches_its_model_and_schema() -> None:
    order = _order()
    body = dump(
        RefundResource.of(_refund(_payment(order), 100, "FAILED", error_code="REFUND_FAILED", error_description="no"))
    )
    RefundResource.model_validate(body)
    _schema("/refunds/{refund_id}", "get", 200).validate(body)
    assert body["notes"] == {}


def test_the_refund_operations_are_documented_with_their_refusals() -> None:
    doc = order_document()
    create = doc["paths"]["/payments/{payment_id}/refunds"]["post"]
    assert {int(code) for code in create["responses"]} == {201, 400, 401, 404, 408, 409, 413, 422, 429, 503}
    assert "PAYMENT_NOT_REFUNDABLE" in create["responses"]["409"]["description"]
    assert any(p["name"] == "Idempotency-Key" for p in create["parameters"])
    read = doc["paths"]["/refunds/{refund_id}"]["get"]
    assert {int(code) for code in read["responses"]} == {200, 401, 404, 429}
    options = doc["components"]["schemas"]["CreateRefund"]["properties"]["notes"]["anyOf"]
    notes = next(option for option in options if option.get("type") == "object")
    assert notes["maxProperties"] == MAX_NOTES
