"""The window an analytics page covers, from its query, and the bucket its charts use. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

PRESETS = {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(days=7)}
# a custom window at most this long, so a chart stays a chart (per hour: 2,232 points)
MAX_WINDOW = timedelta(days=93)
# up to this long, buckets of a minute; beyond it, of an hour
MINUTE_BUCKETS_UP_TO = timedelta(hours=6)


class WindowError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Window:
    preset: str
    since: datetime
    until: datetime
    merchant: str | None

    @property
    def bucket(self) -> str:
        return "minute" if self.until - self.since <= MINUTE_BUCKETS_UP_TO else "hour"


def parse_time(raw: str, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        raise WindowError(f"{name} is not a date and time such as 2025-01-31T09:00") from None
    # a browser's datetime-local input has no zone: the console shows and reads UTC
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def window_of(query: Mapping[str, str], now: datetime) -> Window:
    preset = query.get("window", "day")
    merchant = (query.get("merchant") or "").strip() or None
    if merchant is not None and (len(merchant) > 64 or not merchant.isprintable()):
        raise WindowError("merchant is not a merchant id")
    if preset in PRESETS:
        return Window(preset, now - PRESETS[preset], now, merchant)
    if preset != "custom":
        raise WindowError("window is one of hour, day, week, custom")
    since = parse_time(query.get("from", ""), "from")
    until = parse_time(query.get("to", ""), "to") if query.get("to") else now
    if until <= since:
        raise WindowError("from must be before to")
    if until - since > MAX_WINDOW:
        raise WindowError(f"a window is at most {MAX_WINDOW.days} days")
    return Window("custom", since, until, merchant)
