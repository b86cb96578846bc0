"""/v1 webhooks' use cases, over the native ones (`order_svc.webhook_endpoints.service`): the same
endpoints and deliveries, shown as Razorpay's entities."""

from __future__ import annotations

from order_svc.deps import Deps
from order_svc.v1.webhooks.schemas import (
    CreateWebhookV1,
    EditWebhookV1,
    WebhookDeliveryEntity,
    WebhookEntity,
    WebhookWithSecret,
)
from order_svc.webhook_endpoints import service as native


async def create(deps: Deps, merchant_id: str, cmd: CreateWebhookV1) -> WebhookWithSecret:
    return WebhookWithSecret.with_secret(await native.create_endpoint(deps, merchant_id, cmd.native()))


async def list_webhooks(deps: Deps, merchant_id: str) -> list[WebhookEntity]:
    found = await native.list_endpoints(deps, merchant_id)
    return [WebhookEntity.of(endpoint) for endpoint in found.items]


async def fetch(deps: Deps, merchant_id: str, webhook_id: str) -> WebhookEntity:
    return WebhookEntity.of(await native.get_endpoint(deps, merchant_id, webhook_id))


async def edit(deps: Deps, merchant_id: str, webhook_id: str, cmd: EditWebhookV1) -> WebhookEntity:
    return WebhookEntity.of(await native.update_endpoint(deps, merchant_id, webhook_id, cmd.native()))


async def delete(deps: Deps, merchant_id: str, webhook_id: str) -> str:
    return await native.delete_endpoint(deps, merchant_id, webhook_id)


async def rotate_secret(deps: Deps, merchant_id: str, webhook_id: str) -> WebhookWithSecret:
    return WebhookWithSecret.with_secret(await native.rotate_secret(deps, merchant_id, webhook_id))


async def deliveries(deps: Deps, merchant_id: str, webhook_id: str, count: int) -> list[WebhookDeliveryEntity]:
    found = await native.endpoint_deliveries(deps, merchant_id, webhook_id, count)
    return [WebhookDeliveryEntity.of(delivery) for delivery in found.items]


async def redeliver(deps: Deps, merchant_id: str, delivery_id: str) -> WebhookDeliveryEntity:
    return WebhookDeliveryEntity.of(await native.redeliver(deps, merchant_id, delivery_id))
