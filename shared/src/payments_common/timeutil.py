from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import PlainSerializer


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC with milliseconds and a `Z`, as the contract shows."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


# a datetime field of a pydantic model that JSON shows as `iso` writes it (the contract's form)
IsoDatetime = Annotated[datetime, PlainSerializer(iso, return_type=str, when_used="json")]
