"""The analytics page's figures: both services asked at once, and the chart series lined up."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from payments_console.admin_api.client import AdminApi, AdminApiError
from payments_console.admin_api.schemas import OrderAnalytics, PaymentAnalytics
from payments_console.analytics.domain import Window


@dataclass(frozen=True, slots=True)
class Figures:
    payments: PaymentAnalytics | None
    orders: OrderAnalytics | None
    errors: list[str]

    def chart(self) -> dict[str, Any]:
        """The series as uPlot takes them: epoch seconds, then one list per line."""
        data: dict[str, Any] = {}
        if self.payments is not None:
            series = self.payments.series
            data["payments"] = {
                "x": [int(b.at.timestamp()) for b in series],
                "attempted": [b.attempted for b in series],
                "succeeded": [b.succeeded for b in series],
                "failed": [b.failed for b in series],
            }
        if self.orders is not None:
            series_o = self.orders.series
            data["orders"] = {
                "x": [int(b.at.timestamp()) for b in series_o],
                "orders": [b.orders for b in series_o],
                "paid": [b.paid for b in series_o],
            }
        return data


async def figures(api: AdminApi, window: Window) -> Figures:
    payments, orders = await asyncio.gather(
        api.payment_analytics(window.since, window.until, window.bucket, window.merchant),
        api.order_analytics(window.since, window.until, window.bucket, window.merchant),
        return_exceptions=True,
    )
    errors = [str(result) for result in (payments, orders) if isinstance(result, AdminApiError)]
    for result in (payments, orders):
        if isinstance(result, BaseException) and not isinstance(result, AdminApiError):
            raise result
    return Figures(
        payments=payments if isinstance(payments, PaymentAnalytics) else None,
        orders=orders if isinstance(orders, OrderAnalytics) else None,
        errors=errors,
    )
