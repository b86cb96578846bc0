"""aiohttp pieces every service shares: JSON errors (never a stack trace), correlation ids, JSON
bodies that must be objects, input limits (body size, header size and count, JSON nesting, slow
clients), a health route, and the observability routes (payments_common.observability: /healthz,
/readyz, /metrics) with the HTTP metrics' middleware."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg
import orjson
import uuid_utils
from aiohttp import web
from pydantic import BaseModel, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from payments_common import observability
from payments_common.errors import SERVER_ERROR, SERVICE_UNAVAILABLE, ApiError, bad_request
from payments_common.logging import bound, get_logger

log = get_logger(__name__)

M = TypeVar("M", bound=BaseModel)

REQUEST_ID_HEADER = "X-Request-Id"
CORRELATION_ID = web.RequestKey("correlation_id", str)
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# statuses aiohttp raises itself, by the error code we answer them with
_HTTP_CODES = {
    400: "BAD_REQUEST_ERROR",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
}
REQUEST_TIMEOUT = "REQUEST_TIMEOUT"

# aiohttp's parser answers a request head over these limits itself, with a 400 and a closed connection
MAX_HEADER_COUNT = 64
# aiohttp has no timeout of its own for a request head: its keep-alive timer, armed at connect and
# after every response, is what closes a connection whose line and headers are still trickling in.
# It is also the idle timeout, kept above the 15 s for which aiohttp clients (the services' own)
# reuse an idle connection, so they never send on one the server is closing.
HEAD_AND_IDLE_TIMEOUT_SECONDS = 20.0
# after a 408 or 413, how long the rest of the body is read and dropped so the client sees the answer
# rather than a reset; a client still sending after that is cut off
LINGER_SECONDS = 2.0


class HttpLimits(BaseSettings):
    """Every service's input limits, from the environment (all optional; `MAX_BODY_BYTES` is the
    services' own setting)."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", case_sensitive=True, frozen=True)

    # one header's name or value, and the request line
    MAX_HEADER_BYTES: int = Field(default=8190, ge=1024, le=65536)
    # orjson alone refuses only past 1024; the check's pattern is spelled out per level, hence the cap
    MAX_JSON_DEPTH: int = Field(default=32, ge=2, le=256)
    # the whole body must arrive within this, counted from the end of the headers: 408 after it
    REQUEST_READ_TIMEOUT_SECONDS: float = Field(default=10.0, gt=0, le=300)

    def handler_args(self) -> dict[str, Any]:
        """aiohttp's per-connection options (`web.Application(handler_args=…)`)."""
        return {
            "max_line_size": self.MAX_HEADER_BYTES,
            "max_field_size": self.MAX_HEADER_BYTES,
            "max_headers": MAX_HEADER_COUNT,
            "keepalive_timeout": HEAD_AND_IDLE_TIMEOUT_SECONDS,
            "lingering_time": LINGER_SECONDS,
        }


HTTP_LIMITS = web.AppKey("http_limits", HttpLimits)
DEFAULT_MAX_JSON_DEPTH = HttpLimits.model_fields["MAX_JSON_DEPTH"].get_default()


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json", headers=headers)


# what a lost or restarting database raises; a connection refused surfaces as OSError
_UNAVAILABLE = (
    OSError,
    asyncpg.CannotConnectNowError,
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.TooManyConnectionsError,
)


def error_middleware(*, success_flag: bool = False) -> Any:
    """Every error is the contract's error object; with `success_flag`, `"success": false` beside it."""

    def render(error: ApiError) -> web.Response:
        body = error.body()
        if success_flag:
            body = {"success": False, **body}
        headers = {"WWW-Authenticate": 'Basic realm="payments"'} if error.status == 401 else None
        response = json_response(body, error.status, headers)
        if error.status == 408:
            # the rest of a body that came too slowly is not waited for
            response.force_close()
        return response

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except ApiError as error:
            return render(error)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            code = _HTTP_CODES.get(exc.status, "HTTP_ERROR")
            description = "request body is too large" if exc.status == 413 else exc.reason
            return render(ApiError(exc.status, code, description))
        except _UNAVAILABLE as exc:
            # the database is down or restarting: a client may retry, so say so rather than 500
            log.warning("http.dependency_unavailable", path=request.path, error=type(exc).__name__)
            response = render(ApiError(503, SERVICE_UNAVAILABLE, "temporarily unavailable; retry shortly"))
            response.headers["Retry-After"] = "1"
            return response
        except Exception:
            log.exception("http.unhandled_error", path=request.path, method=request.method)
            return render(ApiError(500, SERVER_ERROR, "internal error; it has been logged"))

    return middleware


@web.middleware
async def correlation_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    correlation_id = incoming if _REQUEST_ID.match(incoming) else f"req_{uuid_utils.uuid7().hex}"
    request[CORRELATION_ID] = correlation_id
    with bound(correlation_id=correlation_id):
        response = await handler(request)
    response.headers[REQUEST_ID_HEADER] = correlation_id
    return response


def body_middleware(read_timeout_seconds: float) -> Any:
    """Reads every body before the handler, under a deadline, so that a slow body is a 408, a body
    cut short (the connection closed before its announced length) is a quiet 400 to a socket that is
    gone, and a chunked body past `client_max_size` is a 413 like any other; handlers then read the
    body aiohttp keeps."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.body_exists:
            try:
                # a body already received whole (most are: they come with their headers) is read at
                # once, and a deadline would only cost a timer armed and cancelled on every request
                async with (
                    contextlib.nullcontext() if request.content.is_eof() else asyncio.timeout(read_timeout_seconds)
                ):
                    await request.read()
            except TimeoutError:
                log.warning("http.body_timeout", path=request.path, timeout_seconds=read_timeout_seconds)
                raise ApiError(
                    408, REQUEST_TIMEOUT, f"the request body did not arrive within {read_timeout_seconds:g} s"
                ) from None
            except (ConnectionResetError, web.RequestPayloadError) as exc:
                log.info("http.body_incomplete", path=request.path, error=type(exc).__name__)
                raise bad_request("the request body ended before it was complete") from None
        return await handler(request)

    return middleware


_NOT_BRACKETS_OR_QUOTES = bytes(sorted(set(range(256)) - set(b'[]{}"')))
_ONE_KIND_OF_BRACKET = bytes.maketrans(b"{}", b"[]")


@functools.lru_cache(maxsize=8)
def _groups_no_deeper_than(limit: int) -> re.Pattern[bytes]:
    """Balanced brackets nested at most `limit` deep, one after the other. Each level is spelled out
    (so `limit` is bounded: the pattern compiler recurses per level) and every repetition is
    possessive: the match is a single left-to-right pass that never backtracks."""
    group = rb"\[\]"
    for _ in range(limit - 1):
        group = rb"\[(?:" + group + rb")*+\]"
    return re.compile(rb"(?:" + group + rb")*+")


def json_nesting_exceeds(raw: bytes, limit: int) -> bool:
    """True when the JSON text `raw` nests arrays and objects deeper than `limit`.

    A few passes over the bytes at C speed, cheaper than the parse itself for any JSON the parser
    accepts (benchmarks/json_depth_check.py): escaped backslashes and quotes are dropped, so every
    quote left opens or closes a string; then all but quotes and brackets (as `[` and `]`); then what
    lies between a string's quotes. The brackets left must be groups no deeper than `limit`. On text
    that is not JSON the answer means nothing, but it comes as quickly and never as an error.
    """
    # fewer opening brackets than the limit cannot nest deeper than it: the common case stops here
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False
    unescaped = raw.replace(b"\\\\", b"").replace(b'\\"', b"") if b"\\" in raw else raw
    # two quotes side by side are an empty string, or two strings with nothing between them: dropping
    # them changes no bracket, and spares the split most of its pieces
    skeleton = unescaped.translate(_ONE_KIND_OF_BRACKET, _NOT_BRACKETS_OR_QUOTES).replace(b'""', b"")
    brackets = b"".join(skeleton.split(b'"')[::2])
    if _groups_no_deeper_than(limit).fullmatch(brackets):
        return False
    return brackets.count(b"[") == brackets.count(b"]")


async def read_json_object(request: web.Request) -> dict[str, Any]:
    """The body as a JSON object, or a 400 (413 past the size limit, raised by aiohttp's read)."""
    raw = await request.read()
    if not raw:
        raise bad_request("request body is empty; a JSON object is expected")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise bad_request("request body is not valid JSON") from None
    # orjson refuses only past 1024 levels, in C and without recursing in Python; the limit is checked
    # on the text it accepted, before anything walks the result
    limits = request.config_dict.get(HTTP_LIMITS)
    max_depth = limits.MAX_JSON_DEPTH if limits is not None else DEFAULT_MAX_JSON_DEPTH
    if json_nesting_exceeds(raw, max_depth):
        raise bad_request(f"request body nests arrays or objects deeper than {max_depth} levels")
    if not isinstance(data, dict):
        raise bad_request("request body must be a JSON object")
    return data


def validation_error(exc: ValidationError) -> ApiError:
    """The first field at fault, by its dotted path (`method.vpa`), and a readable description."""
    first = exc.errors(include_url=False, include_input=False)[0]
    field = ".".join(str(part) for part in first["loc"]) or None
    message = first["msg"]
    return bad_request(f"{field}: {message}" if field else message, field)


def parse_model(model: type[M], data: dict[str, Any]) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc) from None


async def health(_: web.Request) -> web.Response:
    return json_response({"status": "ok"})


def base_app(*, max_body_bytes: int, success_flag: bool = False, limits: HttpLimits | None = None) -> web.Application:
    """`limits` default to the environment's (`HttpLimits`), so every service has them without wiring; so do
    /healthz, /readyz (ready until the service registers checks: payments_common.health) and /metrics."""
    limits = limits if limits is not None else HttpLimits()
    app = web.Application(
        client_max_size=max_body_bytes,
        handler_args=limits.handler_args(),
        middlewares=[
            # outermost: it times and counts what the client gets, whatever the others made of it
            observability.metrics_middleware,
            correlation_middleware,
            error_middleware(success_flag=success_flag),
            body_middleware(limits.REQUEST_READ_TIMEOUT_SECONDS),
        ],
    )
    app[HTTP_LIMITS] = limits
    app.router.add_get("/health", health)
    observability.install(app)
    return app
