"""The delivery side's use cases: an event received becomes one delivery per subscribed endpoint; the log
of an endpoint's deliveries; a redelivery."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import asyncpg

from merchant_webhooks.deliveries.domain import body_of
from merchant_webhooks.deliveries.repository import AttemptRecord, DeliveryRecord, DeliveryRepository
from merchant_webhooks.endpoints.repository import EndpointRepository
from merchant_webhooks.endpoints.service import ENDPOINT
from payments_common.errors import not_found
from payments_common.events import MerchantEvent
from payments_common.ids import new_uuid
from payments_common.logging import get_logger
from payments_common.merchant_webhooks import DELIVERY_PREFIX
from payments_common.uow import UnitOfWork

log = get_logger(__name__)

DELIVERY = "webhook delivery"


@dataclass(frozen=True, slots=True)
class DeliveryDeps:
    pool: asyncpg.Pool
    # tells the worker that deliveries were committed, so it need not wait for its poll
    wake: Callable[[], None]


def new_delivery_id() -> str:
    return f"{DELIVERY_PREFIX}_{new_uuid().hex}"


async def anyone_subscribed(pool: asyncpg.Pool, event: MerchantEvent) -> bool:
    """Whether any enabled endpoint of the event's merchant takes it. Most events of most merchants have
    none: those are dropped at once, with no transaction, no stored copy and no worker wake-up (a copy
    nobody can ever receive is of no use: an endpoint registered later does not get earlier events). A
    redelivery of the same event after an endpoint's registration may reach it, which is harmless."""
    async with pool.acquire() as conn:
        return bool(await EndpointRepository(conn).subscribed(event.merchant_id, event.event))


async def receive_event(uow: UnitOfWork, event: MerchantEvent, _: str | None) -> None:
    """Inside the inbox's transaction: the event stored, and a delivery for each enabled endpoint of its
    merchant subscribed to it (an endpoint registered later does not receive it)."""
    endpoint_ids = await uow.repo(EndpointRepository).subscribed(event.merchant_id, event.event)
    deliveries = uow.repo(DeliveryRepository)
    await deliveries.store_event(event, body_of(event))
    created = await deliveries.fan_out(event, endpoint_ids, [new_delivery_id() for _ in endpoint_ids])
    log.info("webhook.event_received", event_id=event.id, event_name=event.event, deliveries=created)


@dataclass(frozen=True, slots=True)
class DeliveryLog:
    delivery: DeliveryRecord
    attempts: list[AttemptRecord]


async def _with_attempts(conn: asyncpg.Connection, found: list[DeliveryRecord]) -> list[DeliveryLog]:
    attempts = await DeliveryRepository(conn).attempts_of([d.id for d in found])
    return [DeliveryLog(d, attempts[d.id]) for d in found]


async def endpoint_deliveries(deps: DeliveryDeps, merchant_id: str, endpoint_id: str, limit: int) -> list[DeliveryLog]:
    async with deps.pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        if await EndpointRepository(conn).get(merchant_id, endpoint_id) is None:
            raise not_found(ENDPOINT)
        found = await DeliveryRepository(conn).search(merchant_id=merchant_id, endpoint_id=endpoint_id, limit=limit)
        return await _with_attempts(conn, found)


async def search_deliveries(
    deps: DeliveryDeps,
    *,
    merchant_id: str | None,
    endpoint_id: str | None,
    status: str | None,
    event_id: str | None,
    limit: int,
) -> list[DeliveryLog]:
    async with deps.pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        found = await DeliveryRepository(conn).search(
            merchant_id=merchant_id, endpoint_id=endpoint_id, status=status, event_id=event_id, limit=limit
        )
        return await _with_attempts(conn, found)


async def get_delivery(deps: DeliveryDeps, delivery_id: str, merchant_id: str | None = None) -> DeliveryLog:
    async with deps.pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        found = await DeliveryRepository(conn).get(delivery_id, merchant_id)
        if found is None:
            raise not_found(DELIVERY)
        [shown] = await _with_attempts(conn, [found])
        return shown


async def redeliver(deps: DeliveryDeps, delivery_id: str, merchant_id: str | None = None) -> DeliveryLog:
    """A new series of attempts of the same event to the same endpoint (same event id, same body)."""
    async with UnitOfWork(deps.pool) as uow:
        found = await uow.repo(DeliveryRepository).redeliver(delivery_id, merchant_id)
        if found is None:
            raise not_found(DELIVERY)
        [shown] = await _with_attempts(uow.conn, [found])
    deps.wake()
    log.info("webhook.redelivery_requested", delivery_id=delivery_id)
    return shown
