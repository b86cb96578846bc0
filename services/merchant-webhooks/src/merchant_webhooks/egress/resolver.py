"""The resolver of every outgoing call: a name is resolved once, and only addresses that pass the rules are
handed to the connector, which connects to exactly those. A name that resolved to a public address when the
endpoint was registered and to a private one now (DNS rebinding) is refused here, at connect time; TLS and
the Host header still use the name. Address literals never reach a resolver in aiohttp: `check_url` judges
them before every call."""

from __future__ import annotations

import asyncio
import ipaddress
import socket

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

from merchant_webhooks.egress.domain import EgressRules, RefusedUrl, Target, check_address, check_url

RESOLVE_TIMEOUT_SECONDS = 5.0


class RefusedAddress(OSError):
    """A name resolved to an address the rules refuse: aiohttp hands an OSError from the resolver back as a
    connection error, which fails the attempt without any connection made."""


class VettedResolver(AbstractResolver):
    """Resolves with `inner` and refuses the whole answer when any address in it is refused (a name that
    mixes public and private addresses is not one to trust with the public half)."""

    def __init__(self, rules: EgressRules, inner: AbstractResolver | None = None) -> None:
        self._rules = rules
        self._inner = inner

    def _resolver(self) -> AbstractResolver:
        if self._inner is None:
            self._inner = ThreadedResolver()
        return self._inner

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._resolver().resolve(host, port, family)
        if not results:
            raise RefusedAddress(f"{host} resolves to no address")
        trusted = self._rules.trusts(host)
        for result in results:
            # a scoped IPv6 address (fe80::1%eth0) is judged without its zone
            address = ipaddress.ip_address(result["host"].split("%", 1)[0])
            try:
                check_address(address, trusted=trusted)
            except RefusedUrl as refused:
                raise RefusedAddress(str(refused)) from None
        return results

    async def close(self) -> None:
        if self._inner is not None:
            await self._inner.close()


async def vet_url(raw: str, rules: EgressRules, resolver: VettedResolver) -> Target:
    """An endpoint URL at registration: its shape, and every address its host resolves to now."""
    target = check_url(raw, rules)
    if target.literal is not None:
        return target
    try:
        async with asyncio.timeout(RESOLVE_TIMEOUT_SECONDS):
            await resolver.resolve(target.host, target.port, socket.AF_UNSPEC)
    except RefusedAddress as refused:
        raise RefusedUrl(str(refused)) from None
    except (OSError, TimeoutError):
        raise RefusedUrl("url's host does not resolve") from None
    return target
