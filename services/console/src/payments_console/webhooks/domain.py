"""Which deliveries a page's query asks for (the filters of merchant-webhooks' `GET /admin/webhook-deliveries`)
and which delivery a page's path names. Pure."""

from __future__ import annotations

from collections.abc import Mapping

STATUSES = ("pending", "delivered", "failed")
# the page's query names them as the admin API does: a merchant, an endpoint (`whep_…`), an event (`evt_…`)
FILTERS = ("merchant", "endpoint", "event")
MAX_ID = 100
# the admin API answers at most this many, newest first
LIMIT = 100


class FilterError(ValueError):
    pass


def _identifier(value: str, name: str) -> str:
    value = value.strip()
    if len(value) > MAX_ID or not value.isprintable():
        raise FilterError(f"{name} is not an id")
    return value


def delivery_filters(query: Mapping[str, str]) -> dict[str, str]:
    """The admin API's query for a page's query: only the known filters, each checked; none lists the latest."""
    params: dict[str, str] = {}
    status = query.get("status", "")
    if status:
        if status not in STATUSES:
            raise FilterError("status is one of " + ", ".join(STATUSES))
        params["status"] = status
    for name in FILTERS:
        value = _identifier(query.get(name, ""), name)
        if value:
            params[name] = value
    params["limit"] = str(LIMIT)
    return params


def delivery_id_of(raw: str) -> str | None:
    """A delivery id from a page's path, or None where it cannot be one (the page answers 404)."""
    try:
        value = _identifier(raw, "delivery")
    except FilterError:
        return None
    return value or None
