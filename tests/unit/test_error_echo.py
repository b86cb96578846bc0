"""Error answers never echo a secret or a signature: not the one configured, not the one sent.

A refusal that quoted the expected signature would hand out a valid one; one that quoted the sent
credential would copy it into every proxy log and client error report on the way.
"""

from __future__ import annotations

import base64
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from order_svc.access.http import KEYS as ORDER_KEYS
from order_svc.access.http import auth_middleware as order_auth_middleware
from order_svc.access.keyring import KeyRing
from order_svc.app import install_routes as install_order_routes
from payments_common import ids
from payments_common.config import parse_api_keys, parse_webhook_secrets
from payments_common.http import base_app
from payments_common.signatures import payment_signature, sign_webhook
from webhook_gateway.app import create_app as create_webhook_gateway
from webhook_gateway.ingress.publishing import EventSink, WebhookMessage
from webhook_gateway.settings import Settings as WebhookGatewaySettings

WEBHOOK_SECRETS = [
    "whsec_" + base64.b64encode(b"echo-test-webhook-secret-first!!").decode(),
    "whsec_" + base64.b64encode(b"echo-test-webhook-secret-second!").decode(),
]
PAYMENT_SECRETS = ["echo-test-payment-secret-first", "echo-test-payment-secret-second"]
FOREIGN_WEBHOOK_KEY = b"an-attacker-guessed-webhook-key!"
FOREIGN_PAYMENT_KEY = b"an-attacker-guessed-payment-key"
API_KEYS = "rzp_echo_a:echo-secret-of-merchant-a,rzp_echo_b:echo-secret-of-merchant-b"


def leaked(text: str, values: dict[str, str]) -> list[str]:
    """The labels (never the values) of `values` that occur in `text`."""
    return [label for label, value in values.items() if value and value in text]


async def full_text(response: ClientResponse) -> str:
    headers = "\n".join(f"{name}: {value}" for name, value in response.headers.items())
    return f"{response.status} {response.reason}\n{headers}\n\n{await response.text()}"


def configured_webhook_secrets() -> dict[str, str]:
    values: dict[str, str] = {}
    for n, secret in enumerate(WEBHOOK_SECRETS):
        key = parse_webhook_secrets(secret)[0]
        values |= {
            f"WEBHOOK_SECRETS[{n}]": secret,
            f"WEBHOOK_SECRETS[{n}] base64": secret.removeprefix("whsec_"),
            f"WEBHOOK_SECRETS[{n}] key hex": key.hex(),
        }
    for n, secret in enumerate(PAYMENT_SECRETS):
        values[f"PAYMENT_SIGNING_SECRET[{n}]"] = secret
    return values


# --- webhook-gateway --------------------------------------------------------------------------------


class NullSink(EventSink):
    async def publish(self, message: WebhookMessage) -> None:
        raise AssertionError("a refused webhook must not be published")


@pytest.fixture
async def webhook_gateway() -> AsyncIterator[TestClient[Any, Any]]:
    settings = WebhookGatewaySettings(
        WEBHOOK_SECRETS=SecretStr(",".join(WEBHOOK_SECRETS)),
        PAYMENT_SIGNING_SECRET=SecretStr(",".join(PAYMENT_SECRETS)),
    )
    app = await create_webhook_gateway(settings, sink=NullSink())
    async with TestClient(TestServer(app)) as client:
        yield client


def webhook(webhook_key: bytes, payment_key: bytes) -> tuple[bytes, dict[str, str], dict[str, str]]:
    """A webhook signed with the given keys, and every signature involved: sent ones and valid ones."""
    order_id, gw_id, event_id = ids.new_id(ids.ORDER), ids.new_id(ids.GATEWAY_PAYMENT), ids.new_id(ids.EVENT)
    sent_payment_signature = payment_signature(payment_key, order_id, gw_id)
    body = orjson.dumps(
        {
            "orderId": order_id,
            "paymentId": ids.new_id(ids.PAYMENT),
            "gatewayPaymentId": gw_id,
            "signature": sent_payment_signature,
            "status": "SUCCESS",
        }
    )
    signed = sign_webhook(webhook_key, event_id, body)
    signatures = {
        "sent webhook-signature": signed.signature,
        "sent webhook-signature base64": signed.signature.removeprefix("v1,"),
        "sent payment signature": sent_payment_signature,
    }
    for n, secret in enumerate(WEBHOOK_SECRETS):
        valid = sign_webhook(parse_webhook_secrets(secret)[0], event_id, body, signed.timestamp).signature
        signatures[f"valid webhook-signature with key {n}"] = valid.removeprefix("v1,")
    for n, secret in enumerate(PAYMENT_SECRETS):
        signatures[f"valid payment signature with key {n}"] = payment_signature(secret.encode(), order_id, gw_id)
    return body, {"content-type": "application/json", **signed.as_dict()}, signatures


GOOD_WEBHOOK_KEY = parse_webhook_secrets(WEBHOOK_SECRETS[1])[0]
GOOD_PAYMENT_KEY = PAYMENT_SECRETS[1].encode()


@pytest.mark.parametrize(
    ("webhook_key", "payment_key", "reason"),
    [
        (FOREIGN_WEBHOOK_KEY, GOOD_PAYMENT_KEY, "webhook_signature"),
        (GOOD_WEBHOOK_KEY, FOREIGN_PAYMENT_KEY, "payment_signature"),
        (FOREIGN_WEBHOOK_KEY, FOREIGN_PAYMENT_KEY, "webhook_signature"),
    ],
    ids=["webhook-signature-wrong", "payment-signature-wrong", "both-wrong"],
)
async def test_webhook_gateway_refusals_echo_no_secret_and_no_signature(
    webhook_gateway: TestClient[Any, Any],
    captured_logs: list[dict[str, Any]],
    webhook_key: bytes,
    payment_key: bytes,
    reason: str,
) -> None:
    body, headers, signatures = webhook(webhook_key, payment_key)
    response = await webhook_gateway.post("/webhook/payment", data=body, headers=headers)
    text = await full_text(response)
    assert response.status == 400
    assert (await response.json())["error"]["code"] == "INVALID_SIGNATURE"

    secrets = {
        **configured_webhook_secrets(),
        "foreign webhook key hex": FOREIGN_WEBHOOK_KEY.hex(),
        "foreign payment key": FOREIGN_PAYMENT_KEY.decode(),
    }
    assert leaked(text, secrets | signatures) == []
    [rejected] = [entry for entry in captured_logs if entry["event"] == "webhook.rejected"]
    assert rejected["reason"] == reason
    assert leaked(repr(captured_logs), secrets | signatures) == []


async def test_webhook_gateway_refusing_a_malformed_signature_does_not_quote_it(
    webhook_gateway: TestClient[Any, Any],
) -> None:
    body, headers, _ = webhook(GOOD_WEBHOOK_KEY, GOOD_PAYMENT_KEY)
    garbage = "v1,!!not-base64-but-a-secret-looking-value!! v2,c29tZXRoaW5nLWVsc2U="
    headers = {**headers, "webhook-signature": garbage}
    response = await webhook_gateway.post("/webhook/payment", data=body, headers=headers)
    text = await full_text(response)
    assert response.status == 400
    assert leaked(text, {"garbage signature": "not-base64-but-a-secret-looking-value", "v2 part": "c29tZXRoaW5n"}) == []


# --- order-svc ----------------------------------------------------------------------------------


@pytest.fixture
async def order_svc() -> AsyncIterator[TestClient[Any, Any]]:
    # the pieces of order_svc.app.create_app that answer before any handler runs: the error
    # rendering and the authentication; no database is needed for a request that is refused
    app = base_app(max_body_bytes=64 * 1024)
    app.middlewares.append(order_auth_middleware)
    app[ORDER_KEYS] = KeyRing.of(parse_api_keys(API_KEYS))
    install_order_routes(app)
    async with TestClient(TestServer(app)) as client:
        yield client


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


WRONG_SECRET = "a-wrong-but-plausible-secret-value"


@pytest.mark.parametrize(
    "authorization",
    [
        basic("rzp_echo_a", WRONG_SECRET),
        basic("rzp_echo_a", "echo-secret-of-merchant-b"),  # another merchant's secret
        basic("rzp_echo_unknown", "echo-secret-of-merchant-a"),
        basic("rzp_echo_a", "echo-secret-of-merchant-a" + "x"),
        "Bearer echo-secret-of-merchant-a",
        "Basic " + WRONG_SECRET,  # not base64 of anything
    ],
    ids=["wrong-secret", "other-merchants-secret", "unknown-key-id", "secret-plus-one", "bearer", "not-base64"],
)
@pytest.mark.parametrize(("method", "path"), [("POST", "/orders"), ("GET", "/orders/order_x")])
async def test_order_svc_refusing_credentials_echoes_none_of_them(
    order_svc: TestClient[Any, Any], authorization: str, method: str, path: str
) -> None:
    response = await order_svc.request(
        method, path, headers={"Authorization": authorization}, json={"amount": 1500, "currency": "INR"}
    )
    text = await full_text(response)
    assert response.status == 401
    assert (await response.json())["error"]["code"] == "UNAUTHORIZED"

    sent = authorization.partition(" ")[2]
    values = {
        "sent credential": sent,
        "wrong secret": WRONG_SECRET,
        "merchant a secret": "echo-secret-of-merchant-a",
        "merchant b secret": "echo-secret-of-merchant-b",
        "API_KEYS": API_KEYS,
    }
    with_decoded = dict(values)
    with contextlib.suppress(ValueError):  # "not-base64" has nothing to decode
        with_decoded["sent credential decoded"] = base64.b64decode(sent, validate=True).decode()
    assert leaked(text, with_decoded) == []
