"""What a page of a list is: its filters, its size, and where it starts. Pure: no I/O.

Lists are newest first, ordered by `(created_at, id)` descending: ids are unique, so the order is total and
a keyset cursor (the last row's `(created_at, id)`) continues exactly after the last row shown, whatever
was inserted meanwhile. A row inserted after a page was read is newer than every row of it (time moves
on), so it never appears in a later page and never pushes one along: no row is skipped or shown twice.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

MAX_PAGE = 100
DEFAULT_PAGE = 10
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Cursor:
    """The last row of a page: the next page starts strictly after it."""

    created_at: datetime
    id: str

    def encode(self) -> str:
        micros = (self.created_at - _EPOCH) // timedelta(microseconds=1)
        return base64.urlsafe_b64encode(f"{micros}:{self.id}".encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, value: str) -> Cursor | None:
        """None when `value` is not a cursor this service made."""
        if not value or len(value) > 200:
            return None
        try:
            raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode("ascii")
        except (binascii.Error, ValueError):
            return None
        micros, sep, row_id = raw.partition(":")
        if not sep or not row_id or not micros.lstrip("-").isdigit() or not row_id.isascii():
            return None
        try:
            return cls(_EPOCH + timedelta(microseconds=int(micros)), row_id)
        except OverflowError:
            return None


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a merchant's rows: at most `limit`, newest first, after `after` (keyset) or past
    `offset` rows (the /v1 `skip`), created in [`since`, `until`] and, when given, with `status`."""

    limit: int = DEFAULT_PAGE
    offset: int = 0
    after: Cursor | None = None
    since: datetime | None = None
    until: datetime | None = None
    status: str | None = None
    receipt: str | None = None


def next_cursor(rows: list[tuple[datetime, str]], limit: int) -> str | None:
    """The cursor of the page after this one; None when this one was the last (fewer rows than asked:
    one more row is read than shown, so a full last page is not followed by an empty one)."""
    if len(rows) <= limit:
        return None
    created_at, row_id = rows[limit - 1]
    return Cursor(created_at, row_id).encode()
