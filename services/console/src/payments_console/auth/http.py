"""The login and logout views, and the middleware that lets a request in: a live session for every page,
and the session's CSRF token on every state-changing request."""

from __future__ import annotations

import secrets
from typing import Any

from aiohttp import web
from pydantic import ValidationError
from yarl import URL

from payments_common import observability
from payments_common.logging import get_logger
from payments_common.ratelimit import retry_after_header
from payments_console.auth import service
from payments_console.auth.domain import csrf_matches, valid_name
from payments_console.auth.schemas import LoginForm
from payments_console.auth.service import Auth, Refused, SignedIn
from payments_console.http import (
    CSRF_FIELD,
    CSRF_HEADER,
    POLL_HEADER,
    SESSION,
    Handler,
    error_page,
    first,
    form_of,
    redirect,
    render,
)

log = get_logger(__name__)

AUTH = web.AppKey("auth", Auth)
# before a session exists the login form is protected by a double-submitted token of its own
LOGIN_COOKIE = "console_login"
# the probes and /metrics (payments_common.observability) too, which ask no credential
PUBLIC = ("/login", "/static/", *sorted(observability.PUBLIC_PATHS))
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class CookiePolicy:
    """The session cookie: HttpOnly, SameSite=Strict, Secure where served over https (`__Host-` then, so
    no subdomain and no http page can set it)."""

    def __init__(self, secure: bool, max_age: float) -> None:
        self.secure = secure
        self.name = "__Host-console_session" if secure else "console_session"
        self.max_age = int(max_age)

    def set(self, response: web.StreamResponse, name: str, value: str, *, max_age: int | None) -> None:
        response.set_cookie(
            name, value, path="/", max_age=max_age, secure=self.secure, httponly=True, samesite="Strict"
        )

    def clear(self, response: web.StreamResponse, name: str) -> None:
        response.del_cookie(name, path="/", secure=self.secure, httponly=True, samesite="Strict")


COOKIE = web.AppKey("cookie", CookiePolicy)


def safe_next(target: str) -> str:
    """Only a path of this console: never another host (`//evil`, `/\\evil`, `https://…`)."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target or any(c < " " for c in target):
        return "/"
    return target


def _address(request: web.Request) -> str:
    return request.remote or "unknown"


async def login_page(request: web.Request) -> web.StreamResponse:
    if request.get(SESSION):
        return redirect(safe_next(request.query.get("next", "/")))
    return _login_form(request, status=200, message=None, name="")


def _login_form(request: web.Request, *, status: int, message: str | None, name: str) -> web.Response:
    token = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(32)
    response = render(
        request,
        "login.html",
        {"login_token": token, "message": message, "name": name, "next": safe_next(request.query.get("next", "/"))},
        status=status,
    )
    request.app[COOKIE].set(response, LOGIN_COOKIE, token, max_age=3600)
    return response


async def login(request: web.Request) -> web.StreamResponse:
    form = await form_of(request)
    if not csrf_matches(request.cookies.get(LOGIN_COOKIE, ""), first(form, CSRF_FIELD) or None):
        return error_page(request, 403, "Forbidden", "The login form has expired; open it again.")
    try:
        data = LoginForm(name=first(form, "name"), password=first(form, "password"), next=first(form, "next", "/"))
    except ValidationError:
        return _login_form(request, status=400, message="Enter your name and password.", name="")
    if not valid_name(data.name):
        return _login_form(request, status=401, message="Wrong name or password.", name="")
    result = await service.login(request.app[AUTH], data.name, data.password, _address(request))
    if isinstance(result, SignedIn):
        log.info("console.login", operator=data.name, address=_address(request))
        response = redirect(safe_next(data.next))
        cookies = request.app[COOKIE]
        cookies.set(response, cookies.name, result.session.token, max_age=cookies.max_age)
        cookies.clear(response, LOGIN_COOKIE)
        return response
    if isinstance(result, Refused):
        log.info("console.login_refused", operator=data.name, address=_address(request))
        return _login_form(request, status=401, message="Wrong name or password.", name=data.name)
    log.warning("console.login_throttled", operator=data.name, address=_address(request))
    response = _login_form(
        request,
        status=429,
        message=f"Too many failed tries; wait {retry_after_header(result.retry_after)} s and try again.",
        name=data.name,
    )
    response.headers["Retry-After"] = retry_after_header(result.retry_after)
    return response


async def logout(request: web.Request) -> web.StreamResponse:
    session = request[SESSION]
    await service.logout(request.app[AUTH], session.token)
    log.info("console.logout", operator=session.operator)
    response = redirect("/login")
    request.app[COOKIE].clear(response, request.app[COOKIE].name)
    return response


def session_middleware() -> Any:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        polling = request.headers.get(POLL_HEADER) == "1"
        token = request.cookies.get(request.app[COOKIE].name)
        session = await service.current_session(request.app[AUTH], token, touch=not polling)
        if session is not None:
            request[SESSION] = session
        if request.path.startswith(PUBLIC):
            return await handler(request)
        if session is None:
            if request.method not in SAFE_METHODS:
                return error_page(request, 403, "Forbidden", "Sign in first.")
            if polling:
                return web.Response(status=401, text="signed out")
            target = URL("/login").with_query(next=request.rel_url.path_qs) if request.path != "/" else URL("/login")
            return redirect(str(target))
        if request.method not in SAFE_METHODS:
            given = request.headers.get(CSRF_HEADER) or first(await form_of(request), CSRF_FIELD) or None
            if not csrf_matches(session.csrf_token, given):
                log.warning("console.csrf_refused", operator=session.operator, path=request.path)
                return error_page(request, 403, "Forbidden", "This form is stale or did not come from the console.")
        return await handler(request)

    return middleware


def add_routes(app: web.Application) -> None:
    app.router.add_get("/login", login_page)
    app.router.add_post("/login", login)
    app.router.add_post("/logout", logout)
