"""The analytics page's figures: both services asked at once, and the chart series lined up."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from payments_common.admin_api.analytics import OrderAnalytics, OrderBucket, PaymentAnalytics, PaymentBucket
from payments_console.admin_api.client import AdminApi, AdminApiError
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
            data["payments"] = _columns(self.payments.series, "attempted", "succeeded", "failed")
        if self.orders is not None:
            data["orders"] = _columns(self.orders.series, "orders", "paid")
        return data


def _columns(series: Sequence[PaymentBucket] | Sequence[OrderBucket], *names: str) -> dict[str, list[Any]]:
    """`x`, each bucket's start in epoch seconds, then a list of each of `names`, bucket by bucket."""
    return {
        "x": [int(b.at.timestamp()) for b in series],
        **{name: [getattr(b, name) for b in series] for name in names},
    }


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
