"""How `payments-admin` reads a service's admin API answer: the JSON of a success, a refused request as a
usage error (exit 2) and anything else as an operational one (exit 1) naming the service."""

from __future__ import annotations

import orjson
import pytest

from payments_tools.admin.console import OperationalError, UsageError, admin_answer

REFUSED = orjson.dumps({"error": {"code": "BAD_REQUEST", "description": "limit is too large", "field": "limit"}})


def test_a_success_is_its_json_and_an_empty_body_is_none() -> None:
    assert admin_answer("order-svc", 200, b'{"items": [1]}', (400,)) == {"items": [1]}
    assert admin_answer("order-svc", 204, b"", (400,)) is None


def test_a_refused_request_is_a_usage_error_that_names_the_field_only_when_asked() -> None:
    with pytest.raises(UsageError) as named:
        admin_answer("order-svc", 422, REFUSED, (400, 422), name_field=True)
    assert str(named.value) == "limit is too large (limit)"
    with pytest.raises(UsageError) as plain:
        admin_answer("merchant-webhooks", 400, REFUSED, (400,))
    assert str(plain.value) == "limit is too large"


def test_any_other_error_is_operational_and_names_the_service() -> None:
    with pytest.raises(OperationalError) as other:
        admin_answer("merchant-webhooks", 422, REFUSED, (400,))
    assert str(other.value) == "merchant-webhooks answered 422: limit is too large"


def test_an_error_without_a_readable_body_is_described_by_its_status() -> None:
    with pytest.raises(OperationalError) as unreadable:
        admin_answer("order-svc", 502, b"<html>bad gateway</html>", (400, 422))
    assert str(unreadable.value) == "order-svc answered 502: HTTP 502"
    with pytest.raises(UsageError) as empty:
        admin_answer("order-svc", 400, b"", (400, 422), name_field=True)
    assert str(empty.value) == "HTTP 400"
