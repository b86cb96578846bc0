"""Idempotency keys' pure parts: which header values are keys, and which bodies are the same request."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from order_svc.idempotency.domain import HEADER, canonical_body, fingerprint, parse_key
from order_svc.openapi import document
from payments_common.errors import ApiError

# a merchant's fingerprint key (`idempotency.fingerprint_key`)
KEY = b"k" * 32


@pytest.mark.parametrize("key", ["a", "k" * 255, "order 42/retry#1", "~!@#$%^&*()_+`-={}|[]\\:\";'<>?,./"])
def test_printable_ascii_up_to_255_is_a_key(key: str) -> None:
    assert parse_key([key]) == key


def test_no_header_is_no_key() -> None:
    assert parse_key([]) is None


@pytest.mark.parametrize("key", ["", "k" * 256, "tab\there", "caf\u00e9", "nul\x00", "del\x7f", "line\nbreak"])
def test_anything_else_is_a_400_naming_the_header_without_echoing_it(key: str) -> None:
    with pytest.raises(ApiError) as caught:
        parse_key([key])
    assert caught.value.status == 400
    assert caught.value.field == HEADER
    if len(key) > 2:
        assert key not in caught.value.description


def test_two_keys_are_a_400() -> None:
    with pytest.raises(ApiError) as caught:
        parse_key(["one", "two"])
    assert (caught.value.status, caught.value.field) == (400, HEADER)


def test_key_order_and_whitespace_do_not_change_the_fingerprint() -> None:
    compact = b'{"amount":1500,"currency":"INR","notes":{"a":"1","b":"2"}}'
    spaced = b'{ "notes": {"b": "2", "a": "1"},\n  "currency": "INR", "amount": 1500 }'
    assert fingerprint("POST", "/orders", compact, KEY) == fingerprint("POST", "/orders", spaced, KEY)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/orders", b'{"amount":1501,"currency":"INR","notes":{"a":"1","b":"2"}}'),
        ("POST", "/orders", b'{"amount":1500,"currency":"INR","notes":{"a":"1","b":"3"}}'),
        ("POST", "/orders", b'{"amount":1500,"currency":"INR","notes":{"a":"1"}}'),
        ("POST", "/orders", b'{"amount":"1500","currency":"INR","notes":{"a":"1","b":"2"}}'),
        ("POST", "/payments/initiate", b'{"amount":1500,"currency":"INR","notes":{"a":"1","b":"2"}}'),
        ("PUT", "/orders", b'{"amount":1500,"currency":"INR","notes":{"a":"1","b":"2"}}'),
    ],
)
def test_another_method_path_or_value_changes_it(method: str, path: str, body: bytes) -> None:
    original = fingerprint("POST", "/orders", b'{"amount":1500,"currency":"INR","notes":{"a":"1","b":"2"}}', KEY)
    assert fingerprint(method, path, body, KEY) != original


def test_a_body_that_is_not_json_is_taken_as_it_came() -> None:
    assert fingerprint("POST", "/orders", b"not json", KEY) == fingerprint("POST", "/orders", b"not json", KEY)
    assert fingerprint("POST", "/orders", b"not json", KEY) != fingerprint("POST", "/orders", b"not  json", KEY)
    assert fingerprint("POST", "/orders", b"", KEY) != fingerprint("POST", "/orders", b"{}", KEY)
    # a JSON text whose canonical form equals another body's raw bytes is still another request
    assert canonical_body(b'{"a":1}', KEY) != canonical_body(b"{'a':1}", KEY)


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=10,
)


@given(st.dictionaries(st.text(max_size=4), _json, max_size=5))
def test_any_spelling_of_one_object_has_one_fingerprint(data: dict[str, object]) -> None:
    reordered = dict(reversed(list(data.items())))
    pretty = orjson.dumps(reordered, option=orjson.OPT_INDENT_2)
    assert fingerprint("POST", "/orders", pretty, KEY) == fingerprint("POST", "/orders", orjson.dumps(data), KEY)


def test_every_documented_post_takes_the_header_and_documents_its_refusals() -> None:
    # the API's POSTs; the hosted checkout pages' forms (`/l/…`, `/checkout/…`) are a browser's, which sends no
    # such header
    posts = {
        path: item["post"]
        for path, item in document()["paths"].items()
        if "post" in item and not path.startswith(("/l/", "/checkout/"))
    }
    assert {"/orders", "/payments/initiate"} <= posts.keys()
    for path, operation in posts.items():
        assert any(p["in"] == "header" and p["name"] == HEADER for p in operation["parameters"]), path
        responses = operation["responses"]
        assert "IDEMPOTENCY_KEY_IN_USE" in responses["409"]["description"], path
        assert "Retry-After" in responses["409"]["headers"], path
        assert "IDEMPOTENCY_KEY_REUSED" in responses["422"]["description"], path
        created = next(answer for code, answer in responses.items() if code.startswith("2"))
        assert "Idempotent-Replayed" in created["headers"], path
