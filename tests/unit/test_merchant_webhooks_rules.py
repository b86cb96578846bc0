"""merchant-webhooks' pure rules: the signatures (checked with Razorpay's SDK and the Standard Webhooks
library, as merchants check them), the body, the backoff, and which URLs and addresses may be called."""

from __future__ import annotations

import ipaddress
import random
from datetime import UTC, datetime, timedelta

import orjson
import pytest
import razorpay
import standardwebhooks
from razorpay.errors import SignatureVerificationError

from merchant_webhooks.deliveries.domain import RetryPolicy, body_of, is_success
from merchant_webhooks.deliveries.signing import headers, new_secret, signing_secrets
from merchant_webhooks.egress.domain import EgressRules, RefusedUrl, address_refusal, check_address, check_url
from payments_common.events import MerchantEvent

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
EVENT = MerchantEvent(
    id="evt_0123456789abcdef",
    merchant_id="merch_a",
    event="payment.captured",
    contains=["payment"],
    payload={"payment": {"entity": {"id": "pay_1", "amount": 5000, "notes": {"ü": "☃"}}}},
    created_at=1_700_000_000,
)


def test_the_body_is_razorpays_event_shape() -> None:
    assert orjson.loads(body_of(EVENT)) == {
        "entity": "event",
        "account_id": "merch_a",
        "event": "payment.captured",
        "contains": ["payment"],
        "payload": EVENT.payload,
        "created_at": 1_700_000_000,
    }
    assert body_of(EVENT) == body_of(EVENT)


def test_razorpays_sdk_and_standard_webhooks_accept_the_signatures() -> None:
    secret = new_secret()
    body = body_of(EVENT)
    signed = headers(EVENT.id, int(datetime.now(UTC).timestamp()), body, [secret])
    assert razorpay.Utility().verify_webhook_signature(body.decode(), signed["X-Razorpay-Signature"], secret)
    assert standardwebhooks.Webhook(secret).verify(body, signed)["event"] == "payment.captured"
    assert signed["X-Razorpay-Event-Id"] == signed["webhook-id"] == EVENT.id
    # one byte changed, or another secret: refused by both
    tampered = body.replace(b"5000", b"5001")
    with pytest.raises(SignatureVerificationError):
        razorpay.Utility().verify_webhook_signature(tampered.decode(), signed["X-Razorpay-Signature"], secret)
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook(secret).verify(tampered, signed)
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook(new_secret()).verify(body, signed)


def test_during_an_overlap_both_secrets_sign_and_after_it_only_the_new_one() -> None:
    old, new = new_secret(), new_secret()
    assert signing_secrets(new, old, NOW + timedelta(hours=1), NOW) == [new, old]
    assert signing_secrets(new, old, NOW, NOW) == [new]
    assert signing_secrets(new, None, None, NOW) == [new]
    body = body_of(EVENT)
    signed = headers(EVENT.id, int(datetime.now(UTC).timestamp()), body, [new, old])
    assert len(signed["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        standardwebhooks.Webhook(secret).verify(body, signed)
    assert razorpay.Utility().verify_webhook_signature(body.decode(), signed["X-Razorpay-Signature"], new)


def test_only_a_2xx_delivers() -> None:
    assert [code for code in (199, 200, 204, 299, 301, 302, 400, 500) if is_success(code)] == [200, 204, 299]


def test_backoff_is_exponential_with_full_jitter_and_capped() -> None:
    policy = RetryPolicy(retry_for_seconds=86400, base_seconds=10, max_delay_seconds=3600, disable_after_seconds=1)
    rng = random.Random(7)
    for failures, ceiling in ((1, 10), (2, 20), (3, 40), (9, 2560), (10, 3600), (200, 3600)):
        delays = [policy.delay_seconds(failures, rng) for _ in range(300)]
        assert all(0 <= delay <= ceiling for delay in delays)
        # spread over the whole range, not bunched at the ceiling
        assert min(delays) < ceiling * 0.1 and max(delays) > ceiling * 0.9


def test_retries_end_with_the_retry_period() -> None:
    policy = RetryPolicy(retry_for_seconds=100, base_seconds=50, max_delay_seconds=1000, disable_after_seconds=1)
    started = NOW
    later = policy.next_attempt_at(3, started, started + timedelta(seconds=90), random.Random(1))
    assert later is not None and later <= started + timedelta(seconds=100)
    assert policy.next_attempt_at(4, started, started + timedelta(seconds=100)) is None
    assert policy.failing_before(NOW) == NOW - timedelta(seconds=1)


@pytest.mark.parametrize(
    ("address", "refusal"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("fc00::1", "private"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("100.64.0.1", "shared address space"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("240.0.0.1", "private"),
        ("::ffff:10.0.0.1", "private"),
        ("::ffff:169.254.169.254", "link-local"),
        ("2002:7f00:1::1", "loopback"),
        ("192.0.2.10", "private"),
        ("8.8.8.8", None),
        ("2606:4700::1111", None),
    ],
)
def test_address_rules(address: str, refusal: str | None) -> None:
    assert address_refusal(ipaddress.ip_address(address)) == refusal


def test_an_allowed_host_may_be_loopback_and_nothing_else_private() -> None:
    check_address(ipaddress.ip_address("127.0.0.1"), trusted=True)
    with pytest.raises(RefusedUrl, match="link-local"):
        check_address(ipaddress.ip_address("169.254.169.254"), trusted=True)
    with pytest.raises(RefusedUrl, match="loopback"):
        check_address(ipaddress.ip_address("127.0.0.1"), trusted=False)


LOCAL = EgressRules(allowed_http_hosts=frozenset({"127.0.0.1", "localhost"}))


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://hooks.example.com/", "https"),
        ("http://hooks.example.com/", "https"),
        ("//hooks.example.com/", "https"),
        ("https:///path", "https"),
        ("https://user:pw@hooks.example.com/", "credentials"),
        ("https://hooks.example.com/#frag", "fragment"),
        ("https://169.254.169.254/latest/meta-data/", "link-local"),
        ("https://[::ffff:127.0.0.1]/", "loopback"),
        ("https://127.0.0.2/", "loopback"),
        ("https://10.0.0.1:8443/", "private"),
        ("http://127.0.0.2/", "https"),
    ],
)
def test_refused_urls(url: str, reason: str) -> None:
    with pytest.raises(RefusedUrl, match=reason):
        check_url(url, LOCAL)


def test_accepted_urls() -> None:
    target = check_url("https://Hooks.Example.com:8443/in?x=1", LOCAL)
    assert (target.host, target.port, target.literal) == ("hooks.example.com", 8443, None)
    assert check_url("http://127.0.0.1:9000/hook", LOCAL).literal == ipaddress.ip_address("127.0.0.1")
    assert check_url("http://localhost:9000/hook", LOCAL).host == "localhost"
    assert check_url("https://8.8.8.8/", EgressRules()).port == 443
    with pytest.raises(RefusedUrl):
        check_url("http://localhost:9000/hook", EgressRules())
