"""The operators' console in docker-compose.yml: a fifth service on the host's loopback only, reading the
admin APIs of order-svc and payment-svc with the one ADMIN_TOKEN both of them are given, its session cookie
Secure unless a deployer says otherwise (test_compose.py checks what it checks of every service)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from test_compose import COMPOSE_FILE, FAKE_ENV, published_ports, resolved_environment

from payments_console.settings import Settings


@pytest.fixture(scope="module")
def services() -> dict[str, dict[str, Any]]:
    data = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    return dict(data["services"])


def test_the_console_is_published_on_the_hosts_loopback_only(services: dict[str, dict[str, Any]]) -> None:
    console = services["payments-console"]
    assert published_ports(console) == [("8084", 8084)]
    assert all(str(entry).startswith("127.0.0.1:") for entry in console["ports"])


def test_the_console_and_the_admin_apis_share_the_admin_token(services: dict[str, dict[str, Any]]) -> None:
    for name in ("payments-console", "order-svc", "payment-svc", "merchant-webhooks"):
        assert resolved_environment(services[name])["ADMIN_TOKEN"] == FAKE_ENV["ADMIN_TOKEN"], name


def test_the_console_reads_the_services_it_shows(
    services: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    for field in Settings.model_fields:
        monkeypatch.delenv(field, raising=False)
    for key, value in resolved_environment(services["payments-console"]).items():
        monkeypatch.setenv(key, value)
    settings = Settings()  # type: ignore[call-arg]
    assert settings.ORDER_SVC_URL == "http://order-svc:8080"
    assert settings.PAYMENT_SVC_URL == "http://payment-svc:8082"
    assert settings.MERCHANT_WEBHOOKS_URL == "http://merchant-webhooks:8085"
    # served over https behind a proxy: the session cookie is Secure unless the env file says false
    assert settings.CONSOLE_COOKIE_SECURE is True
    assert settings.CONSOLE_URL == "http://payments-console:8084"
