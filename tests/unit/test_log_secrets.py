"""The log secrets check itself: it finds what is planted, names it without printing it, and refuses
to pass when it had nothing to check."""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path

import pytest

# the check is run as `python -m tests.security.log_secrets` from the repository root
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.security.log_secrets import CARD_NUMBER, log_files, main, scan, secrets_from

API_SECRET_A = "api-secret-of-merchant-a-123"
API_SECRET_B = "api-secret-of-merchant-b-456"
OLD_PAY, NEW_PAY = "payment-signing-old-0123456789", "payment-signing-new-9876543210"
WEBHOOK_KEY = b"log-check-webhook-secret-32bytes"
WEBHOOK_B64 = base64.b64encode(WEBHOOK_KEY).decode()
ADMIN = "admin-token-abcdefghijklmnop"
OLD_INTERNAL, NEW_INTERNAL = "internal-token-old-0123456789", "internal-token-new-9876543210"
DB_PASSWORD = "database-password-0f0f0f"
AMQP_PASSWORD = "broker-password-1e1e1e"

ENV = {
    "API_KEYS": f"rzp_a:{API_SECRET_A}, rzp_b:{API_SECRET_B}",
    "PAYMENT_SIGNING_SECRET": f"{NEW_PAY},{OLD_PAY}",
    "WEBHOOK_SECRETS": f"whsec_{WEBHOOK_B64}",
    "ADMIN_TOKEN": ADMIN,
    "INTERNAL_API_TOKEN": f"{NEW_INTERNAL},{OLD_INTERNAL}",
    "DATABASE_URL": f"postgresql://payments:{DB_PASSWORD}@db:5432/payments",
    "AMQP_URL": f"amqp://payments:{AMQP_PASSWORD}@mq:5672/",
    "UNRELATED": "not-a-secret-at-all",
}

CLEAN = [
    '{"event": "order.created", "merchant_id": "rzp_a", "order_id": "order_1"}',
    '{"event": "webhook.accepted", "event_id": "evt_1", "status": "SUCCESS"}',
]


def write_logs(tmp_path: Path, extra: dict[str, list[str]] | None = None) -> Path:
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "order-svc.log").write_text("\n".join(CLEAN) + "\n")
    for name, lines in (extra or {}).items():
        (logs / name).write_text("\n".join(lines) + "\n")
    return logs


def test_every_kind_of_configured_secret_is_searched_for() -> None:
    values = {secret.name: secret.value for secret in secrets_from(ENV)}
    assert values["API_KEYS entry 1 key secret"] == API_SECRET_A
    assert values["API_KEYS entry 2 key secret"] == API_SECRET_B
    assert values["API_KEYS entry 2"] == f"rzp_b:{API_SECRET_B}"
    assert values["PAYMENT_SIGNING_SECRET"] == f"{NEW_PAY},{OLD_PAY}"
    assert values["PAYMENT_SIGNING_SECRET entry 1"] == NEW_PAY
    assert values["PAYMENT_SIGNING_SECRET entry 2"] == OLD_PAY
    # a one-entry list: its entry is the whole value, and is searched for once under the first name
    assert values["WEBHOOK_SECRETS"] == f"whsec_{WEBHOOK_B64}"
    assert values["WEBHOOK_SECRETS entry 1 base64"] == WEBHOOK_B64
    assert values["WEBHOOK_SECRETS entry 1 key hex"] == WEBHOOK_KEY.hex()
    assert values["ADMIN_TOKEN"] == ADMIN
    assert values["INTERNAL_API_TOKEN"] == f"{NEW_INTERNAL},{OLD_INTERNAL}"
    assert values["INTERNAL_API_TOKEN entry 1"] == NEW_INTERNAL
    assert values["INTERNAL_API_TOKEN entry 2"] == OLD_INTERNAL
    assert values["DATABASE_URL password"] == DB_PASSWORD
    assert values["AMQP_URL password"] == AMQP_PASSWORD
    assert "not-a-secret-at-all" not in values.values()
    assert "rzp_a" not in values.values()  # a key id names a merchant in every log line; it is not secret


def test_clean_logs_pass_and_say_how_much_was_checked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    logs = write_logs(tmp_path, {"webhook-gateway.log": CLEAN})
    assert main([str(logs)], env=ENV) == 0
    out = capsys.readouterr().out
    assert "4 lines in 2 files checked" in out
    assert "none found" in out


@pytest.mark.parametrize(
    ("planted", "name"),
    [
        (API_SECRET_B, "API_KEYS entry 2 key secret"),
        (OLD_PAY, "PAYMENT_SIGNING_SECRET entry 2"),
        (WEBHOOK_B64, "WEBHOOK_SECRETS entry 1 base64"),
        (WEBHOOK_KEY.hex(), "WEBHOOK_SECRETS entry 1 key hex"),
        (ADMIN, "ADMIN_TOKEN"),
        (NEW_INTERNAL, "INTERNAL_API_TOKEN entry 1"),
        (OLD_INTERNAL, "INTERNAL_API_TOKEN entry 2"),
        (AMQP_PASSWORD, "AMQP_URL password"),
    ],
)
def test_a_planted_secret_fails_the_check_by_name_and_place_without_printing_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], planted: str, name: str
) -> None:
    line = json.dumps({"event": "oops", "detail": f"value was {planted}"})
    logs = write_logs(tmp_path, {"payment-svc.log": [CLEAN[0], line]})
    assert main([str(logs)], env=ENV) == 1
    captured = capsys.readouterr()
    report = captured.out + captured.err
    assert f"FOUND {name} in 1 lines: {logs / 'payment-svc.log'}:2" in report
    for secret in secrets_from(ENV):
        assert secret.value not in report


def test_a_secret_escaped_by_json_is_found_too(tmp_path: Path) -> None:
    env = {"ADMIN_TOKEN": 'token-with-"quote"-and-\\slash'}
    line = json.dumps({"event": "oops", "token": env["ADMIN_TOKEN"]})
    assert env["ADMIN_TOKEN"] not in line  # as written, the line holds only the escaped form
    report = scan([write_logs(tmp_path, {"x.log": [line]}) / "x.log"], secrets_from(env))
    assert list(report.found) == ["ADMIN_TOKEN"]


def test_values_too_short_to_mask_are_named_as_skipped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    env = {**ENV, "AMQP_URL": "amqp://guest:guest@127.0.0.1:5672/"}
    logs = write_logs(tmp_path, {"x.log": ['{"event": "broker.ready", "user": "guest"}']})
    assert main([str(logs)], env=env) == 0
    assert "shorter than 6 characters: AMQP_URL password" in capsys.readouterr().out


def test_no_log_line_is_not_a_pass(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main([str(empty)], env=ENV) == 2
    assert main([str(tmp_path / "missing")], env=ENV) == 2


def test_no_configured_secret_is_not_a_pass(tmp_path: Path) -> None:
    assert main([str(write_logs(tmp_path))], env={"UNRELATED": "x"}) == 2


@pytest.mark.parametrize(
    "text",
    ["4111111111111111", "4111 1111 1111 1111", "card=5555-5555-5555-4444 ok", '"number": "378282246310005"'],
)
def test_a_card_number_in_a_log_line_fails_the_check(tmp_path: Path, text: str) -> None:
    logs = write_logs(tmp_path, {"order-svc.log": [CLEAN[0], json.dumps({"event": "oops", "detail": text})]})
    assert main([str(logs)], env=ENV) == 1
    assert list(scan(log_files([logs]), secrets_from(ENV)).found) == [CARD_NUMBER]


@pytest.mark.parametrize(
    "text",
    [
        "4111111111111112",  # fails the Luhn check
        "1764326883123",  # a millisecond timestamp: no network's BIN
        "order_019ac9d4-5b1e-7c3a-9f20-6d1e8b7a4c21",
        # ids seen to hold Luhn-valid runs with a network's BIN
        "req_01a221f24279713492819af6f87485c5",
        "order_01a221f2-4279-7134-9281-9af76dbdca23",
        "last4 1111, 41111111111111111111",  # twenty digits: longer than any card
    ],
)
def test_digits_that_are_no_card_number_pass(tmp_path: Path, text: str) -> None:
    logs = write_logs(tmp_path, {"order-svc.log": [json.dumps({"event": "fine", "detail": text})]})
    assert scan(log_files([logs]), secrets_from(ENV)).found == {}
