"""webhook-gateway's OpenAPI document: valid OpenAPI 3.1, the same operations as the router, served,
and describing the answers the endpoint really gives."""

from __future__ import annotations

import base64
import time
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import OpenAPIV31SpecValidator
from pydantic import SecretStr, ValidationError

from payments_common import ids
from payments_common.broker import PublishError
from payments_common.config import parse_webhook_secrets
from payments_common.signatures import payment_signature, sign_webhook
from webhook_gateway.app import create_app
from webhook_gateway.ingress.publishing import EventSink, WebhookMessage
from webhook_gateway.openapi import REFUND_WEBHOOK_PATH, WEBHOOK_PATH, document
from webhook_gateway.payments.schemas import PaymentWebhook
from webhook_gateway.settings import Settings

WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"openapi-test-webhook-secret-32b!").decode()
PAYMENT_SECRET = "payment-signing-secret-for-openapi-tests"


class Sink(EventSink):
    def __init__(self) -> None:
        self.failure: PublishError | None = None

    async def publish(self, message: WebhookMessage) -> None:
        if self.failure is not None:
            raise self.failure


def routes_of(app: web.Application) -> set[tuple[str, str]]:
    # aiohttp answers HEAD for every GET route by itself; HTTP defines HEAD by GET, so it is not listed
    return {(route.method, route.resource.canonical) for route in app.router.routes() if route.method != "HEAD"}


def documented(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, item in doc["paths"].items() for method in item}


def answer_validator(status: int, path: str = WEBHOOK_PATH, method: str = "post") -> OAS31Validator:
    doc = document()
    schema = doc["paths"][path][method]["responses"][str(status)]["content"]["application/json"]["schema"]
    return OAS31Validator({**schema, "components": doc["components"]})


async def documented_answer(response: Any, path: str, method: str) -> Any:
    """The answer's JSON, once it validates against the document's schema for its route and status."""
    body = await response.json()
    answer_validator(response.status, path, method).validate(body)
    return body


@pytest.fixture
def sink() -> Sink:
    return Sink()


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "WEBHOOK_SECRETS": SecretStr(WEBHOOK_SECRET),
        "PAYMENT_SIGNING_SECRET": SecretStr(PAYMENT_SECRET),
        "MAX_BODY_BYTES": 4096,
        **overrides,
    }
    return Settings(**values)


@pytest.fixture
async def app(sink: Sink) -> web.Application:
    return await create_app(make_settings(), sink=sink)


@pytest.fixture
async def client(app: web.Application) -> AsyncIterator[TestClient[Any, Any]]:
    async with TestClient(TestServer(app)) as test_client:
        yield test_client


def test_the_document_is_valid_openapi_3_1() -> None:
    doc = document()
    assert doc["openapi"].startswith("3.1.")
    OpenAPIV31SpecValidator(doc).validate()


def test_every_route_is_documented_and_every_operation_routed(app: web.Application) -> None:
    routes = routes_of(app)
    assert ("POST", WEBHOOK_PATH) in routes
    assert routes == documented(document())


def test_the_standard_webhooks_headers_are_required_parameters() -> None:
    parameters = document()["paths"][WEBHOOK_PATH]["post"]["parameters"]
    by_name = {p["name"]: p for p in parameters}
    assert all(p["in"] == "header" for p in parameters)
    assert {name for name, p in by_name.items() if p["required"]} == {
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
    }
    assert by_name["Content-Digest"]["required"] is False


def test_the_documented_answers() -> None:
    responses = document()["paths"][WEBHOOK_PATH]["post"]["responses"]
    assert {int(code) for code in responses} == {200, 400, 403, 408, 413, 429, 503}
    refused = {"$ref": "#/components/schemas/WebhookRefused"}
    for code, answer in responses.items():
        expected = refused if int(code) >= 400 else {"$ref": "#/components/schemas/WebhookAccepted"}
        assert answer["content"]["application/json"]["schema"] == expected


def test_the_id_patterns_are_the_validators_rules() -> None:
    schema = document()["components"]["schemas"]["PaymentWebhook"]
    validator = OAS31Validator({"$ref": "#/components/schemas/PaymentWebhook", "components": document()["components"]})
    body = _payload()
    PaymentWebhook.model_validate(body)
    assert validator.is_valid(body)
    for field in ("orderId", "paymentId", "gatewayPaymentId"):
        assert "pattern" in schema["properties"][field]
        wrong = {**body, field: body[field] + "x"}
        assert not validator.is_valid(wrong)
        with pytest.raises(ValidationError):
            PaymentWebhook.model_validate(wrong)


def _payload(**extra: Any) -> dict[str, Any]:
    order_id, gw_id = ids.new_id(ids.ORDER), ids.new_id(ids.GATEWAY_PAYMENT)
    return {
        "orderId": order_id,
        "paymentId": ids.new_id(ids.PAYMENT),
        "gatewayPaymentId": gw_id,
        "signature": payment_signature(PAYMENT_SECRET.encode(), order_id, gw_id),
        "status": "SUCCESS",
        **extra,
    }


def _signed(body: bytes) -> dict[str, str]:
    key = parse_webhook_secrets(WEBHOOK_SECRET)[0]
    signed = sign_webhook(key, ids.new_id(ids.EVENT), body, int(time.time()))
    return {"content-type": "application/json", **signed.as_dict()}


async def test_the_document_is_served(client: TestClient[Any, Any]) -> None:
    response = await client.get("/openapi.json")
    assert response.status == 200
    assert response.content_type == "application/json"
    assert await response.json() == document()


async def test_accepted_and_refused_answers_match_the_document(client: TestClient[Any, Any], sink: Sink) -> None:
    body = orjson.dumps(_payload(amount=1500, currency="INR"))
    accepted = await client.post(WEBHOOK_PATH, data=body, headers=_signed(body))
    assert accepted.status == 200
    answer_validator(200).validate(await accepted.json())

    unsigned = await client.post(WEBHOOK_PATH, data=body, headers={"content-type": "application/json"})
    assert unsigned.status == 400
    answer_validator(400).validate(await unsigned.json())

    not_an_object = b"[1]"
    malformed = await client.post(WEBHOOK_PATH, data=not_an_object, headers=_signed(not_an_object))
    assert malformed.status == 400
    assert (await malformed.json())["error"]["code"] == "BAD_REQUEST_ERROR"
    answer_validator(400).validate(await malformed.json())

    huge = b"x" * 8192
    too_large = await client.post(WEBHOOK_PATH, data=huge, headers=_signed(huge))
    assert too_large.status == 413
    answer_validator(413).validate(await too_large.json())

    sink.failure = PublishError("broker down")
    unavailable = await client.post(WEBHOOK_PATH, data=body, headers=_signed(body))
    assert unavailable.status == 503
    answer_validator(503).validate(await unavailable.json())


async def test_refused_addresses_and_floods_get_the_documented_403_and_429(sink: Sink) -> None:
    body = orjson.dumps(_payload())
    elsewhere = await create_app(make_settings(WEBHOOK_ALLOWED_CIDRS="192.0.2.0/24"), sink=sink)
    async with TestClient(TestServer(elsewhere)) as client:
        forbidden = await client.post(WEBHOOK_PATH, data=body, headers=_signed(body))
        assert forbidden.status == 403
        answer_validator(403).validate(await forbidden.json())

    tight = await create_app(
        make_settings(WEBHOOK_UNVERIFIED_RATE_PER_SECOND=0.001, WEBHOOK_UNVERIFIED_RATE_BURST=1), sink=sink
    )
    async with TestClient(TestServer(tight)) as client:
        unsigned = {"content-type": "application/json"}
        answers = [await client.post(WEBHOOK_PATH, data=body, headers=unsigned) for _ in range(2)]
        assert [r.status for r in answers] == [400, 429]
        assert answers[-1].headers["Retry-After"]
        answer_validator(429).validate(await answers[-1].json())


def _refund_payload() -> dict[str, Any]:
    return {
        "refundId": ids.new_id(ids.REFUND),
        "paymentId": ids.new_id(ids.PAYMENT),
        "gatewayPaymentId": ids.new_id(ids.GATEWAY_PAYMENT),
        "gatewayRefundId": ids.new_id(ids.GATEWAY_REFUND),
        "amount": 500,
        "currency": "INR",
        "status": "PROCESSED",
    }


def test_every_route_is_walked_and_found_in_the_document(app: web.Application) -> None:
    paths = document()["paths"]
    for route in app.router.routes():
        if route.method == "HEAD":
            continue
        assert route.method.lower() in paths[route.resource.canonical], route


def test_the_request_bodies_are_the_models_the_views_validate_with() -> None:
    from webhook_gateway.refunds.schemas import RefundWebhook

    doc = document()
    for path, model in ((WEBHOOK_PATH, PaymentWebhook), (REFUND_WEBHOOK_PATH, RefundWebhook)):
        schema = doc["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
        assert schema == {"$ref": f"#/components/schemas/{model.__name__}"}
    refund_validator = OAS31Validator({"$ref": "#/components/schemas/RefundWebhook", "components": doc["components"]})
    body = _refund_payload()
    RefundWebhook.model_validate(body)
    assert refund_validator.is_valid(body)
    for field in ("refundId", "paymentId", "gatewayPaymentId", "gatewayRefundId"):
        wrong = {**body, field: body[field] + "x"}
        assert not refund_validator.is_valid(wrong)
        with pytest.raises(ValidationError):
            RefundWebhook.model_validate(wrong)


async def test_every_route_answers_as_documented(client: TestClient[Any, Any], sink: Sink) -> None:
    """One request per answer each route gives, each answer checked against its route's schema."""
    assert await documented_answer(await client.get("/health"), "/health", "get") == {"status": "ok"}
    assert await documented_answer(await client.get("/openapi.json"), "/openapi.json", "get") == document()

    for path, payload in ((WEBHOOK_PATH, _payload()), (REFUND_WEBHOOK_PATH, _refund_payload())):
        body = orjson.dumps(payload)
        assert await documented_answer(await client.post(path, data=body, headers=_signed(body)), path, "post") == {
            "success": True
        }
        unsigned = await client.post(path, data=body, headers={"content-type": "application/json"})
        assert (await documented_answer(unsigned, path, "post"))["error"]["code"] == "INVALID_SIGNATURE"
        missing = orjson.dumps({k: v for k, v in payload.items() if k != "status"})
        malformed = await client.post(path, data=missing, headers=_signed(missing))
        refused = await documented_answer(malformed, path, "post")
        assert (refused["error"]["code"], refused["error"]["field"]) == ("BAD_REQUEST_ERROR", "status")
        wrong_digest = await client.post(path, data=body, headers={**_signed(body), "Content-Digest": "sha-256=:AAAA:"})
        assert (await documented_answer(wrong_digest, path, "post"))["error"]["field"] == "Content-Digest"
        huge = b"x" * 8192
        too_large = await client.post(path, data=huge, headers=_signed(huge))
        assert too_large.status == 413
        await documented_answer(too_large, path, "post")
        sink.failure = PublishError("broker down")
        unavailable = await client.post(path, data=body, headers=_signed(body))
        assert unavailable.status == 503
        await documented_answer(unavailable, path, "post")
        sink.failure = None
