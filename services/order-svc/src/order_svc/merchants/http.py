"""The admin API's merchants and keys, behind `ADMIN_TOKEN` (the guard `order_svc.admin` installs):

POST /admin/merchants                     {name, alertEmail?} -> 201 merchant
GET  /admin/merchants[?limit=N]           GET /admin/merchants/{merchant_id}
POST /admin/merchants/{merchant_id}/keys  -> 201 with keySecret, shown this once
GET  /admin/merchants/{merchant_id}/keys  POST /admin/keys/{key_id}/revoke
"""

from __future__ import annotations

from aiohttp import web

from order_svc.deps import DEPS
from order_svc.merchants import service
from order_svc.merchants.schemas import (
    CreateMerchant,
    KeyAnswer,
    KeyCreatedAnswer,
    KeyList,
    MerchantAnswer,
    MerchantList,
)
from payments_common.admin import int_query
from payments_common.http import parse_model, read_json_object
from payments_common.openapi import model_response

MAX_PAGE = 1000


async def post_merchant(request: web.Request) -> web.Response:
    cmd = parse_model(CreateMerchant, await read_json_object(request))
    merchant = await service.create_merchant(request.app[DEPS].pool, cmd.name, cmd.alertEmail)
    return model_response(MerchantAnswer.of(merchant), 201)


async def get_merchants(request: web.Request) -> web.Response:
    limit = int_query(request, "limit", 100, MAX_PAGE)
    found = await service.merchants(request.app[DEPS].pool, limit)
    return model_response(MerchantList(items=[MerchantAnswer.of(merchant) for merchant in found]))


async def get_merchant(request: web.Request) -> web.Response:
    merchant = await service.merchant(request.app[DEPS].pool, request.match_info["merchant_id"])
    return model_response(MerchantAnswer.of(merchant))


async def post_key(request: web.Request) -> web.Response:
    deps = request.app[DEPS]
    sealer = deps.key_secrets.sealer if deps.key_secrets is not None else None
    created = await service.create_key(deps.pool, request.match_info["merchant_id"], sealer)
    key = created.key
    answer = KeyCreatedAnswer(
        keyId=key.key_id,
        merchantId=key.merchant_id,
        createdAt=key.created_at,
        revokedAt=key.revoked_at,
        keySecret=created.secret,
    )
    # the secret must not linger in any cache between the operator and this service
    return model_response(answer, 201, {"Cache-Control": "no-store"})


async def get_keys(request: web.Request) -> web.Response:
    found = await service.keys(request.app[DEPS].pool, request.match_info["merchant_id"])
    return model_response(KeyList(items=[KeyAnswer.of(key) for key in found]))


async def post_revoke(request: web.Request) -> web.Response:
    revoked = await service.revoke_key(request.app[DEPS].pool, request.match_info["key_id"])
    return model_response(KeyAnswer.of(revoked))


def add_routes(app: web.Application) -> None:
    app.router.add_post("/admin/merchants", post_merchant)
    app.router.add_get("/admin/merchants", get_merchants)
    app.router.add_get("/admin/merchants/{merchant_id}", get_merchant)
    app.router.add_post("/admin/merchants/{merchant_id}/keys", post_key)
    app.router.add_get("/admin/merchants/{merchant_id}/keys", get_keys)
    app.router.add_post("/admin/keys/{key_id}/revoke", post_revoke)
