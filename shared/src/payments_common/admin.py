"""What the services' admin APIs share: the bearer guard of `/admin/` (`ADMIN_TOKEN`, compared in constant
time by `payments_common.bearer`; unset, every admin call is refused with 403) and the reading of their
query strings (an analytics window, a bounded integer, a flag)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, overload

from aiohttp import web
from pydantic import SecretStr

from payments_common.bearer import bearer_middleware
from payments_common.errors import bad_request
from payments_common.timeutil import utcnow

PREFIX = "/admin/"
BUCKETS = ("minute", "hour")
# a window is at most this long, and has at most this many buckets (a chart, not a table)
MAX_WINDOW = timedelta(days=93)
MAX_BUCKETS = 5000
DEFAULT_WINDOW = timedelta(days=1)


def admin_middleware(token: SecretStr | None) -> Any:
    """The guard of every route under `/admin/`: 401 without `ADMIN_TOKEN` as the bearer token, 403 when
    the service has none configured."""
    accepted = [token.get_secret_value().encode()] if token is not None and token.get_secret_value() else []
    return bearer_middleware(PREFIX, accepted, api="admin", setting="ADMIN_TOKEN")


def time_query(request: web.Request, name: str) -> datetime | None:
    raw = request.query.get(name)
    if raw is None or not raw.strip():
        return None
    try:
        moment = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        raise bad_request(f"{name} must be an ISO 8601 date and time with its offset", name) from None
    if moment.tzinfo is None:
        raise bad_request(f"{name} must carry its offset (Z or +hh:mm)", name)
    return moment


@overload
def int_query(request: web.Request, name: str, default: int, ceiling: int) -> int: ...
@overload
def int_query(request: web.Request, name: str, default: None, ceiling: int) -> int | None: ...
def int_query(request: web.Request, name: str, default: int | None, ceiling: int) -> int | None:
    """A whole number from 1 to `ceiling`; `default` when the query string has none."""
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise bad_request(f"{name} must be an integer", name) from None
    if not 1 <= value <= ceiling:
        raise bad_request(f"{name} must be between 1 and {ceiling}", name)
    return value


def text_query(request: web.Request, name: str, max_length: int = 100) -> str | None:
    raw = (request.query.get(name) or "").strip()
    if not raw:
        return None
    if len(raw) > max_length or not raw.isprintable():
        raise bad_request(f"{name} is at most {max_length} printable characters", name)
    return raw


@dataclass(frozen=True, slots=True)
class Window:
    """What an analytics answer covers: rows created in [since, until), of `merchant` when given, in
    buckets of a `bucket` (minute or hour)."""

    since: datetime
    until: datetime
    merchant: str | None
    bucket: str

    def echo(self) -> dict[str, Any]:
        return {"from": self.since, "to": self.until, "merchant": self.merchant, "bucket": self.bucket}


def window_query(request: web.Request) -> Window:
    """`from`, `to` (ISO 8601 with an offset; default: the last day), `merchant`, `bucket` (default hour)."""
    until = time_query(request, "to") or utcnow()
    since = time_query(request, "from") or until - DEFAULT_WINDOW
    if until <= since:
        raise bad_request("from must be before to", "from")
    if until - since > MAX_WINDOW:
        raise bad_request(f"a window is at most {MAX_WINDOW.days} days", "from")
    bucket = request.query.get("bucket", "hour")
    if bucket not in BUCKETS:
        raise bad_request("bucket is minute or hour", "bucket")
    step = timedelta(minutes=1) if bucket == "minute" else timedelta(hours=1)
    if (until - since) / step > MAX_BUCKETS:
        raise bad_request(f"at most {MAX_BUCKETS} buckets: use a longer bucket or a shorter window", "bucket")
    return Window(since, until, text_query(request, "merchant", 64), bucket)
