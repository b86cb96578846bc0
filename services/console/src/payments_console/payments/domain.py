"""Which search a query asks for: the filters payment-svc's `GET /admin/payments` takes. Pure."""

from __future__ import annotations

from collections.abc import Mapping

from payments_common.timeutil import iso
from payments_console.analytics.domain import WindowError, parse_time

STATUSES = ("INITIATED", "SUCCESS", "FAILED")
METHODS = ("card", "upi", "wallet", "netbanking")
MAX_ID = 100


class SearchError(ValueError):
    pass


def search_params(query: Mapping[str, str]) -> dict[str, str] | None:
    """The admin API's query for a page's query; None when nothing was asked (the page shows the form)."""
    params: dict[str, str] = {}
    ident = query.get("id", "").strip()
    if ident:
        if len(ident) > MAX_ID or not ident.isprintable():
            raise SearchError("that is not an id")
        params["id"] = ident
    merchant = query.get("merchant", "").strip()
    if merchant:
        params["merchant"] = merchant[:64]
    status = query.get("status", "")
    if status:
        if status not in STATUSES:
            raise SearchError("status is one of " + ", ".join(STATUSES))
        params["status"] = status
    method = query.get("method", "")
    if method:
        if method not in METHODS:
            raise SearchError("method is one of " + ", ".join(METHODS))
        params["method"] = method
    for name in ("from", "to"):
        raw = query.get(name, "").strip()
        if raw:
            try:
                params[name] = iso(parse_time(raw, name))
            except WindowError as exc:
                raise SearchError(str(exc)) from None
    if not params and query.get("recent") != "1":
        return None
    params["limit"] = "100"
    return params
