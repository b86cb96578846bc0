"""/v1 webhooks' views."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from order_svc.access.http import merchant_of
from order_svc.deps import DEPS
from order_svc.v1.http import collection, parse_query
from order_svc.v1.webhooks import service
from order_svc.v1.webhooks.schemas import (
    CreateWebhookV1,
    EditWebhookV1,
    WebhookCollection,
    WebhookDeleted,
    WebhookDeliveryCollection,
    WebhookDeliveryEntity,
    WebhookEntity,
    WebhookWithSecret,
)
from order_svc.webhook_endpoints.schemas import DEFAULT_DELIVERIES, MAX_DELIVERIES
from payments_common.http import parse_model, read_json_object
from payments_common.openapi import Route, model_response


class DeliveriesQueryV1(BaseModel):
    """The newest `count` deliveries."""

    model_config = ConfigDict(extra="ignore")

    count: int = Field(default=DEFAULT_DELIVERIES, ge=1, le=MAX_DELIVERIES)


def _webhook_id(request: web.Request) -> str:
    return request.match_info["webhook_id"]


# no docstrings: a view's name is its summary in the document
async def post_webhook(request: web.Request) -> web.Response:
    cmd = parse_model(CreateWebhookV1, await read_json_object(request))
    return model_response(await service.create(request.app[DEPS], merchant_of(request), cmd))


async def get_webhooks(request: web.Request) -> web.Response:
    items = await service.list_webhooks(request.app[DEPS], merchant_of(request))
    return collection(WebhookCollection, items)


async def get_webhook(request: web.Request) -> web.Response:
    return model_response(await service.fetch(request.app[DEPS], merchant_of(request), _webhook_id(request)))


async def patch_webhook(request: web.Request) -> web.Response:
    cmd = parse_model(EditWebhookV1, await read_json_object(request))
    return model_response(await service.edit(request.app[DEPS], merchant_of(request), _webhook_id(request), cmd))


async def delete_webhook(request: web.Request) -> web.Response:
    deleted = await service.delete(request.app[DEPS], merchant_of(request), _webhook_id(request))
    return model_response(WebhookDeleted(id=deleted, entity="webhook", deleted=True))


async def rotate_webhook_secret(request: web.Request) -> web.Response:
    rotated = await service.rotate_secret(request.app[DEPS], merchant_of(request), _webhook_id(request))
    return model_response(rotated)


async def get_webhook_deliveries(request: web.Request) -> web.Response:
    query = parse_query(DeliveriesQueryV1, request)
    items = await service.deliveries(request.app[DEPS], merchant_of(request), _webhook_id(request), query.count)
    return collection(WebhookDeliveryCollection, items)


async def redeliver_webhook_delivery(request: web.Request) -> web.Response:
    delivery_id = request.match_info["delivery_id"]
    return model_response(await service.redeliver(request.app[DEPS], merchant_of(request), delivery_id))


ROUTES = [
    Route("POST", "/v1/webhooks", post_webhook, WebhookWithSecret),
    Route("GET", "/v1/webhooks", get_webhooks, WebhookCollection),
    Route("GET", "/v1/webhooks/{webhook_id}", get_webhook, WebhookEntity),
    Route("PATCH", "/v1/webhooks/{webhook_id}", patch_webhook, WebhookEntity),
    Route("DELETE", "/v1/webhooks/{webhook_id}", delete_webhook, WebhookDeleted),
    Route("POST", "/v1/webhooks/{webhook_id}/rotate-secret", rotate_webhook_secret, WebhookWithSecret),
    Route("GET", "/v1/webhooks/{webhook_id}/deliveries", get_webhook_deliveries, WebhookDeliveryCollection),
    Route("POST", "/v1/webhooks/deliveries/{delivery_id}/redeliver", redeliver_webhook_delivery, WebhookDeliveryEntity),
]
