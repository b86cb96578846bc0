"""The client's address behind trusted proxies, CIDR settings, and the key a source is limited by."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from payments_common import service
from payments_common.client_address import client_address, limit_key, parse_address, parse_cidrs
from webhook_gateway.settings import Settings as GatewaySettings

PROXIES = parse_cidrs("10.0.0.0/8,fd00::/8")


def resolve(peer: str | None, *forwarded_for: str, proxies: Any = PROXIES) -> str | None:
    address = client_address(peer, list(forwarded_for), proxies)
    return None if address is None else str(address)


def test_without_trusted_proxies_the_peer_is_the_client_whatever_the_header_says() -> None:
    assert resolve("203.0.113.7", "127.0.0.1", proxies=()) == "203.0.113.7"
    assert resolve("127.0.0.1", "203.0.113.7", proxies=()) == "127.0.0.1"


def test_the_header_of_an_untrusted_peer_is_ignored() -> None:
    assert resolve("203.0.113.7", "10.1.1.1") == "203.0.113.7"


def test_a_trusted_proxy_names_the_client() -> None:
    assert resolve("10.0.0.2", "198.51.100.9") == "198.51.100.9"


def test_the_right_most_address_that_is_not_a_trusted_proxy_wins() -> None:
    # the client wrote "127.0.0.1" itself; our two proxies appended what they saw
    assert resolve("10.0.0.2", "127.0.0.1, 198.51.100.9, 10.0.0.3") == "198.51.100.9"


def test_several_headers_read_as_one_list_in_order() -> None:
    assert resolve("10.0.0.2", "127.0.0.1", "198.51.100.9, 10.0.0.3") == "198.51.100.9"
    assert resolve("10.0.0.2", "198.51.100.9", "127.0.0.1") == "127.0.0.1"


def test_only_trusted_proxies_in_the_chain_means_the_left_most_sent_it() -> None:
    assert resolve("10.0.0.2", "10.0.0.5, 10.0.0.3") == "10.0.0.5"
    assert resolve("10.0.0.2") == "10.0.0.2"  # a request of the proxy's own, with no header
    assert resolve("10.0.0.2", " , ") == "10.0.0.2"


@pytest.mark.parametrize(
    "header",
    ["not-an-address", "198.51.100.9, bogus", "198.51.100.9, 10.0.0.3, 999.1.1.1", "unknown", "1.2.3.4.5"],
)
def test_a_malformed_entry_where_the_client_should_be_leaves_it_unknown(header: str) -> None:
    assert resolve("10.0.0.2", header) is None


def test_garbage_left_of_the_client_does_not_matter() -> None:
    assert resolve("10.0.0.2", "bogus, 198.51.100.9") == "198.51.100.9"


def test_addresses_with_ports_brackets_and_ipv4_mapped_forms() -> None:
    assert resolve("10.0.0.2", "198.51.100.9:4711") == "198.51.100.9"
    assert resolve("10.0.0.2", "[2001:db8::7]:443") == "2001:db8::7"
    assert resolve("fd00::1", "2001:db8::7") == "2001:db8::7"
    # what a dual-stack socket reports for an IPv4 peer
    assert resolve("::ffff:10.0.0.2", "198.51.100.9") == "198.51.100.9"
    assert parse_address("::ffff:127.0.0.1") == ipaddress.ip_address("127.0.0.1")


@pytest.mark.parametrize("peer", [None, "", "not-an-address"])
def test_no_usable_peer_address_is_unknown(peer: str | None) -> None:
    assert resolve(peer, "198.51.100.9") is None


def test_ipv6_sources_are_limited_by_their_slash_64() -> None:
    first, second = parse_address("2001:db8:1:2::1"), parse_address("2001:db8:1:2:ffff::9")
    assert first is not None and second is not None
    assert limit_key(first) == limit_key(second) == "2001:db8:1:2::/64"
    other = parse_address("2001:db8:1:3::1")
    assert other is not None and limit_key(other) != limit_key(first)
    v4 = parse_address("198.51.100.9")
    assert v4 is not None and limit_key(v4) == "198.51.100.9"


def test_cidr_lists_parse_ipv4_ipv6_and_bare_addresses() -> None:
    networks = parse_cidrs(" 127.0.0.0/8, ::1/128 ,192.0.2.10,, ")
    assert [str(n) for n in networks] == ["127.0.0.0/8", "::1/128", "192.0.2.10/32"]
    assert parse_cidrs("") == ()


@pytest.mark.parametrize("raw", ["10.0.0.0/33", "10.0.0.1/8", "localhost", "10.0.0.0/8,fe80::/129"])
def test_a_bad_cidr_is_named_by_its_position(raw: str) -> None:
    with pytest.raises(ValueError, match="entry"):
        parse_cidrs(raw)


def gateway_settings(**overrides: Any) -> GatewaySettings:
    return GatewaySettings(
        WEBHOOK_SECRETS=SecretStr("whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY"),
        PAYMENT_SIGNING_SECRET=SecretStr("payment-secret"),
        **overrides,
    )


def test_the_allowlist_defaults_to_loopback_and_no_proxy_is_trusted() -> None:
    settings = gateway_settings()
    assert [str(n) for n in parse_cidrs(settings.WEBHOOK_ALLOWED_CIDRS)] == ["127.0.0.0/8", "::1/128"]
    assert parse_cidrs(settings.TRUSTED_PROXIES) == ()


@pytest.mark.parametrize("variable", ["WEBHOOK_ALLOWED_CIDRS", "TRUSTED_PROXIES"])
def test_settings_refuse_a_bad_cidr(variable: str) -> None:
    with pytest.raises(ValidationError, match=variable):
        gateway_settings(**{variable: "10.0.0.0/8,10.0.0.300/32"})


def test_the_gateway_refuses_to_start_with_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in GatewaySettings.model_fields:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WEBHOOK_SECRETS", "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY")
    monkeypatch.setenv("PAYMENT_SIGNING_SECRET", "payment-secret-value")
    monkeypatch.setenv("WEBHOOK_ALLOWED_CIDRS", "127.0.0.0/8,192.168.1.0/33")
    with pytest.raises(SystemExit) as stopped:
        service.load_settings("webhook-gateway", GatewaySettings)
    assert stopped.value.code == 2
    out = capsys.readouterr()
    lines = out.err.strip().splitlines()
    assert len(lines) == 1, out.err
    assert lines[0].startswith("webhook-gateway: WEBHOOK_ALLOWED_CIDRS:")
    assert "entry 2" in lines[0] and "192.168.1.0/33" in lines[0]
    assert "payment-secret-value" not in out.err + out.out
