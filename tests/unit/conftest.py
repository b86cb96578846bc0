"""Fixtures the unit tests share."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import structlog
from structlog.testing import LogCapture
from webhook_sink import RecordingSink


@pytest.fixture
def captured_logs() -> Iterator[list[Any]]:
    """Log entries with the context-bound ids, as the JSON renderer would see them."""
    previous = structlog.get_config()
    capture = LogCapture()
    structlog.configure(processors=[structlog.contextvars.merge_contextvars, capture], cache_logger_on_first_use=False)
    try:
        yield capture.entries
    finally:
        structlog.configure(**previous)


@pytest.fixture
def sink() -> RecordingSink:
    """What the webhook endpoints of a test's webhook-gateway app published."""
    return RecordingSink()
