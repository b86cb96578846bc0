"""Which URLs an endpoint may have and which addresses a delivery may connect to. An endpoint's URL is the
merchant's input, and the process sits inside our network: without these rules an endpoint could make it
call our own services, the database's port or the cloud's metadata address (server-side request forgery)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from yarl import URL

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# RFC 6598, carrier-grade NAT: not private by Python's reckoning, yet often inside a cloud's network
SHARED_ADDRESS_SPACE = ipaddress.ip_network("100.64.0.0/10")


class RefusedUrl(ValueError):
    """The URL, or an address its host resolves to, may not be called; the message says why."""


@dataclass(frozen=True, slots=True)
class EgressRules:
    # hosts (lower-case names or address literals) that may be called over plain http and may be loopback:
    # local runs and tests only, where the receivers listen on 127.0.0.1
    allowed_http_hosts: frozenset[str] = frozenset()

    def trusts(self, host: str) -> bool:
        return _normal_host(host) in self.allowed_http_hosts


@dataclass(frozen=True, slots=True)
class Target:
    """A URL that passed the rules: the host to resolve (or the address it names) and its port."""

    url: URL
    host: str
    port: int
    literal: IpAddress | None


def parse_hosts(raw: str) -> frozenset[str]:
    """`WEBHOOK_ALLOWED_HTTP_HOSTS`: comma-separated host names or addresses."""
    return frozenset(_normal_host(part) for part in raw.split(",") if part.strip())


def _normal_host(host: str) -> str:
    return host.strip().strip("[]").rstrip(".").lower()


def _literal(host: str) -> IpAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def check_url(raw: str, rules: EgressRules) -> Target:
    """The URL's shape: https (http only to an allowed host), a host, no credentials, no fragment."""
    try:
        url = URL(raw)
    except (ValueError, TypeError):
        raise RefusedUrl("url is not a valid URL") from None
    if not url.is_absolute() or url.scheme not in ("https", "http") or not url.raw_host:
        raise RefusedUrl("url must be an absolute https URL")
    host = _normal_host(url.raw_host)
    if url.scheme == "http" and host not in rules.allowed_http_hosts:
        raise RefusedUrl("url must use https")
    if url.raw_user is not None or url.raw_password is not None:
        raise RefusedUrl("url must not carry credentials")
    if url.raw_fragment:
        raise RefusedUrl("url must not carry a fragment")
    if url.port is None:
        raise RefusedUrl("url has no port")
    literal = _literal(host)
    if literal is not None:
        check_address(literal, trusted=rules.trusts(host))
    return Target(url=url, host=host, port=url.port, literal=literal)


def address_refusal(address: IpAddress) -> str | None:
    """Why a delivery may not connect to `address` (None: it is a public unicast address)."""
    if isinstance(address, ipaddress.IPv6Address):
        # ::ffff:10.0.0.1 reaches 10.0.0.1: judged as the IPv4 address it carries
        mapped = address.ipv4_mapped or address.sixtofour
        if mapped is not None:
            return address_refusal(mapped)
    checks = (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
    )
    if address in SHARED_ADDRESS_SPACE:
        return "shared address space"
    for name, hit in checks:
        if hit:
            return name
    # what is left and still not globally routable: the other special-purpose ranges
    if not address.is_global:
        return "special-purpose"
    return None


def check_address(address: IpAddress, *, trusted: bool) -> None:
    """Refuse `address` unless it is public; an allowed host (`trusted`) may also be loopback."""
    refusal = address_refusal(address)
    if refusal is None or (trusted and refusal == "loopback"):
        return
    raise RefusedUrl(f"url resolves to a {refusal} address, which webhooks may not be sent to")
