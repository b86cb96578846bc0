"""Who is asking: the client's address behind trusted proxies, CIDR lists from the configuration,
and the key a client is rate-limited by.

`X-Forwarded-For` is written by whoever sent the request, so it is believed only from a peer that is
a trusted proxy, and then read from the right: each trusted proxy appends the address it received
from, so the right-most address that is not itself a trusted proxy is the first one no proxy of
ours vouches for. Anything to the left of it could have been made up by the client.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from typing import Annotated

from pydantic import AfterValidator

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# one IPv6 host usually holds a whole /64, so limiting single addresses would not limit it
IPV6_LIMIT_PREFIX = 64


def parse_cidrs(raw: str) -> tuple[IPNetwork, ...]:
    """Comma-separated CIDRs (a bare address is a /32 or /128); ValueError naming the bad entry.

    Host bits set (`10.0.0.1/8`) are refused rather than masked: such a typo usually means the
    operator meant something else, and guessing would widen or narrow an allowlist silently.
    """
    networks: list[IPNetwork] = []
    for n, item in enumerate(part.strip() for part in raw.split(",")):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=True))
        except ValueError:
            raise ValueError(f"entry {n + 1} ({item!r}) is not a CIDR such as 10.0.0.0/8 or ::1/128") from None
    return tuple(networks)


def _cidrs_valid(value: str) -> str:
    parse_cidrs(value)
    return value


# a setting holding CIDRs: a service refuses to start, naming the variable and the entry, when one is bad
Cidrs = Annotated[str, AfterValidator(_cidrs_valid)]


def parse_address(raw: str | None) -> IPAddress | None:
    """An address as a socket or a proxy reports it, or None. IPv4-mapped IPv6 (`::ffff:1.2.3.4`, what a
    dual-stack socket reports) becomes the IPv4 address, so IPv4 CIDRs match it; brackets and a port
    (`[::1]:443`, `1.2.3.4:5678`, written by some proxies) are dropped."""
    if not raw:
        return None
    text = raw.strip()
    if text.startswith("["):
        text = text[1 : text.find("]")] if "]" in text else ""
    elif text.count(":") == 1:  # IPv4 with a port; IPv6 has at least two colons
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def within(address: IPAddress, networks: Iterable[IPNetwork]) -> bool:
    # `in` across versions is simply False
    return any(address in network for network in networks)


def client_address(
    peer: str | None, forwarded_for: Sequence[str], trusted_proxies: Sequence[IPNetwork]
) -> IPAddress | None:
    """The client's address, or None when it cannot be told (no peer address, or a trusted proxy
    forwarded a malformed `X-Forwarded-For` entry where the client's address should be).

    `forwarded_for` is every `X-Forwarded-For` header in the order received (several headers are one
    list, comma-joined, per RFC 9110).
    """
    address = parse_address(peer)
    if address is None or not within(address, trusted_proxies):
        return address
    hops = [hop.strip() for header in forwarded_for for hop in header.split(",") if hop.strip()]
    for hop in reversed(hops):
        hop_address = parse_address(hop)
        if hop_address is None:
            # the first address no trusted proxy vouches for is garbage: refuse to guess
            return None
        address = hop_address
        if not within(address, trusted_proxies):
            return address
    # every hop is a trusted proxy (or there is none): the request started at the left-most one
    return address


def limit_key(address: IPAddress) -> str:
    """What a source is rate-limited by: its IPv4 address, or its IPv6 /64."""
    if isinstance(address, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((address, IPV6_LIMIT_PREFIX), strict=False))
    return str(address)
