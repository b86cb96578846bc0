"""aiohttp pieces every service shares: JSON errors (never a stack trace), correlation ids, JSON
bodies that must be objects, body size limits, and a health route."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import orjson
from aiohttp import web
from pydantic import BaseModel, ValidationError

from payments_common.errors import SERVER_ERROR, ApiError, bad_request
from payments_common.ids import new_uuid
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


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json", headers=headers)


def error_middleware(*, success_flag: bool = False) -> Any:
    """Every error is the contract's error object; with `success_flag`, `"success": false` beside it."""

    def render(error: ApiError) -> web.Response:
        body = error.body()
        if success_flag:
            body = {"success": False, **body}
        headers = {"WWW-Authenticate": 'Basic realm="payments"'} if error.status == 401 else None
        return json_response(body, error.status, headers)

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
        except Exception:
            log.exception("http.unhandled_error", path=request.path, method=request.method)
            return render(ApiError(500, SERVER_ERROR, "internal error; it has been logged"))

    return middleware


@web.middleware
async def correlation_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    correlation_id = incoming if _REQUEST_ID.match(incoming) else f"req_{new_uuid().hex}"
    request[CORRELATION_ID] = correlation_id
    with bound(correlation_id=correlation_id):
        response = await handler(request)
    response.headers[REQUEST_ID_HEADER] = correlation_id
    return response


async def read_json_object(request: web.Request) -> dict[str, Any]:
    """The body as a JSON object, or a 400 (413 past the size limit, raised by aiohttp's read)."""
    raw = await request.read()
    if not raw:
        raise bad_request("request body is empty; a JSON object is expected")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise bad_request("request body is not valid JSON") from None
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


def base_app(*, max_body_bytes: int, success_flag: bool = False) -> web.Application:
    app = web.Application(
        client_max_size=max_body_bytes,
        middlewares=[correlation_middleware, error_middleware(success_flag=success_flag)],
    )
    app.router.add_get("/health", health)
    return app
