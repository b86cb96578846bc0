"""order-svc's answer about one order: `GET /admin/orders/{id}`."""

from __future__ import annotations

from payments_common.admin_api import Answer
from payments_common.openapi import Timestamp


class AdminOrder(Answer):
    id: str
    merchantId: str
    amount: int
    currency: str
    status: str
    receipt: str | None
    createdAt: Timestamp
    updatedAt: Timestamp
