"""Fuzzing tier: schemathesis against the running system that `payments-stack exec` started (`make fuzz`).

The schemas are the services' own `GET /openapi.json`. The client API is called with the first key of
API_KEYS; every webhook is signed with the first WEBHOOK_SECRETS key and, mostly, carries the right
payment signature (PAYMENT_SIGNING_SECRET's first key), so generated cases reach the validation,
publishing and consuming code behind the signature checks.

Budget (environment): FUZZ_MAX_EXAMPLES per operation and generation phase (default 150),
FUZZ_STATEFUL_EXAMPLES scenarios of linked calls (default 60), FUZZ_SEED to replay a run.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from payments_common.config import parse_api_keys, parse_webhook_secrets

from .tally import TALLY

REQUIRED = ("API_URL", "WEBHOOK_URL", "API_KEYS", "WEBHOOK_SECRETS", "PAYMENT_SIGNING_SECRET")
# no 5xx, and every answer as documented: status code, content type, headers, body
CHECKS = [
    schemathesis.checks.not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def budget(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


@dataclass(frozen=True)
class Target:
    api_url: str
    webhook_url: str
    basic_auth: tuple[str, str]
    webhook_key: bytes
    payment_key: bytes


def load_target() -> Target | None:
    """The running system, from what `payments-stack exec` passes; None outside it."""
    env = {name: os.environ.get(name, "") for name in REQUIRED}
    if not all(env.values()):
        return None
    key = next(iter(parse_api_keys(env["API_KEYS"]).values()))
    return Target(
        api_url=env["API_URL"].rstrip("/"),
        webhook_url=env["WEBHOOK_URL"].rstrip("/"),
        basic_auth=(key.key_id, key.secret.get_secret_value()),
        webhook_key=parse_webhook_secrets(env["WEBHOOK_SECRETS"])[0],
        # the first key signs while a rotation lists several
        payment_key=env["PAYMENT_SIGNING_SECRET"].split(",")[0].strip().encode(),
    )


def load_schema(base_url: str) -> Any:
    """The service's own document, with the run's budget."""
    data: dict[str, Any] = {
        "base-url": base_url,
        "generation": {"mode": "all", "max-examples": budget("FUZZ_MAX_EXAMPLES", 150)},
        "phases": {"examples": {"enabled": True}, "coverage": {"enabled": True}, "fuzzing": {"enabled": True}},
        "request-timeout": 30,
        "suppress-health-check": ["too_slow", "filter_too_much", "data_too_large"],
    }
    if os.environ.get("FUZZ_SEED"):
        data["seed"] = int(os.environ["FUZZ_SEED"])
    return schemathesis.openapi.from_url(f"{base_url}/openapi.json", config=schemathesis.Config.from_dict(data))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not TALLY.operations:
        return
    terminalreporter.section("fuzzing: generated cases per operation")
    for line in TALLY.lines():
        terminalreporter.write_line(line)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # a server error fails the run even if a check somehow let it through
    if TALLY.server_errors and exitstatus == 0:
        session.exitstatus = 1
