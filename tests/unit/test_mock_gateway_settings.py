"""The mock gateway's fault settings, and how it refuses to start on a bad one."""

from __future__ import annotations

import base64

import pytest
from pydantic import ValidationError

from mock_gateway.delivery.faults import Fault
from mock_gateway.settings import Settings
from payments_common.service import load_settings

WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"mock-gateway-webhook-secret-32by").decode()
PAYMENT_SECRET = "payment-secret-that-must-not-leak"


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in Settings.model_fields:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PAYMENT_SIGNING_SECRET", PAYMENT_SECRET)
    monkeypatch.setenv("WEBHOOK_SECRETS", WEBHOOK_SECRET)


def test_no_faults_by_default() -> None:
    settings = Settings()
    assert settings.fault_rates == {}
    assert settings.MOCK_GATEWAY_FAULT_DELAY_MS == 3000
    assert settings.MOCK_GATEWAY_FAULT_SEED is None


def test_faults_delay_and_seed_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOCK_GATEWAY_FAULTS", "duplicate=0.3,late-success=0.05")
    monkeypatch.setenv("MOCK_GATEWAY_FAULT_DELAY_MS", "500")
    monkeypatch.setenv("MOCK_GATEWAY_FAULT_SEED", "42")
    settings = Settings()
    assert settings.fault_rates == {Fault.DUPLICATE: 0.3, Fault.LATE_SUCCESS: 0.05}
    assert (settings.MOCK_GATEWAY_FAULT_DELAY_MS, settings.MOCK_GATEWAY_FAULT_SEED) == (500, 42)


def test_an_empty_seed_is_no_seed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOCK_GATEWAY_FAULT_SEED", "")
    assert Settings().MOCK_GATEWAY_FAULT_SEED is None


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MOCK_GATEWAY_FAULTS", "duplicate=2"),
        ("MOCK_GATEWAY_FAULTS", "chaos=0.1"),
        ("MOCK_GATEWAY_FAULT_DELAY_MS", "-1"),
        ("MOCK_GATEWAY_FAULT_SEED", "random"),
    ],
)
def test_invalid_fault_settings_are_refused(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError, match=name):
        Settings()


def test_the_process_refuses_to_start_with_one_line_per_problem_and_no_secret(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MOCK_GATEWAY_FAULTS", "duplicate=often")
    monkeypatch.delenv("WEBHOOK_SECRETS")
    with pytest.raises(SystemExit) as stopped:
        load_settings("mock-gateway", Settings)
    assert stopped.value.code == 2
    out = capsys.readouterr()
    lines = out.err.strip().splitlines()
    assert len(lines) == 2
    assert any(line.startswith("mock-gateway: WEBHOOK_SECRETS:") for line in lines)
    assert any(line.startswith("mock-gateway: MOCK_GATEWAY_FAULTS:") and "'often'" in line for line in lines)
    assert PAYMENT_SECRET not in out.err + out.out
    assert "Traceback" not in out.err
