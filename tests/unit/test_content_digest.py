"""The optional Content-Digest of a webhook (RFC 9530): parsing, matching, and the gateway's answer."""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr
from webhook_sink import RecordingSink

from payments_common import ids
from payments_common.config import parse_webhook_secrets
from payments_common.signatures import payment_signature, sign_webhook
from webhook_gateway.app import create_app
from webhook_gateway.ingress import digest
from webhook_gateway.settings import Settings

WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"digest-test-webhook-secret-32by!").decode()
PAYMENT_SECRET = "payment-signing-secret-for-digest-tests"
BODY = b'{"hello": "world"}'


def sf_bytes(raw: bytes) -> str:
    return ":" + base64.b64encode(raw).decode() + ":"


SHA256 = sf_bytes(hashlib.sha256(BODY).digest())
SHA512 = sf_bytes(hashlib.sha512(BODY).digest())
WRONG256 = sf_bytes(hashlib.sha256(b"another body").digest())
WRONG512 = sf_bytes(hashlib.sha512(b"another body").digest())


# ---------------------------------------------------------------------------------------------
# verify: what is checked, what is ignored, what is refused
# ---------------------------------------------------------------------------------------------


def test_no_header_checks_nothing() -> None:
    assert digest.verify([], BODY) == []


def test_the_rfc_example_value_matches_its_body() -> None:
    # RFC 9530 section 2: the digest of {"hello": "world"}
    assert digest.verify(["sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"], BODY) == ["sha-256"]


@pytest.mark.parametrize(
    ("header", "checked"),
    [
        (f"sha-256={SHA256}", ["sha-256"]),
        (f"sha-512={SHA512}", ["sha-512"]),
        (f"sha-512={SHA512}, sha-256={SHA256}", ["sha-256", "sha-512"]),
        # unknown algorithms, of any structured-field type, are stepped over
        (f'md5=:AAAA:, unixsum=30637, adler=?1, sha-256={SHA256}, x=(a "b,c" 1.5);p=1, id-sha-256="z"', ["sha-256"]),
        (f"sha-256={SHA256};note=token", ["sha-256"]),
        (f"  sha-256={SHA256}  ", ["sha-256"]),
    ],
)
def test_matching_digests_pass(header: str, checked: list[str]) -> None:
    assert digest.verify([header], BODY) == checked


def test_header_with_no_supported_algorithm_counts_as_absent() -> None:
    assert digest.verify(["md5=:HUXZLQLMuI/KZ5KDcJPcOA==:, unixsum=30637"], BODY) == []


def test_several_header_lines_are_one_list() -> None:
    assert digest.verify(["md5=:AAAA:", f"sha-256={SHA256}"], BODY) == ["sha-256"]
    with pytest.raises(digest.ContentDigestError):
        digest.verify([f"sha-256={SHA256}", f"sha-512={WRONG512}"], BODY)


@pytest.mark.parametrize(
    "header",
    [
        f"sha-256={WRONG256}",
        f"sha-512={WRONG512}",
        # one good digest does not excuse a wrong one beside it
        f"sha-256={SHA256}, sha-512={WRONG512}",
        f"sha-256={WRONG256}, sha-512={SHA512}",
        # the last of a repeated key counts, as RFC 8941 says
        f"sha-256={SHA256}, sha-256={WRONG256}",
        "sha-256=::",
    ],
)
def test_a_wrong_digest_is_refused_without_echoing_it(header: str) -> None:
    with pytest.raises(digest.ContentDigestError) as caught:
        digest.verify([header], BODY)
    assert "does not match" in str(caught.value)
    for value in (SHA256, SHA512, WRONG256, WRONG512):
        assert value.strip(":") not in str(caught.value)


@pytest.mark.parametrize(
    "header",
    [
        "sha-256",  # a bare key is Boolean true, not a byte sequence
        "sha-256=abc",
        'sha-256="X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE="',
        "sha-256=12",
    ],
)
def test_a_supported_algorithm_with_another_type_is_refused(header: str) -> None:
    with pytest.raises(digest.ContentDigestError, match="byte sequence"):
        digest.verify([header], BODY)


@pytest.mark.parametrize(
    "header",
    [
        f"SHA-256={SHA256}",  # keys are lower case
        f"sha-256={SHA256},",  # trailing comma
        f"sha-256={SHA256} sha-512={SHA512}",  # no comma
        "sha-256=:not base64!:",
        "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE",  # unterminated
        'x="unterminated',
        "x=(a b",
        "=:AAAA:",
        f"sha-256={SHA256}, ,",
        "sha-256=:ä:",
        "x=" + "a" * 5000,
    ],
)
def test_a_malformed_header_is_refused(header: str) -> None:
    with pytest.raises(digest.ContentDigestError, match="structured-field dictionary"):
        digest.verify([header], BODY)


# ---------------------------------------------------------------------------------------------
# the webhook endpoint
# ---------------------------------------------------------------------------------------------


@pytest.fixture
async def client(sink: RecordingSink) -> AsyncIterator[TestClient[Any, Any]]:
    settings = Settings(
        WEBHOOK_SECRETS=SecretStr(WEBHOOK_SECRET),
        PAYMENT_SIGNING_SECRET=SecretStr(PAYMENT_SECRET),
        WEBHOOK_TOLERANCE_SECONDS=300,
    )
    async with TestClient(TestServer(await create_app(settings, sink=sink))) as test_client:
        yield test_client


def webhook_body() -> bytes:
    order_id, gw_id = ids.new_id(ids.ORDER), ids.new_id(ids.GATEWAY_PAYMENT)
    return orjson.dumps(
        {
            "orderId": order_id,
            "paymentId": ids.new_id(ids.PAYMENT),
            "gatewayPaymentId": gw_id,
            "signature": payment_signature(PAYMENT_SECRET.encode(), order_id, gw_id),
            "status": "SUCCESS",
        }
    )


def signed(body: bytes, **extra: str) -> dict[str, str]:
    key = parse_webhook_secrets(WEBHOOK_SECRET)[0]
    headers = sign_webhook(key, ids.new_id(ids.EVENT), body, int(time.time())).as_dict()
    return {"content-type": "application/json", **headers, **extra}


async def test_webhook_with_a_matching_digest_is_published(client: TestClient[Any, Any], sink: RecordingSink) -> None:
    body = webhook_body()
    both = f"sha-256={sf_bytes(hashlib.sha256(body).digest())}, sha-512={sf_bytes(hashlib.sha512(body).digest())}"
    response = await client.post("/webhook/payment", data=body, headers=signed(body, **{"Content-Digest": both}))
    assert response.status == 200, await response.text()
    assert len(sink.messages) == 1


async def test_webhook_with_only_unknown_algorithms_is_published(
    client: TestClient[Any, Any], sink: RecordingSink
) -> None:
    body = webhook_body()
    response = await client.post(
        "/webhook/payment", data=body, headers=signed(body, **{"Content-Digest": "md5=:AAAA:, unixsum=1"})
    )
    assert response.status == 200
    assert len(sink.messages) == 1


@pytest.mark.parametrize("header", ["sha-256=" + WRONG256, "sha-256=nonsense", "sha-256=:!!:"])
async def test_webhook_with_a_wrong_or_malformed_digest_is_refused_and_not_published(
    client: TestClient[Any, Any], sink: RecordingSink, header: str
) -> None:
    body = webhook_body()
    response = await client.post("/webhook/payment", data=body, headers=signed(body, **{"Content-Digest": header}))
    assert response.status == 400
    answer = await response.json()
    assert answer["success"] is False
    assert answer["error"]["code"] == "BAD_REQUEST_ERROR"
    assert answer["error"]["field"] == "Content-Digest"
    assert WRONG256.strip(":") not in answer["error"]["description"]
    assert sink.messages == []
