"""The webhook counters (`webhooks_received`, `webhooks_refused`): every request to a webhook path is
counted as it arrives, before any check, and again by the error code it was refused with, whichever
step refused it (the allowlist, a rate limit, a signature, the body, the broker)."""

from __future__ import annotations

import orjson
from aiohttp import web

from payments_common import metrics
from payments_common.http import Handler

PREFIX = "/webhook/"


def _code(response: web.StreamResponse) -> str:
    """The error code of a refusal's JSON body (`{"error": {"code": …}}`), else its status."""
    body = response.body if isinstance(response, web.Response) else None
    if isinstance(body, bytes):
        try:
            error = orjson.loads(body).get("error")
        except (orjson.JSONDecodeError, AttributeError):
            error = None
        if isinstance(error, dict) and isinstance(error.get("code"), str):
            return str(error["code"])
    return str(response.status)


@web.middleware
async def counting_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not request.path.startswith(PREFIX):
        return await handler(request)
    # the path's last part (payment, refund); `bounded` folds anything else into `other`
    kind = request.path[len(PREFIX) :].strip("/") or "none"
    metrics.webhook_received(kind)
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        metrics.webhook_refused(kind, str(exc.status))
        raise
    if response.status >= 400:
        metrics.webhook_refused(kind, _code(response))
    return response
