"""The last defence of the log pipeline: a registered secret is masked in the rendered line wherever it
is (a value, a nested value, a key, an exception's text, an object's repr(), a standard-library record),
as written and as JSON escapes it."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import structlog

from payments_common import logging as plog

PLAIN = "plain-secret-0123456789"
ESCAPED = 'quoted-"secret"-with-\\backslash'


@pytest.fixture
def service_logging(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Restores the test configuration and the registered secrets after a test that configures the
    services' pipeline (`configure`)."""
    monkeypatch.setattr(plog, "_secrets", [])
    previous = structlog.get_config()
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        yield
    finally:
        structlog.configure(**previous)
        root.handlers[:] = handlers
        root.setLevel(level)


def configure() -> None:
    """The services' pipeline, writing to the stdout of the test's call (capsys's), with PLAIN and
    ESCAPED registered: called in the test itself, as capsys's stdout of the set-up is closed by then."""
    plog.configure("masking-test")
    plog.register_secrets([PLAIN, ESCAPED])


def written(capsys: pytest.CaptureFixture[str]) -> tuple[str, list[dict[str, Any]]]:
    out = capsys.readouterr().out
    return out, [json.loads(line) for line in out.splitlines()]


class _Url:
    def __init__(self, password: str) -> None:
        self.password = password

    def __repr__(self) -> str:
        return f"amqp://user:{self.password}@host/"


@pytest.mark.usefixtures("service_logging")
def test_a_secret_is_masked_in_values_keys_nested_fields_and_reprs(capsys: pytest.CaptureFixture[str]) -> None:
    configure()
    plog.get_logger().info("event", value=f"is {PLAIN}", nested={"list": [ESCAPED]}, url=_Url(PLAIN), **{PLAIN: 1})
    out, [line] = written(capsys)
    assert PLAIN not in out
    assert json.dumps(ESCAPED)[1:-1] not in out
    assert line["value"] == f"is {plog.REDACTED}"
    assert line["nested"] == {"list": [plog.REDACTED]}
    assert line[plog.REDACTED] == 1
    # an object the renderer shows by its repr(): masked too, since the line is searched rather than each field
    assert line["url"] == f"amqp://user:{plog.REDACTED}@host/"


@pytest.mark.usefixtures("service_logging")
def test_an_exception_and_a_standard_library_record_are_masked(capsys: pytest.CaptureFixture[str]) -> None:
    configure()
    try:
        raise ValueError(f"failed with {PLAIN}")
    except ValueError:
        plog.get_logger().exception("crashed")
    logging.getLogger("a.library").warning("library says %s", ESCAPED)
    out, lines = written(capsys)
    assert PLAIN not in out
    assert json.dumps(ESCAPED)[1:-1] not in out
    assert f"ValueError: failed with {plog.REDACTED}" in lines[0]["exception"]
    assert lines[1]["event"] == f"library says {plog.REDACTED}"


def test_values_shorter_than_six_characters_or_repeated_are_registered_once_or_not_at_all(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(plog, "_secrets", [])
    plog.register_secrets(["short", PLAIN, PLAIN, ESCAPED])
    assert plog._secrets == [(PLAIN, PLAIN), (ESCAPED, 'quoted-\\"secret\\"-with-\\\\backslash')]
