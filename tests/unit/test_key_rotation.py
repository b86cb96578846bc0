"""Key rotation: PAYMENT_SIGNING_SECRET and WEBHOOK_SECRETS as lists, the first signs, every one verifies."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from mock_gateway.settings import Settings as MockGatewaySettings
from payment_svc.settings import Settings as PaymentSettings
from payments_common.config import ConfigError, parse_signing_secrets, parse_webhook_secrets, secret_list_parts
from payments_common.service import load_settings
from payments_common.signatures import (
    WebhookVerificationError,
    payment_signature,
    sign_webhook,
    verify_payment_signature,
    verify_webhook,
)
from webhook_gateway.settings import Settings as WebhookGatewaySettings

OLD = "old-payment-signing-secret-0123456789"
NEW = "new-payment-signing-secret-9876543210"
OLD_WH = "whsec_" + base64.b64encode(b"old-webhook-secret-32-bytes-long").decode()
NEW_WH = "whsec_" + base64.b64encode(b"new-webhook-secret-32-bytes-long").decode()


# --- parsing ---------------------------------------------------------------------------------------


def test_a_single_value_is_a_list_of_one() -> None:
    assert parse_signing_secrets(OLD) == [OLD.encode()]


def test_a_list_keeps_its_order_and_trims_each_entry() -> None:
    assert parse_signing_secrets(f"{NEW}, {OLD} ") == [NEW.encode(), OLD.encode()]


@pytest.mark.parametrize(
    ("raw", "entry"),
    [("", 1), ("   ", 1), (f"{OLD},", 2), (f",{NEW}", 1), (f"{OLD},,{NEW}", 2), (f"{OLD}, ,{NEW}", 2)],
)
def test_an_empty_entry_is_refused_by_its_position_without_showing_the_others(raw: str, entry: int) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_signing_secrets(raw)
    message = str(caught.value)
    assert message == f"PAYMENT_SIGNING_SECRET entry {entry} is empty"
    assert OLD not in message and NEW not in message


# payment-svc also needs its internal API's token to start
INTERNAL_TOKEN = "internal-token-0123456789abcdef"


def settings_values(cls: type[Any], payment: str, webhook: str = OLD_WH) -> dict[str, Any]:
    values: dict[str, Any] = {"PAYMENT_SIGNING_SECRET": SecretStr(payment)}
    if "WEBHOOK_SECRETS" in cls.model_fields:
        values["WEBHOOK_SECRETS"] = SecretStr(webhook)
    if "INTERNAL_API_TOKEN" in cls.model_fields:
        values["INTERNAL_API_TOKEN"] = SecretStr(INTERNAL_TOKEN)
    return values


SERVICES = [PaymentSettings, WebhookGatewaySettings, MockGatewaySettings]


@pytest.mark.parametrize("cls", SERVICES)
def test_every_service_refuses_to_start_with_an_empty_entry(cls: type[Any]) -> None:
    with pytest.raises(ValidationError) as caught:
        cls(**settings_values(cls, f"{OLD},"))
    text = str(caught.value)
    assert "PAYMENT_SIGNING_SECRET entry 2 is empty" in text
    assert OLD not in text


@pytest.mark.parametrize("cls", SERVICES)
def test_every_service_masks_the_whole_list_and_each_entry(cls: type[Any]) -> None:
    settings = cls(**settings_values(cls, f"{NEW},{OLD}", webhook=f"{NEW_WH},{OLD_WH}"))
    masked = set(settings.secrets())
    assert {f"{NEW},{OLD}", NEW, OLD} <= masked
    if "WEBHOOK_SECRETS" in cls.model_fields:
        assert {f"{NEW_WH},{OLD_WH}", NEW_WH, OLD_WH, NEW_WH.removeprefix("whsec_")} <= masked


def test_secret_list_parts_names_prefixed_entries_with_and_without_the_prefix() -> None:
    assert secret_list_parts("whsec_a1, whsec_b2", prefix="whsec_") == [
        "whsec_a1, whsec_b2",
        "whsec_a1",
        "a1",
        "whsec_b2",
        "b2",
    ]


def test_the_verifiers_read_every_key() -> None:
    payment = PaymentSettings(
        PAYMENT_SIGNING_SECRET=SecretStr(f"{OLD},{NEW}"), INTERNAL_API_TOKEN=SecretStr(INTERNAL_TOKEN)
    )
    assert payment.payment_signing_keys() == (OLD.encode(), NEW.encode())
    webhook = WebhookGatewaySettings(
        PAYMENT_SIGNING_SECRET=SecretStr(f"{OLD},{NEW}"), WEBHOOK_SECRETS=SecretStr(f"{OLD_WH},{NEW_WH}")
    )
    assert webhook.payment_signing_keys() == [OLD.encode(), NEW.encode()]
    assert webhook.webhook_keys() == parse_webhook_secrets(OLD_WH) + parse_webhook_secrets(NEW_WH)


def test_the_mock_gateway_signs_with_the_first_key_of_each_list_only() -> None:
    settings = MockGatewaySettings(
        PAYMENT_SIGNING_SECRET=SecretStr(f"{NEW},{OLD}"), WEBHOOK_SECRETS=SecretStr(f"{NEW_WH},{OLD_WH}")
    )
    assert settings.payment_signing_key() == NEW.encode()
    assert settings.webhook_signing_key() == parse_webhook_secrets(NEW_WH)[0]


def test_a_single_payment_secret_still_works_everywhere() -> None:
    payment = PaymentSettings(PAYMENT_SIGNING_SECRET=SecretStr(OLD), INTERNAL_API_TOKEN=SecretStr(INTERNAL_TOKEN))
    assert payment.payment_signing_keys() == (OLD.encode(),)
    mock = MockGatewaySettings(PAYMENT_SIGNING_SECRET=SecretStr(OLD), WEBHOOK_SECRETS=SecretStr(OLD_WH))
    assert mock.payment_signing_key() == OLD.encode()


# --- signing and verifying with several keys ------------------------------------------------------


def test_the_payment_signature_verifies_with_any_configured_key() -> None:
    by_old = payment_signature(OLD.encode(), "order_1", "gw_1")
    by_new = payment_signature(NEW.encode(), "order_1", "gw_1")
    both = [OLD.encode(), NEW.encode()]
    assert verify_payment_signature(both, "order_1", "gw_1", by_old)
    assert verify_payment_signature(both, "order_1", "gw_1", by_new)
    assert verify_payment_signature(tuple(reversed(both)), "order_1", "gw_1", by_old)


def test_the_payment_signature_is_refused_when_no_key_made_it() -> None:
    by_old = payment_signature(OLD.encode(), "order_1", "gw_1")
    assert not verify_payment_signature([NEW.encode()], "order_1", "gw_1", by_old)
    assert not verify_payment_signature([OLD.encode(), NEW.encode()], "order_1", "gw_2", by_old)
    assert not verify_payment_signature([OLD.encode(), NEW.encode()], "order_1", "gw_1", "")
    assert not verify_payment_signature([], "order_1", "gw_1", by_old)


def test_one_key_given_as_bytes_is_still_one_key() -> None:
    # bytes are iterable too: a lone key must not be read as a list of one-byte keys
    by_old = payment_signature(OLD.encode(), "order_1", "gw_1")
    assert verify_payment_signature(OLD.encode(), "order_1", "gw_1", by_old)
    assert not verify_payment_signature(NEW.encode(), "order_1", "gw_1", by_old)


def test_a_webhook_signed_with_either_key_verifies_against_both() -> None:
    old, new = parse_webhook_secrets(OLD_WH)[0], parse_webhook_secrets(NEW_WH)[0]
    body = b'{"status": "SUCCESS"}'
    for signer in (old, new):
        headers = sign_webhook(signer, "evt_1", body).as_dict()
        assert verify_webhook([old, new], headers, body, 300) == "evt_1"


def test_a_webhook_signed_with_a_retired_key_is_refused() -> None:
    old, new = parse_webhook_secrets(OLD_WH)[0], parse_webhook_secrets(NEW_WH)[0]
    body = b'{"status": "SUCCESS"}'
    headers = sign_webhook(old, "evt_1", body).as_dict()
    with pytest.raises(WebhookVerificationError):
        verify_webhook([new], headers, body, 300)


def test_a_sender_may_sign_with_both_keys_at_once() -> None:
    # Standard Webhooks allows several signatures: a sender in the middle of its own switch can send both
    old, new = parse_webhook_secrets(OLD_WH)[0], parse_webhook_secrets(NEW_WH)[0]
    body = b"{}"
    by_old = sign_webhook(old, "evt_1", body, timestamp=1_700_000_000).as_dict()
    by_new = sign_webhook(new, "evt_1", body, timestamp=1_700_000_000).as_dict()
    headers = {**by_old, "webhook-signature": f"{by_old['webhook-signature']} {by_new['webhook-signature']}"}
    assert verify_webhook([new], headers, body, 300, now=1_700_000_000) == "evt_1"
    assert verify_webhook([old], headers, body, 300, now=1_700_000_000) == "evt_1"


@pytest.mark.parametrize("cls", SERVICES)
def test_a_service_started_with_an_empty_entry_names_it_without_printing_the_secret(
    cls: type[Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in cls.model_fields:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PAYMENT_SIGNING_SECRET", f"{NEW},,{OLD}")
    monkeypatch.setenv("WEBHOOK_SECRETS", OLD_WH)
    with pytest.raises(SystemExit) as stopped:
        load_settings("svc", cls)
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert "PAYMENT_SIGNING_SECRET" in err and "entry 2 is empty" in err
    assert NEW not in err and OLD not in err
