"""The webhook endpoints' use cases: the merchant's own endpoints and deliveries, through merchant-webhooks.
A malformed id is a 404 here, without a call: it can name nothing, for any merchant."""

from __future__ import annotations

import re

from order_svc.deps import Deps
from order_svc.webhook_endpoints.client import MerchantWebhooksClient, unavailable
from payments_common.errors import not_found
from payments_common.merchant_webhooks import (
    DELIVERY_PREFIX,
    ENDPOINT_PREFIX,
    Delivery,
    DeliveryList,
    Endpoint,
    EndpointCreate,
    EndpointList,
    EndpointUpdate,
    EndpointWithSecret,
)

_ID = {prefix: re.compile(rf"^{prefix}_[0-9A-Za-z]{{1,64}}$") for prefix in (ENDPOINT_PREFIX, DELIVERY_PREFIX)}


def _client(deps: Deps) -> MerchantWebhooksClient:
    if deps.webhooks is None:
        raise unavailable()
    return deps.webhooks


def _endpoint_id(value: str) -> str:
    if not _ID[ENDPOINT_PREFIX].match(value):
        raise not_found("webhook endpoint")
    return value


async def create_endpoint(deps: Deps, merchant_id: str, cmd: EndpointCreate) -> EndpointWithSecret:
    return await _client(deps).create(merchant_id, cmd)


async def list_endpoints(deps: Deps, merchant_id: str) -> EndpointList:
    return await _client(deps).list(merchant_id)


async def get_endpoint(deps: Deps, merchant_id: str, endpoint_id: str) -> Endpoint:
    return await _client(deps).get(merchant_id, _endpoint_id(endpoint_id))


async def update_endpoint(deps: Deps, merchant_id: str, endpoint_id: str, cmd: EndpointUpdate) -> Endpoint:
    return await _client(deps).update(merchant_id, _endpoint_id(endpoint_id), cmd)


async def delete_endpoint(deps: Deps, merchant_id: str, endpoint_id: str) -> str:
    await _client(deps).delete(merchant_id, _endpoint_id(endpoint_id))
    return endpoint_id


async def rotate_secret(deps: Deps, merchant_id: str, endpoint_id: str) -> EndpointWithSecret:
    return await _client(deps).rotate_secret(merchant_id, _endpoint_id(endpoint_id))


async def endpoint_deliveries(deps: Deps, merchant_id: str, endpoint_id: str, limit: int) -> DeliveryList:
    return await _client(deps).deliveries(merchant_id, _endpoint_id(endpoint_id), limit)


async def redeliver(deps: Deps, merchant_id: str, delivery_id: str) -> Delivery:
    if not _ID[DELIVERY_PREFIX].match(delivery_id):
        raise not_found("webhook delivery")
    return await _client(deps).redeliver(merchant_id, delivery_id)
