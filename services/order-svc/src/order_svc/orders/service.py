"""The orders' use cases: create one, and read one with its attempts and their refunds."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from order_svc.deps import Deps
from order_svc.orders.domain import Order
from order_svc.orders.repository import OrderRepository
from order_svc.orders.schemas import CreateOrder
from order_svc.payments.domain import PaymentView
from order_svc.payments.repository import PaymentViewRepository
from order_svc.refunds.domain import RefundView
from order_svc.refunds.repository import RefundViewRepository
from payments_common import ids
from payments_common.logging import get_logger
from payments_common.uow import ReadSnapshot, SingleWrite, read_found

log = get_logger(__name__)


async def create_order(deps: Deps, merchant_id: str, cmd: CreateOrder, request_id: uuid.UUID | None = None) -> Order:
    """`request_id`, from the request's idempotency key, makes a rerun of the same request (after its
    first process died) answer the order that run created instead of creating a second one."""
    order_id = ids.new_id(ids.ORDER)
    # one INSERT, which tells no one: no transaction around it (a rerun's lookup of its order follows a
    # conflict, which only a committed order of that request id can cause)
    async with SingleWrite(deps.pool) as write:
        order = await write.repo(OrderRepository).insert(
            order_id,
            merchant_id,
            cmd.amount,
            cmd.currency,
            cmd.receipt,
            cmd.notes,
            cmd.customer.email if cmd.customer else None,
            cmd.customer.name if cmd.customer else None,
            request_id,
            manual_capture=cmd.capture == "manual",
        )
    if order.id != order_id:
        log.info("order.found_for_request", order_id=order.id)
        return order
    log.info("order.created", order_id=order_id, amount=cmd.amount, currency=cmd.currency)
    return order


@dataclass(frozen=True, slots=True)
class OrderRead:
    """An order, its attempts (oldest first) and their refunds, as one snapshot saw them."""

    order: Order
    payments: list[PaymentView]
    refunds: list[RefundView]


async def read_order(deps: Deps, merchant_id: str, order_id: str) -> OrderRead:
    async def read(snapshot: ReadSnapshot) -> OrderRead | None:
        order = await snapshot.repo(OrderRepository).get(order_id, merchant_id)
        if order is None:
            return None
        payments = await snapshot.repo(PaymentViewRepository).of_order(order_id)
        return OrderRead(order, payments, await snapshot.repo(RefundViewRepository).of_order(order_id))

    # one snapshot, so that the order, its attempts and their refunds never disagree in one answer
    return await read_found(deps.pool, "order", ids.ORDER, order_id, read)
