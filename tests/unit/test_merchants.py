"""Merchants without I/O: what the admin API accepts, the merchant's alert email, and the CLI's commands."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from order_svc.emails.domain import alert_message_id, endpoint_disabled_message
from order_svc.merchants.schemas import CreateMerchant
from payments_common.events import WebhookEndpointDisabled
from payments_tools.admin.cli import build_parser

SENDER = "Payments <receipts@payments.local>"


def disabled(**overrides: Any) -> WebhookEndpointDisabled:
    fields: dict[str, Any] = {
        "id": "whdis_1",
        "merchant_id": "merch_abcdefghijklmn",
        "endpoint_id": "whep_abcdefghijklmn",
        "url": "https://merchant.example/hooks",
        "failing_since": datetime(2026, 1, 1, tzinfo=UTC),
        "disabled_at": datetime(2026, 1, 2, tzinfo=UTC),
        "last_error": "timed out after 5 s",
    }
    return WebhookEndpointDisabled(**{**fields, **overrides})


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": ""},
        {"name": "   "},
        {"name": "Acme\r\nBcc: x@y.z"},
        {"name": "x" * 201},
        {"name": "Acme", "alertEmail": "not an address"},
        {"name": "Acme", "extra": 1},
        {"name": 5},
    ],
)
def test_a_merchant_needs_a_plain_name_and_at_most_a_valid_address(body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        CreateMerchant.model_validate(body)


def test_a_merchant_s_address_is_normalised() -> None:
    merchant = CreateMerchant.model_validate({"name": "Acme", "alertEmail": "Ops@Acme.Example"})
    assert merchant.alertEmail == "Ops@acme.example"
    assert CreateMerchant.model_validate({"name": "Acme"}).alertEmail is None


def test_the_alert_names_the_endpoint_and_why_on_one_message_id_per_disabling() -> None:
    message = endpoint_disabled_message(disabled(), "Acme Ltd", "ops@acme.example", SENDER)
    assert str(message["To"]) == "Acme Ltd <ops@acme.example>"
    assert "whep_abcdefghijklmn" in str(message["Subject"])
    text = message.get_content()
    assert "https://merchant.example/hooks" in text and "timed out after 5 s" in text
    assert message["Message-ID"] == alert_message_id("whdis_1", SENDER) != alert_message_id("whdis_2", SENDER)
    # one header line, however long the event's id
    assert len(f"Message-ID: {alert_message_id('whdis_' + 'x' * 200, SENDER)}") < 78


def test_an_alert_that_would_inject_a_header_is_refused() -> None:
    with pytest.raises(ValueError):
        endpoint_disabled_message(disabled(endpoint_id="whep_1\r\nBcc: x@y.z"), "Acme", "ops@acme.example", SENDER)
    with pytest.raises(ValueError):
        endpoint_disabled_message(disabled(), "Acme\nBcc: x@y.z", "ops@acme.example", SENDER)


@pytest.mark.parametrize(
    "argv",
    [
        ["merchant", "create", "--name", "Acme", "--alert-email", "ops@acme.example"],
        ["merchant", "list", "--limit", "5", "--json"],
        ["merchant", "show", "merch_1"],
        ["key", "create", "merch_1"],
        ["key", "list", "merch_1", "--json"],
        ["key", "revoke", "rzp_test_1"],
    ],
)
def test_the_cli_knows_the_merchant_and_key_commands(argv: list[str]) -> None:
    args = build_parser().parse_args(argv)
    assert callable(args.command) and args.area == argv[0] and args.action == argv[1]


def test_merchant_create_needs_a_name() -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["merchant", "create"])
