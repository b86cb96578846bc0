"""Moments between the native API's ISO 8601 and /v1's Unix seconds, which the shared use cases count in."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime

from order_svc.v1.schemas import MAX_UNIX


def _storable(value: datetime) -> datetime:
    if not 0 <= value.timestamp() <= MAX_UNIX:
        raise ValueError("must be between 1970 and 2286")
    return value


# a moment a client names: with its offset (a naive time is refused), and one /v1's Unix seconds can hold
Moment = Annotated[AwareDatetime, AfterValidator(_storable)]


def seconds(value: datetime) -> int:
    """Unix seconds, rounded up: a moment a fraction of a second ahead is not made one in the past."""
    return math.ceil(value.timestamp())


def moment(value: int) -> datetime:
    return datetime.fromtimestamp(value, UTC)


def maybe_moment(value: int | None) -> datetime | None:
    """`moment`, or None where /v1 has none."""
    return None if value is None else moment(value)
