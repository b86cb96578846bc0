"""HTTP Basic auth against API_KEYS: each key one merchant, everything else a 401."""

from __future__ import annotations

import base64

import pytest

from order_svc.access.domain import authenticate
from payments_common.config import ConfigError, parse_api_keys
from payments_common.errors import ApiError

KEYS = parse_api_keys("rzp_a:secret-a-123456, rzp_b:secret-b-123456")


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_each_key_authenticates_as_its_own_merchant() -> None:
    assert authenticate(_basic("rzp_a", "secret-a-123456"), KEYS) == "rzp_a"
    assert authenticate(_basic("rzp_b", "secret-b-123456"), KEYS) == "rzp_b"


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer abc",
        "Basic",
        "Basic !!!not-base64",
        "Basic " + base64.b64encode(b"no-colon").decode(),
        _basic("rzp_a", "secret-b-123456"),  # another merchant's secret
        _basic("rzp_unknown", "secret-a-123456"),
        _basic("rzp_a", ""),
        _basic("rzp_a", "sécret"),
    ],
)
def test_anything_else_is_401_without_echoing_the_secret(header: str | None) -> None:
    with pytest.raises(ApiError) as caught:
        authenticate(header, KEYS)
    assert caught.value.status == 401 and caught.value.code == "UNAUTHORIZED"
    assert "secret" not in caught.value.description


@pytest.mark.parametrize("raw", ["", " , ", "justavaluewithnocolon", ":hiddenvalue", "keyidonly:"])
def test_malformed_api_keys_are_a_configuration_error_that_does_not_show_the_value(raw: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_api_keys(raw)
    for part in raw.replace(":", ",").split(","):
        if part.strip():
            assert part.strip() not in str(caught.value)
