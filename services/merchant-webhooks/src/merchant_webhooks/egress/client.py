"""The HTTP client of merchants' endpoints: one POST, judged by the egress rules before it leaves.

The session connects only to addresses the vetted resolver handed it (and to address literals `check_url`
accepted), never follows a redirect, reads at most a small cap of the answer, keeps no cookies (one
merchant's endpoint must not set what another's receives), and ignores proxy settings of the environment.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import aiohttp
from aiohttp.abc import AbstractResolver

from merchant_webhooks.deliveries.domain import ERROR_CAP_CHARS, RESPONSE_BODY_CAP_BYTES
from merchant_webhooks.egress.domain import EgressRules, RefusedUrl, check_url
from merchant_webhooks.egress.resolver import RefusedAddress, VettedResolver

USER_AGENT = "payments-merchant-webhooks/1"


@dataclass(frozen=True, slots=True)
class Answer:
    """What became of one POST: `status` None when no answer came, then `error` says why."""

    status: int | None
    seconds: float
    error: str | None
    body: str | None


def _error_of(exc: BaseException) -> str:
    if isinstance(exc, aiohttp.ClientConnectorError) and isinstance(exc.os_error, RefusedAddress):
        return f"refused: {exc.os_error}"
    if isinstance(exc, RefusedUrl):
        return f"refused: {exc}"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"connection failed: {exc.os_error.strerror or type(exc.os_error).__name__}"
    # the class, not the text: an exception's text may quote the URL, and its query may be a credential
    return f"request failed: {type(exc).__name__}"


class EndpointClient:
    def __init__(
        self, rules: EgressRules, *, timeout_seconds: float, limit: int, inner: AbstractResolver | None = None
    ) -> None:
        self._rules = rules
        self._timeout = timeout_seconds
        self.resolver = VettedResolver(rules, inner)
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(resolver=self.resolver, use_dns_cache=False, limit=limit),
            timeout=aiohttp.ClientTimeout(total=timeout_seconds),
            cookie_jar=aiohttp.DummyCookieJar(),
            trust_env=False,
            headers={"User-Agent": USER_AGENT},
        )

    async def close(self) -> None:
        await self._session.close()

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> Answer:
        started = time.perf_counter()
        status: int | None = None
        text: str | None = None
        error: str | None = None
        try:
            # again at every attempt: the rules may have changed since the URL was registered, and an
            # address literal is never seen by the resolver
            check_url(url, self._rules)
            async with asyncio.timeout(self._timeout):
                async with self._session.post(url, data=body, headers=headers, allow_redirects=False) as response:
                    status = response.status
                    chunk = await response.content.read(RESPONSE_BODY_CAP_BYTES)
                    text = chunk.decode("utf-8", "replace").replace("\x00", "")
        except TimeoutError:
            error = f"no answer within {self._timeout:g} s"
        except (aiohttp.ClientError, RefusedUrl, OSError) as exc:
            error = _error_of(exc)
        if status is not None and 300 <= status < 400:
            error = f"redirect ({status}) not followed"
        elif status is not None and not 200 <= status < 300:
            error = f"answered {status}"
        return Answer(
            status=status,
            seconds=time.perf_counter() - started,
            error=error[:ERROR_CAP_CHARS] if error else None,
            body=text,
        )
