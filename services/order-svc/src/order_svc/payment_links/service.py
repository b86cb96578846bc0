"""Payment links' use cases: create one with its order (one transaction), read, list, edit and cancel it,
and mark it paid when its order is paid (`order_paid`, called inside that change's unit of work)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import asyncpg

from order_svc.deps import Deps
from order_svc.merchant_events import service as merchant_events
from order_svc.orders.domain import Order
from order_svc.orders.repository import OrderRepository
from order_svc.payment_links import domain
from order_svc.payment_links.domain import LINK_NOT_EDITABLE, PaymentLink, status_at
from order_svc.payment_links.repository import PaymentLinkRepository
from order_svc.payment_links.schemas import (
    CreatePaymentLink,
    EditPaymentLink,
    PaymentLinkEntity,
    PaymentLinkListQuery,
)
from order_svc.payments.repository import PaymentViewRepository
from payments_common import ids
from payments_common.errors import ApiError, bad_request, not_found
from payments_common.logging import get_logger
from payments_common.uow import ReadSnapshot, UnitOfWork

log = get_logger(__name__)

# a generated id or token colliding is a 1 in 62^14 event; a few tries make it a non-event
_ID_ATTEMPTS = 3
_REFERENCE_INDEX = "payment_links_reference"


def _moment(unix: int | None) -> datetime | None:
    return datetime.fromtimestamp(unix, UTC) if unix is not None else None


def _reference_taken() -> ApiError:
    return bad_request("reference_id: a payment link with this reference_id already exists", "reference_id")


async def entity(uow: UnitOfWork, link: PaymentLink, now: datetime | None = None) -> PaymentLinkEntity:
    """The link as /v1 shows it, its order and attempts read through the same unit of work."""
    order = await uow.repo(OrderRepository).get(link.order_id, link.merchant_id)
    if order is None:
        raise LookupError(f"payment link {link.id} has no order {link.order_id}")
    payments = await uow.repo(PaymentViewRepository).of_order(link.order_id)
    return PaymentLinkEntity.of(link, order, payments, link.short_url, now or datetime.now(UTC))


async def create(
    deps: Deps, merchant_id: str, cmd: CreatePaymentLink, checkout_url: str, request_id: uuid.UUID | None
) -> PaymentLinkEntity:
    """The link and its order in one transaction. `request_id` (an Idempotency-Key's request) makes a rerun
    of the request after its first process died answer the link that run made."""
    customer = cmd.customer
    for attempt in range(_ID_ATTEMPTS):
        token = domain.new_token()
        try:
            async with UnitOfWork(deps.pool) as uow:
                order_id = ids.new_id(ids.ORDER)
                order = await uow.repo(OrderRepository).insert(
                    order_id,
                    merchant_id,
                    cmd.amount,
                    cmd.currency,
                    cmd.reference_id,
                    cmd.notes,
                    # the receipt email needs both
                    customer.email if customer and customer.name and customer.email else None,
                    customer.name if customer and customer.name and customer.email else None,
                    request_id,
                )
                links = uow.repo(PaymentLinkRepository)
                if order.id != order_id:
                    found = await links.by_order(order.id)
                    if found is None:
                        raise bad_request("this request's Idempotency-Key created an order, not a payment link")
                    return await entity(uow, found)
                link = await links.insert(
                    {
                        "id": domain.new_link_id(),
                        "merchant_id": merchant_id,
                        "order_id": order.id,
                        "token": token,
                        "short_url": domain.short_url(checkout_url, token),
                        "description": cmd.description,
                        "customer_name": customer.name if customer else None,
                        "customer_email": customer.email if customer else None,
                        "customer_contact": customer.contact if customer else None,
                        "expire_by": _moment(cmd.expire_by),
                        "reference_id": cmd.reference_id,
                        "callback_url": cmd.callback_url,
                        "callback_method": "get" if cmd.callback_url else None,
                        "notes": cmd.notes,
                    }
                )
                answer = await entity(uow, link)
        except asyncpg.UniqueViolationError as error:
            if error.constraint_name == _REFERENCE_INDEX:
                raise _reference_taken() from None
            if attempt == _ID_ATTEMPTS - 1:
                raise
            continue
        log.info("payment_link.created", payment_link_id=link.id, order_id=order.id, amount=cmd.amount)
        return answer
    raise AssertionError("unreachable")


def _check_id(link_id: str) -> None:
    if not domain.is_link_id(link_id):
        raise not_found("payment link")


async def fetch(deps: Deps, merchant_id: str, link_id: str) -> PaymentLinkEntity:
    _check_id(link_id)
    async with ReadSnapshot(deps.pool) as snapshot:
        link = await snapshot.repo(PaymentLinkRepository).get(link_id, merchant_id)
        if link is None:
            raise not_found("payment link")
        return await entity(snapshot, link)


async def list_links(deps: Deps, merchant_id: str, query: PaymentLinkListQuery) -> list[PaymentLinkEntity]:
    async with ReadSnapshot(deps.pool) as snapshot:
        links = await snapshot.repo(PaymentLinkRepository).page(
            merchant_id, query.count, query.skip, query.reference_id
        )
        return [await entity(snapshot, link) for link in links]


async def _lock_created(links: PaymentLinkRepository, link_id: str, merchant_id: str, change: str) -> None:
    """Locks the link for `change` ("edited", "cancelled"), which only a `created` link takes: 404 when the
    merchant has no such link, 400 when it is paid, expired or cancelled."""
    link = await links.lock(link_id, merchant_id)
    if link is None:
        raise not_found("payment link")
    status = status_at(link, datetime.now(UTC))
    if status != "created":
        raise ApiError(400, LINK_NOT_EDITABLE, f"a payment link that is {status} cannot be {change}")


async def edit(deps: Deps, merchant_id: str, link_id: str, cmd: EditPaymentLink) -> PaymentLinkEntity:
    """Only a `created` link is edited: a paid, expired or cancelled one is refused (400)."""
    _check_id(link_id)
    try:
        async with UnitOfWork(deps.pool) as uow:
            links = uow.repo(PaymentLinkRepository)
            await _lock_created(links, link_id, merchant_id, "edited")
            edited = await links.edit(link_id, cmd.notes, _moment(cmd.expire_by), cmd.reference_id)
            answer = await entity(uow, edited)
    except asyncpg.UniqueViolationError as error:
        if error.constraint_name == _REFERENCE_INDEX:
            raise _reference_taken() from None
        raise
    log.info("payment_link.edited", payment_link_id=link_id)
    return answer


async def cancel(deps: Deps, merchant_id: str, link_id: str) -> PaymentLinkEntity:
    """A `created` link is cancelled (and the merchant told, `payment_link.cancelled`); a paid, expired or
    already cancelled one is refused (400), as Razorpay refuses it."""
    _check_id(link_id)
    async with UnitOfWork(deps.pool) as uow:
        links = uow.repo(PaymentLinkRepository)
        await _lock_created(links, link_id, merchant_id, "cancelled")
        cancelled = await links.cancel(link_id)
        answer = await entity(uow, cancelled)
        await merchant_events.payment_link_cancelled(uow, cancelled.order_id, merchant_id, answer)
    log.info("payment_link.cancelled", payment_link_id=link_id)
    return answer


async def order_paid(uow: UnitOfWork, order: Order, payment_id: str) -> None:
    """`order` (now PAID) was paid by `payment_id`: its payment link, if it has one, is paid, and the
    merchant told (`payment_link.paid`), in the transaction that marks the order paid."""
    link = await uow.repo(PaymentLinkRepository).mark_paid(order.id, payment_id)
    if link is None:
        return
    answer = await entity(uow, link)
    await merchant_events.payment_link_paid(uow, order, payment_id, answer)
    log.info("payment_link.paid", payment_link_id=link.id, payment_id=payment_id)
