"""A payment attempt's trail for its merchant: what happened to it, oldest first.

payment-svc keeps the trail (`payment_events`) and order-svc never reads its schema, so the trail is
fetched over payment-svc's internal API; the merchant check is made first, on order-svc's own view,
so another merchant's attempt answers 404 without payment-svc ever being asked.
"""

from __future__ import annotations

from typing import Any

from order_svc.handlers import Deps
from order_svc.repository import OrderRepository
from payments_common import ids
from payments_common.errors import NOT_FOUND, ApiError

TRAIL_FIELDS = ("id", "kind", "source", "eventId", "detail", "createdAt")


def _not_found() -> ApiError:
    return ApiError(404, NOT_FOUND, "payment not found")


async def payment_events(deps: Deps, merchant_id: str, payment_id: str) -> list[dict[str, Any]]:
    if not ids.is_valid(ids.PAYMENT, payment_id):
        raise _not_found()
    async with deps.pool.acquire() as conn:
        view = await OrderRepository(conn).merchant_payment(payment_id, merchant_id)
    if view is None:
        raise _not_found()
    # only the documented fields, whatever else payment-svc may come to add to its internal answer
    return [{field: event.get(field) for field in TRAIL_FIELDS} for event in await deps.payments.events(payment_id)]
