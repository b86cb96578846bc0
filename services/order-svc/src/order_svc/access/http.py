"""The authentication middleware: every route but the public ones is a merchant's, named by its API key."""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web

from order_svc.access.domain import authenticate, unauthorized
from order_svc.payment_links.domain import SHORT_PATH
from payments_common import observability
from payments_common.admin import PREFIX as ADMIN_PREFIX
from payments_common.config import ApiKey
from payments_common.http import Handler

MERCHANT_ID = web.RequestKey("merchant_id", str)
API_KEYS = web.AppKey("api_keys", Mapping[str, ApiKey])

# the probes and metrics (payments_common.observability) and the API's own document need no credential
_PUBLIC = observability.PUBLIC_PATHS | {"/openapi.json"}
# the admin API has its own credential (ADMIN_TOKEN, order_svc.admin); the hosted checkout pages are the
# customer's, who has no key: the link's unguessable token in the path is all they need
_PUBLIC_PREFIXES = (ADMIN_PREFIX, SHORT_PATH)


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    # the admin API has its own credential (ADMIN_TOKEN, order_svc.admin), not a merchant's key
    if request.path not in _PUBLIC and not request.path.startswith(_PUBLIC_PREFIXES):
        request[MERCHANT_ID] = authenticate(request.headers.get("Authorization"), request.app[API_KEYS])
    return await handler(request)


def merchant_of(request: web.Request) -> str:
    merchant = request.get(MERCHANT_ID)
    if not isinstance(merchant, str):
        raise unauthorized()
    return merchant
