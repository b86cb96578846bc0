"""/v1 orders' use cases, over the native orders' (`order_svc.orders.service`) and the lists' queries."""

from __future__ import annotations

import uuid

from order_svc.deps import Deps
from order_svc.lists.domain import Page
from order_svc.lists.repository import ListRepository
from order_svc.orders.service import create_order, read_order
from order_svc.v1.orders.schemas import CreateOrderV1, OrderEntity
from payments_common.uow import ReadSnapshot


async def create(deps: Deps, merchant_id: str, cmd: CreateOrderV1, request_id: uuid.UUID | None) -> OrderEntity:
    order = await create_order(deps, merchant_id, cmd.native(), request_id)
    return OrderEntity.of(order, 0)


async def fetch(deps: Deps, merchant_id: str, order_id: str) -> OrderEntity:
    read = await read_order(deps, merchant_id, order_id)
    return OrderEntity.of(read.order, len(read.payments))


async def list_orders(deps: Deps, merchant_id: str, page: Page, authorized: bool | None) -> list[OrderEntity]:
    async with ReadSnapshot(deps.pool) as snapshot:
        lists = snapshot.repo(ListRepository)
        orders = await lists.orders(merchant_id, page, authorized=authorized, extra=0)
        attempts = await lists.attempts([order.id for order in orders])
    return [OrderEntity.of(order, attempts.get(order.id, 0)) for order in orders]
