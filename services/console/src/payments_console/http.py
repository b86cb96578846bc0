"""The console's HTTP plumbing: the template environment, rendering a page (or, for a page's own refresh,
only its content), the security headers every answer carries, and error pages."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import jinja2
from aiohttp import web

from payments_common.logging import get_logger
from payments_common.money import format_amount
from payments_console.auth.service import Session

log = get_logger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
TEMPLATES = web.AppKey("templates", jinja2.Environment)
REFRESH_SECONDS = web.AppKey("refresh_seconds", float)
SESSION = web.RequestKey("session", Session)
# a page's own refresh asks with this header and gets the content block alone
POLL_HEADER = "X-Console-Poll"
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"

# scripts and styles only from the console itself: no inline script, nothing framed, forms post home
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def _money(amount: int | None, currency: str | None) -> str:
    if amount is None:
        return "—"
    if not currency:
        return str(amount)
    try:
        return format_amount(int(amount), currency)
    except (KeyError, ValueError):
        return f"{amount} {currency}"


def _when(moment: datetime | str | None) -> str:
    if moment is None:
        return "—"
    if isinstance(moment, str):
        return moment
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _seconds(value: float | None) -> str:
    if value is None:
        return "—"
    if value < 1:
        return f"{value * 1000:.0f} ms"
    if value < 120:
        return f"{value:.1f} s"
    if value < 7200:
        return f"{value / 60:.1f} min"
    return f"{value / 3600:.1f} h"


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("payments_console", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(money=_money, when=_when, seconds=_seconds, percent=_percent)
    return env


def render_text(env: jinja2.Environment, name: str, context: Mapping[str, Any], *, fragment: bool = False) -> str:
    """A whole page, or with `fragment` only its `content` block (what a page's refresh swaps in)."""
    template = env.get_template(name)
    if fragment:
        return "".join(template.blocks["content"](template.new_context(dict(context))))
    return template.render(context)


def page_context(request: web.Request) -> dict[str, Any]:
    """What every page's layout needs: who is signed in, the CSRF token for its forms, the refresh rate."""
    session = request.get(SESSION)
    return {
        "operator": session.operator if session else None,
        "csrf_token": session.csrf_token if session else "",
        "refresh_seconds": request.app[REFRESH_SECONDS],
        "path": request.path,
    }


def render(request: web.Request, name: str, context: Mapping[str, Any], *, status: int = 200) -> web.Response:
    fragment = request.headers.get(POLL_HEADER) == "1"
    text = render_text(request.app[TEMPLATES], name, {**page_context(request), **context}, fragment=fragment)
    return web.Response(text=text, status=status, content_type="text/html", charset="utf-8")


def redirect(location: str) -> web.Response:
    """303 See Other: after a POST the browser GETs the next page."""
    return web.Response(status=303, headers={"Location": location})


def error_page(request: web.Request, status: int, title: str, detail: str) -> web.Response:
    return render(request, "error.html", {"title": title, "detail": detail}, status=status)


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        response = exc
        if exc.status >= 400 and exc.status != 405:
            response = error_page(request, exc.status, exc.reason, "")
    except Exception:
        log.exception("console.unhandled_error", path=request.path, method=request.method)
        response = error_page(request, 500, "Something went wrong", "The error has been logged.")
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if not request.path.startswith("/static/"):
        headers.setdefault("Cache-Control", "no-store")
    if isinstance(response, web.HTTPException):
        # what aiohttp raised itself (a 304 of a static file, a 405) is answered, not re-raised
        return web.Response(status=response.status, headers=response.headers, text=response.text or None)
    return response


async def form_of(request: web.Request) -> dict[str, list[str]]:
    """The urlencoded form, every value of each field kept (checkbox lists)."""
    data = await request.post()
    form: dict[str, list[str]] = {}
    for key, value in data.items():
        if isinstance(value, str):
            form.setdefault(key, []).append(value)
    return form


def first(form: Mapping[str, list[str]], name: str, default: str = "") -> str:
    values = form.get(name)
    return values[0] if values else default
