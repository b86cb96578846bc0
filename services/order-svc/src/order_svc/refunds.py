"""Refunds, order-svc's side: the client's request, its read, and the refund views kept from events.

payment-svc owns refunds and decides them (only a SUCCESS payment, never more than it took); order-svc
checks the merchant on its own view first, so another merchant's payment answers 404 without
payment-svc being asked, and keeps `refund_views` so that reads need no other service. Refunds never
move the order: a refunded order stays PAID.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt

from order_svc.domain import Notes
from order_svc.handlers import Deps
from order_svc.refund_views import RefundView, RefundViewRepository
from order_svc.repository import Order, OrderRepository, PaymentView
from payments_common import events, ids, inbox
from payments_common.errors import NOT_FOUND, ApiError, PermanentError, RetryableError
from payments_common.logging import bound, get_logger
from payments_common.money import MAX_AMOUNT
from payments_common.storable import has_nul
from payments_common.timeutil import iso
from payments_common.uow import UnitOfWork

log = get_logger(__name__)

REFUND_EVENTS_CONSUMER = "order-svc.refund-events"


def _publishable(notes: dict[str, str]) -> dict[str, str]:
    if has_nul(notes):
        raise ValueError("notes must not contain NUL characters")
    return notes


class CreateRefund(BaseModel):
    """`POST /payments/{payment_id}/refunds`: without `amount`, everything not refunded yet."""

    model_config = ConfigDict(extra="forbid")

    amount: Annotated[StrictInt, Field(gt=0, le=MAX_AMOUNT)] | None = None
    # unlike an order's, a refund's notes travel in events (jsonb), which cannot hold NUL
    notes: Annotated[Notes, AfterValidator(_publishable)] | None = None


def _payment_not_found() -> ApiError:
    return ApiError(404, NOT_FOUND, "payment not found")


def _refund_not_found() -> ApiError:
    return ApiError(404, NOT_FOUND, "refund not found")


async def create_refund(
    deps: Deps,
    merchant_id: str,
    payment_id: str,
    cmd: CreateRefund,
    correlation_id: str | None,
    request_id: uuid.UUID | None = None,
) -> events.RefundSnapshot:
    """The refund as payment-svc created it (PENDING), already in our view. `request_id`, from the
    request's idempotency key, makes a rerun after a crash answer the refund its first run created."""
    if not ids.is_valid(ids.PAYMENT, payment_id):
        raise _payment_not_found()
    with bound(payment_id=payment_id):
        async with deps.pool.acquire() as conn:
            view = await OrderRepository(conn).merchant_payment(payment_id, merchant_id)
        if view is None:
            raise _payment_not_found()
        refund = await deps.payments.create_refund(
            payment_id, merchant_id, cmd.amount, cmd.notes, correlation_id, request_id
        )
        # read-your-writes: the refund is in our view before the client hears of it
        async with UnitOfWork(deps.pool) as uow:
            repo = OrderRepository(uow.conn)
            # the order row first, as every writer of an order's views takes it, so none deadlocks another
            await repo.lock(refund.orderId)
            await RefundViewRepository(uow.conn).upsert(refund)
        log.info("refund.requested", refund_id=refund.id, amount=refund.amount)
        return refund


async def get_refund(deps: Deps, merchant_id: str, refund_id: str) -> RefundView:
    if not ids.is_valid(ids.REFUND, refund_id):
        raise _refund_not_found()
    async with deps.pool.acquire() as conn:
        refund = await RefundViewRepository(conn).merchant_refund(refund_id, merchant_id)
    if refund is None:
        raise _refund_not_found()
    return refund


async def get_order_with_refunds(
    deps: Deps, merchant_id: str, order_id: str
) -> tuple[Order, list[PaymentView], list[RefundView]]:
    """An order, its attempts and their refunds, read in one snapshot so that they never disagree."""
    if not ids.is_valid(ids.ORDER, order_id):
        raise ApiError(404, NOT_FOUND, "order not found")
    async with deps.pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        repo = OrderRepository(conn)
        order = await repo.get(order_id, merchant_id)
        if order is None:
            raise ApiError(404, NOT_FOUND, "order not found")
        return order, await repo.payments(order_id), await repo.refunds(order_id)


async def apply_refund_event(deps: Deps, message_id: str, event: events.RefundEvent) -> None:
    """Keep the newest snapshot of the refund; the order itself never changes."""
    refund = event.refund
    with bound(order_id=refund.orderId, payment_id=refund.paymentId, refund_id=refund.id, event_type=event.type):
        async with UnitOfWork(deps.pool) as uow:
            if not await inbox.claim(uow.conn, REFUND_EVENTS_CONSUMER, message_id):
                log.info("refund_event.duplicate_ignored")
                return
            repo = OrderRepository(uow.conn)
            if await repo.lock(refund.orderId) is None:
                raise PermanentError("no such order", reason="UNKNOWN_ORDER")
            refunds = RefundViewRepository(uow.conn)
            if not await refunds.payment_known(refund.paymentId):
                # the attempt's own event is still on its way (its initiation answered before we stored it)
                raise RetryableError("no view of the refunded payment yet", reason="UNKNOWN_PAYMENT")
            fresh = await refunds.upsert(refund)
        log.info("refund_event.applied" if fresh else "refund_event.stale_ignored", version=refund.version)


def refund_json(refund: RefundView) -> dict[str, Any]:
    """A refund as `GET /refunds/{id}` and each payment's `refunds` in `GET /orders/{id}` show it."""
    return {
        "refundId": refund.id,
        "paymentId": refund.payment_id,
        "orderId": refund.order_id,
        "amount": refund.amount,
        "currency": refund.currency,
        "status": refund.status,
        "notes": refund.notes if refund.notes is not None else {},
        "errorCode": refund.error_code,
        "errorDescription": refund.error_description,
        "createdAt": iso(refund.created_at),
        "updatedAt": iso(refund.updated_at),
    }
