"""The webhook gateway over HTTP, with the broker replaced by a recording sink."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr
from webhook_sink import RecordingSink

from payments_common import ids
from payments_common.broker import PublishError
from payments_common.config import parse_webhook_secrets
from payments_common.signatures import payment_signature, sign_webhook
from webhook_gateway.app import create_app
from webhook_gateway.ingress.publishing import BrokerSink, Destination, WebhookMessage
from webhook_gateway.settings import Settings

WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"first-webhook-secret-32-bytes!!!").decode()
ROTATED_SECRET = "whsec_" + base64.b64encode(b"second-webhook-secret-32-bytes!!").decode()
PAYMENT_SECRET = "payment-signing-secret-for-tests"


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "WEBHOOK_SECRETS": SecretStr(f"{WEBHOOK_SECRET},{ROTATED_SECRET}"),
        "PAYMENT_SIGNING_SECRET": SecretStr(PAYMENT_SECRET),
        "MAX_BODY_BYTES": 64 * 1024,
        "WEBHOOK_TOLERANCE_SECONDS": 300,
    }
    values.update(overrides)
    return Settings(**values)


def payload(status: str = "SUCCESS", **extra: Any) -> dict[str, Any]:
    order_id, gw_id = ids.new_id(ids.ORDER), ids.new_id(ids.GATEWAY_PAYMENT)
    body = {
        "orderId": order_id,
        "paymentId": ids.new_id(ids.PAYMENT),
        "gatewayPaymentId": gw_id,
        "signature": payment_signature(PAYMENT_SECRET.encode(), order_id, gw_id),
        "status": status,
    }
    body.update(extra)
    return body


def signed_headers(
    body: bytes, secret: str = WEBHOOK_SECRET, event_id: str | None = None, timestamp: int | None = None
) -> dict[str, str]:
    key = parse_webhook_secrets(secret)[0]
    signed = sign_webhook(key, event_id or ids.new_id(ids.EVENT), body, timestamp)
    return {"content-type": "application/json", **signed.as_dict()}


@pytest.fixture
async def client(sink: RecordingSink) -> AsyncIterator[TestClient[Any, Any]]:
    app = await create_app(make_settings(), sink=sink)
    async with TestClient(TestServer(app)) as test_client:
        yield test_client


async def post(client: TestClient[Any, Any], body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    response = await client.post("/webhook/payment", data=body, headers=headers)
    return response.status, await response.json()


async def test_valid_webhook_is_published_then_answered(client: TestClient[Any, Any], sink: RecordingSink) -> None:
    data = payload(amount=1500, currency="INR", method={"type": "upi", "vpa": "success@razorpay"})
    body = orjson.dumps(data)
    headers = signed_headers(body, event_id="evt_test_1", timestamp=int(time.time()))
    response = await client.post("/webhook/payment", data=body, headers={**headers, "X-Request-Id": "req-42"})
    assert response.status == 200
    assert await response.json() == {"success": True}

    [message] = sink.messages
    assert message.event_id == "evt_test_1"
    assert message.correlation_id == "req-42"
    assert message.webhook_timestamp == int(headers["webhook-timestamp"])
    published = orjson.loads(message.body)
    assert published["eventId"] == "evt_test_1"
    assert published["data"] == data
    assert published["receivedAt"].endswith("Z")


async def test_a_rotated_secret_still_verifies(client: TestClient[Any, Any], sink: RecordingSink) -> None:
    body = orjson.dumps(payload())
    assert (await post(client, body, signed_headers(body, secret=ROTATED_SECRET)))[0] == 200
    assert len(sink.messages) == 1


@pytest.mark.parametrize("drop", ["webhook-id", "webhook-timestamp", "webhook-signature"])
async def test_missing_webhook_header_is_invalid_signature(
    client: TestClient[Any, Any], sink: RecordingSink, drop: str
) -> None:
    body = orjson.dumps(payload())
    headers = signed_headers(body)
    del headers[drop]
    status, answer = await post(client, body, headers)
    assert status == 400
    assert answer["success"] is False
    assert answer["error"]["code"] == "INVALID_SIGNATURE"
    assert answer["error"]["description"]
    assert sink.messages == []


async def test_unknown_secret_is_refused(client: TestClient[Any, Any], sink: RecordingSink) -> None:
    body = orjson.dumps(payload())
    forged = "whsec_" + base64.b64encode(b"an attacker's guess of a secret").decode()
    status, answer = await post(client, body, signed_headers(body, secret=forged))
    assert (status, answer["error"]["code"]) == (400, "INVALID_SIGNATURE")
    assert sink.messages == []


async def test_body_changed_after_signing_is_refused(client: TestClient[Any, Any], sink: RecordingSink) -> None:
    signed = orjson.dumps(payload("FAILED"))
    tampered = signed.replace(b'"FAILED"', b'"SUCCESS"')
    status, answer = await post(client, tampered, signed_headers(signed))
    assert (status, answer["error"]["code"]) == (400, "INVALID_SIGNATURE")
    assert sink.messages == []


@pytest.mark.parametrize("skew", [-3600, 3600])
async def test_timestamp_outside_tolerance_is_refused(
    client: TestClient[Any, Any], sink: RecordingSink, skew: int
) -> None:
    body = orjson.dumps(payload())
    status, answer = await post(client, body, signed_headers(body, timestamp=int(time.time()) + skew))
    assert (status, answer["error"]["code"]) == (400, "INVALID_SIGNATURE")
    assert "tolerance" in answer["error"]["description"]
    assert sink.messages == []


async def test_wrong_payment_signature_is_refused(client: TestClient[Any, Any], sink: RecordingSink) -> None:
    body = orjson.dumps(payload(signature="0" * 64))
    status, answer = await post(client, body, signed_headers(body))
    assert status == 400
    assert answer == {
        "success": False,
        "error": {"code": "INVALID_SIGNATURE", "description": answer["error"]["description"]},
    }
    assert sink.messages == []


async def test_payment_signature_of_another_order_is_refused(client: TestClient[Any, Any], sink: RecordingSink) -> None:
    data = payload()
    data["orderId"] = ids.new_id(ids.ORDER)
    body = orjson.dumps(data)
    status, answer = await post(client, body, signed_headers(body))
    assert (status, answer["error"]["code"]) == (400, "INVALID_SIGNATURE")
    assert sink.messages == []


@pytest.mark.parametrize("raw", [b"{", b"[]", b"null", b"", b'"text"', b"\xff\xfe"])
async def test_malformed_body_is_bad_request(client: TestClient[Any, Any], sink: RecordingSink, raw: bytes) -> None:
    status, answer = await post(client, raw, signed_headers(raw))
    assert status == 400
    assert answer["success"] is False
    assert answer["error"]["code"] == "BAD_REQUEST_ERROR"
    assert sink.messages == []


@pytest.mark.parametrize("missing", ["orderId", "paymentId", "gatewayPaymentId", "signature", "status"])
async def test_missing_field_is_bad_request_naming_it(
    client: TestClient[Any, Any], sink: RecordingSink, missing: str
) -> None:
    data = payload()
    del data[missing]
    body = orjson.dumps(data)
    status, answer = await post(client, body, signed_headers(body))
    assert status == 400
    assert answer["success"] is False
    assert answer["error"]["code"] == "BAD_REQUEST_ERROR"
    assert answer["error"]["field"] == missing
    assert sink.messages == []


async def test_unknown_status_is_bad_request(client: TestClient[Any, Any]) -> None:
    body = orjson.dumps(payload("MAYBE"))
    status, answer = await post(client, body, signed_headers(body))
    assert (status, answer["error"]["field"]) == (400, "status")


async def test_oversized_body_is_413(client: TestClient[Any, Any], sink: RecordingSink) -> None:
    body = orjson.dumps(payload(errorDescription="x" * (70 * 1024)))
    status, answer = await post(client, body, signed_headers(body))
    assert status == 413
    assert answer["success"] is False
    assert sink.messages == []


async def test_publish_failure_is_503(client: TestClient[Any, Any], sink: RecordingSink) -> None:
    sink.failure = PublishError("broker did not ack: Nack")
    body = orjson.dumps(payload())
    status, answer = await post(client, body, signed_headers(body))
    assert status == 503
    assert answer["success"] is False
    assert answer["error"]["code"] == "SERVICE_UNAVAILABLE"


async def test_health(client: TestClient[Any, Any]) -> None:
    response = await client.get("/health")
    assert response.status == 200


async def test_logs_name_the_event_but_hold_no_secret_or_signature(
    client: TestClient[Any, Any], captured_logs: list[dict[str, Any]]
) -> None:
    accepted = orjson.dumps(payload())
    forged_data = payload(signature="f" * 64)
    forged = orjson.dumps(forged_data)
    headers = [signed_headers(accepted, event_id="evt_logged"), signed_headers(forged)]
    assert (await post(client, accepted, headers[0]))[0] == 200
    assert (await post(client, forged, headers[1]))[0] == 400
    logs = captured_logs
    events = {entry["event"]: entry for entry in logs}
    assert events["webhook.accepted"]["event_id"] == "evt_logged"
    assert events["webhook.accepted"]["order_id"] == orjson.loads(accepted)["orderId"]
    assert events["webhook.rejected"]["reason"] == "payment_signature"
    text = repr(logs)
    for secret_value in (
        WEBHOOK_SECRET,
        PAYMENT_SECRET,
        headers[0]["webhook-signature"],
        headers[1]["webhook-signature"],
        forged_data["signature"],
        orjson.loads(accepted)["signature"],
    ):
        assert secret_value not in text


# --- without a broker at all ------------------------------------------------------------------


async def test_unconnected_broker_sink_refuses_at_once() -> None:
    sink = BrokerSink("amqp://guest:guest@127.0.0.1:1/", Destination(), timeout=5)
    started = time.monotonic()
    with pytest.raises(PublishError):
        await sink.publish(WebhookMessage("evt_1", b"{}", "req-1", 0))
    assert time.monotonic() - started < 0.5


async def test_gateway_answers_503_while_the_broker_is_not_up() -> None:
    # nothing listens on port 1: the background setup keeps retrying, requests must not wait for it
    app = await create_app(make_settings(AMQP_URL=SecretStr("amqp://guest:guest@127.0.0.1:1/")))
    async with TestClient(TestServer(app)) as test_client:
        body = orjson.dumps(payload())
        started = time.monotonic()
        status, answer = await post(test_client, body, signed_headers(body))
        assert status == 503
        assert answer["error"]["code"] == "SERVICE_UNAVAILABLE"
        assert time.monotonic() - started < 5
        await asyncio.sleep(0.3)  # let the setup task be mid-retry when the app shuts down
