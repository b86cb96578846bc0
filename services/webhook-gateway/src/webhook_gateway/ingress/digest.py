"""The optional `Content-Digest` of a webhook (RFC 9530): when the sender gives one, the body must match it.

The header is a structured-field dictionary (RFC 8941) of algorithm → byte sequence, such as
`sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:`. Every supported algorithm listed must match
the raw body; algorithms this gateway does not know are ignored, and a header listing none it knows
counts as absent. A header that does not parse is refused, where RFC 8941 would ignore it: it was sent
to protect the body, and silently skipping it would hide a broken sender.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from aiohttp import web

from payments_common.errors import ApiError, bad_request
from payments_common.logging import get_logger

log = get_logger(__name__)

HEADER = "Content-Digest"
ALGORITHMS: Mapping[str, Callable[[bytes], bytes]] = {
    "sha-256": lambda body: hashlib.sha256(body).digest(),
    "sha-512": lambda body: hashlib.sha512(body).digest(),
}
# a header is a few hundred bytes at most; anything far longer is not worth parsing
MAX_HEADER_LENGTH = 4096


class ContentDigestError(ValueError):
    """Why a Content-Digest was refused; never carries the digest itself, safe to answer."""


@dataclass(frozen=True, slots=True)
class _Member:
    value: object
    params: dict[str, object]


class _Parser:
    """RFC 8941's dictionary parsing, enough to step over any member: only byte sequences are used."""

    _KEY = re.compile(r"[a-z*][a-z0-9_\-.*]*")
    _TOKEN = re.compile(r"[A-Za-z*][A-Za-z0-9!#$%&'*+\-.^_`|~:/]*")
    _NUMBER = re.compile(r"-?[0-9]{1,15}(?:\.[0-9]{1,3})?")
    _BYTES = re.compile(r":([A-Za-z0-9+/=]*):")
    _BOOLEAN = re.compile(r"\?[01]")

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self) -> ContentDigestError:
        return ContentDigestError(f"{HEADER} is not a structured-field dictionary (RFC 9530)")

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def skip(self, characters: str) -> None:
        while self.peek() and self.peek() in characters:
            self.pos += 1

    def match(self, pattern: re.Pattern[str]) -> re.Match[str]:
        found = pattern.match(self.text, self.pos)
        if found is None:
            raise self.fail()
        self.pos = found.end()
        return found

    def dictionary(self) -> dict[str, _Member]:
        members: dict[str, _Member] = {}
        self.skip(" ")
        while self.pos < len(self.text):
            key = self.match(self._KEY).group()
            if self.peek() == "=":
                self.pos += 1
                members[key] = self.member()
            else:
                members[key] = _Member(True, self.parameters())
            self.skip(" \t")
            if self.pos == len(self.text):
                return members
            if self.peek() != ",":
                raise self.fail()
            self.pos += 1
            self.skip(" \t")
            if self.pos == len(self.text):
                raise self.fail()  # a trailing comma
        return members

    def member(self) -> _Member:
        if self.peek() != "(":
            value = self.bare_item()
            return _Member(value, self.parameters())
        self.pos += 1
        items: list[object] = []
        while True:
            self.skip(" ")
            if self.peek() == ")":
                self.pos += 1
                return _Member(items, self.parameters())
            items.append(self.bare_item())
            self.parameters()
            if self.peek() not in (" ", ")"):
                raise self.fail()

    def parameters(self) -> dict[str, object]:
        params: dict[str, object] = {}
        while self.peek() == ";":
            self.pos += 1
            self.skip(" ")
            key = self.match(self._KEY).group()
            value: object = True
            if self.peek() == "=":
                self.pos += 1
                value = self.bare_item()
            params[key] = value
        return params

    def bare_item(self) -> object:
        first = self.peek()
        if first == ":":
            encoded = self.match(self._BYTES).group(1)
            try:
                return base64.b64decode(encoded, validate=True)
            except (binascii.Error, ValueError):
                raise self.fail() from None
        if first == '"':
            return self.string()
        if first == "?":
            return self.match(self._BOOLEAN).group() == "?1"
        if first == "-" or first.isdigit():
            return self.match(self._NUMBER).group()
        if first == "@":
            self.pos += 1
            return self.match(self._NUMBER).group()
        return self.match(self._TOKEN).group()

    def string(self) -> str:
        self.pos += 1
        chars: list[str] = []
        while self.pos < len(self.text):
            char = self.text[self.pos]
            self.pos += 1
            if char == "\\":
                escaped = self.peek()
                if escaped not in ('"', "\\"):
                    raise self.fail()
                chars.append(escaped)
                self.pos += 1
            elif char == '"':
                return "".join(chars)
            elif not (" " <= char <= "~"):
                raise self.fail()
            else:
                chars.append(char)
        raise self.fail()


def parse(value: str) -> dict[str, _Member]:
    """The dictionary of a Content-Digest value, or ContentDigestError."""
    if len(value) > MAX_HEADER_LENGTH or not value.isascii():
        raise ContentDigestError(f"{HEADER} is not a structured-field dictionary (RFC 9530)")
    return _Parser(value).dictionary()


def verify(header_values: list[str], body: bytes) -> list[str]:
    """The supported algorithms that were checked (none: the header is absent or names none we know).

    Raises ContentDigestError when a listed digest does not match `body` or the header is malformed.
    Several header lines are one list, joined as HTTP joins them.
    """
    if not header_values:
        return []
    members = parse(", ".join(header_values))
    checked: list[str] = []
    matched = True
    for algorithm, digest in ALGORITHMS.items():
        member = members.get(algorithm)
        if member is None:
            continue
        if not isinstance(member.value, bytes):
            raise ContentDigestError(f"{HEADER} {algorithm} is not a byte sequence (:base64:)")
        # every listed digest is compared, with no early exit, each in constant time
        matched &= hmac.compare_digest(digest(body), member.value)
        checked.append(algorithm)
    if not matched:
        raise ContentDigestError(f"{HEADER} does not match the body")
    return checked


def require_match(request: web.Request, body: bytes) -> None:
    """The view's one call: a 400 with `field: Content-Digest` when a given digest is wrong."""
    try:
        verify(request.headers.getall(HEADER, []), body)
    except ContentDigestError as exc:
        error: ApiError = bad_request(str(exc), HEADER)
        log.warning("webhook.rejected", reason="content_digest", code=error.code, detail=error.description)
        raise error from None
