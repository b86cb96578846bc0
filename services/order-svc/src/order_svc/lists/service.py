"""The native lists' use cases: a page of the merchant's orders, attempts or refunds, read in one snapshot,
and one attempt by its id."""

from __future__ import annotations

from order_svc.deps import Deps
from order_svc.lists.domain import Page, next_cursor
from order_svc.lists.repository import ListRepository
from order_svc.lists.schemas import OrderPage, PaymentPage, RefundPage
from order_svc.orders.schemas import Customer, OrderSummary
from order_svc.payments.repository import PaymentViewRepository
from order_svc.payments.schemas import PaymentAttempt
from order_svc.refunds.schemas import RefundResource
from payments_common import ids
from payments_common.errors import not_found
from payments_common.uow import ReadSnapshot


async def orders_page(deps: Deps, merchant_id: str, page: Page) -> OrderPage:
    async with ReadSnapshot(deps.pool) as snapshot:
        rows = await snapshot.repo(ListRepository).orders(merchant_id, page)
    items = [
        OrderSummary.model_validate(
            {
                "id": order.id,
                "amount": order.amount,
                "currency": order.currency,
                "status": order.status,
                "receipt": order.receipt,
                "notes": order.notes if order.notes is not None else {},
                "customer": Customer.of(order),
                "createdAt": order.created_at,
                "updatedAt": order.updated_at,
            }
        )
        for order in rows[: page.limit]
    ]
    cursor = next_cursor([(order.created_at, order.id) for order in rows], page.limit)
    return OrderPage(items=items, nextCursor=cursor)


async def payments_page(deps: Deps, merchant_id: str, page: Page) -> PaymentPage:
    async with ReadSnapshot(deps.pool) as snapshot:
        lists = snapshot.repo(ListRepository)
        rows = await lists.payments(merchant_id, page)
        refunds = await lists.refunds_of([view.id for view in rows[: page.limit]])
    items = [PaymentAttempt.of(view, refunds) for view in rows[: page.limit]]
    cursor = next_cursor([(view.created_at, view.id) for view in rows], page.limit)
    return PaymentPage(items=items, nextCursor=cursor)


async def refunds_page(deps: Deps, merchant_id: str, page: Page) -> RefundPage:
    async with ReadSnapshot(deps.pool) as snapshot:
        rows = await snapshot.repo(ListRepository).refunds(merchant_id, page)
    items = [RefundResource.of(refund) for refund in rows[: page.limit]]
    cursor = next_cursor([(refund.created_at, refund.id) for refund in rows], page.limit)
    return RefundPage(items=items, nextCursor=cursor)


async def payment(deps: Deps, merchant_id: str, payment_id: str) -> PaymentAttempt:
    """One attempt of the merchant's, with its refunds (another merchant's is 404)."""
    if not ids.is_valid(ids.PAYMENT, payment_id):
        raise not_found("payment")
    async with ReadSnapshot(deps.pool) as snapshot:
        view = await snapshot.repo(PaymentViewRepository).merchant_payment(payment_id, merchant_id)
        if view is None:
            raise not_found("payment")
        refunds = await snapshot.repo(ListRepository).refunds_of([view.id])
    return PaymentAttempt.of(view, refunds)
