"""A text filter of a list goes into SQL as a parameter: PostgreSQL's text holds no NUL, so a filter with
one must be the caller's 400 (a validation error here), never a database error (found by the fuzzing tier)."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from order_svc.lists.schemas import OrderListQuery as NativeOrderListQuery
from order_svc.payment_links.schemas import PaymentLinkListQuery
from order_svc.subscriptions.schemas import SubscriptionsQuery
from order_svc.v1.schemas import OrderListQuery
from order_svc.v1.subscriptions.schemas import InvoiceListQuery, SubscriptionListQuery

FILTERS: list[tuple[type[BaseModel], str]] = [
    (OrderListQuery, "receipt"),
    (NativeOrderListQuery, "receipt"),
    (PaymentLinkListQuery, "reference_id"),
    (InvoiceListQuery, "subscription_id"),
    (SubscriptionListQuery, "plan_id"),
    (SubscriptionsQuery, "planId"),
]


@pytest.mark.parametrize(("model", "field"), FILTERS)
def test_a_filter_with_a_nul_is_refused_and_one_without_is_taken(model: type[BaseModel], field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        model.model_validate({field: "rcpt\x00 1"})
    assert refused.value.errors()[0]["loc"] == (field,)
    assert getattr(model.model_validate({field: "rcpt 1"}), field) == "rcpt 1"
