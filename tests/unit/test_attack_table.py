"""The attack table's own logic: verdicts, what counts as a change, the allowlist routes it can take."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from payments_common.client_address import parse_cidrs
from tests.security.attacks import REFUSED, Outcome, Row, allowlist_routes, table, verdict
from tests.security.snapshot import changes


@pytest.mark.parametrize(
    ("statuses", "expected", "changed", "result"),
    [
        ({400: 3, 429: 2}, REFUSED, [], "ok"),
        ({400: 2, 502: 1}, REFUSED, [], "5XX"),
        # a change outweighs answers that looked right
        ({400: 3}, REFUSED, ["payments.inbox rows: 0 -> 1"], "CHANGED"),
        ({400: 1, 200: 1}, REFUSED, [], "UNEXPECTED"),
        ({200: 5}, frozenset({200}), [], "ok"),
        # no answer at all (the connection closed) is not what was expected of it
        ({0: 1}, REFUSED, [], "UNEXPECTED"),
    ],
)
def test_verdict(statuses: dict[int, int], expected: frozenset[int], changed: list[str], result: str) -> None:
    assert verdict(Outcome(Counter(statuses)), expected, changed) == result


def test_changes_name_each_differing_entry() -> None:
    before = {"payments.payments statuses": {"pay_1": "INITIATED", "pay_2": "INITIATED"}, "payments.inbox rows": 0}
    after = {"payments.payments statuses": {"pay_1": "SUCCESS", "pay_2": "INITIATED"}, "payments.inbox rows": 1}
    assert changes(before, after) == [
        "payments.inbox rows: 0 -> 1",
        "payments.payments statuses[pay_1]: INITIATED -> SUCCESS",
    ]
    assert changes(before, before) == []


def test_allowlist_routes_follow_the_gateways_settings() -> None:
    # the gateway's default admits every loopback address and believes no proxy: no way in from outside here
    assert allowlist_routes(parse_cidrs("127.0.0.0/8,::1/128"), ()) == []
    narrowed = allowlist_routes(parse_cidrs("127.0.0.1/32"), ())
    assert [(r.source, r.forwarded_for) for r in narrowed] == [("127.0.0.2", None), ("127.0.0.2", "127.0.0.1")]
    proxied = allowlist_routes(parse_cidrs("127.0.0.1/32"), parse_cidrs("127.0.0.1/32"))
    assert (None, "203.0.113.9") in [(r.source, r.forwarded_for) for r in proxied]


def test_table_lists_every_row_with_its_answers() -> None:
    rows = [
        Row("forged signature", 7, {"400": 7}, False, [], "ok", [400, 429], ""),
        Row("outside the allowlist", 0, {}, None, [], "not run", [403], "every local address is allowed"),
    ]
    rendered = table(rows).splitlines()
    assert rendered[0].split()[:2] == ["attack", "requests"]
    assert "400x7" in rendered[2] and rendered[2].split()[-1] == "ok"
    assert "not run" in rendered[3] and "every local address is allowed" in rendered[3]
