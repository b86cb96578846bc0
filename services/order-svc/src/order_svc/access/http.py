"""The authentication middleware: every route but the public ones is a merchant's, proven by one of its
API keys (looked up through the instance's `KeyRing`)."""

from __future__ import annotations

from aiohttp import web

from order_svc.access.domain import Credential, check, parse_basic, unauthorized
from order_svc.access.keyring import KeyRing
from order_svc.checkout.domain import ORDER_PATH
from order_svc.payment_links.domain import SHORT_PATH
from payments_common import observability
from payments_common.admin import PREFIX as ADMIN_PREFIX
from payments_common.http import Handler

MERCHANT_ID = web.RequestKey("merchant_id", str)
CREDENTIAL = web.RequestKey("credential", Credential)
KEYS = web.AppKey("api_keys", KeyRing)

# the probes and metrics (payments_common.observability) and the API's own document need no credential
_PUBLIC = observability.PUBLIC_PATHS | {"/openapi.json"}
# the admin API has its own credential (ADMIN_TOKEN, order_svc.admin); the hosted checkout pages are the
# customer's, who has no key: a link's unguessable token, or the merchant's signature of its order's page, is
# all they need (order_svc/checkout/)
_PUBLIC_PREFIXES = (ADMIN_PREFIX, SHORT_PATH, ORDER_PATH)


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    # the admin API has its own credential (ADMIN_TOKEN, order_svc.admin), not a merchant's key
    if request.path not in _PUBLIC and not request.path.startswith(_PUBLIC_PREFIXES):
        key_id, secret = parse_basic(request.headers.get("Authorization"))
        credential = check(key_id, secret, await request.app[KEYS].find(key_id))
        request[CREDENTIAL] = credential
        request[MERCHANT_ID] = credential.merchant_id
    return await handler(request)


def merchant_of(request: web.Request) -> str:
    merchant = request.get(MERCHANT_ID)
    if not isinstance(merchant, str):
        raise unauthorized()
    return merchant


def credential_of(request: web.Request) -> Credential:
    credential = request.get(CREDENTIAL)
    if not isinstance(credential, Credential):
        raise unauthorized()
    return credential
