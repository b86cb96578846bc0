"""The native plans', subscriptions' and payment links' models against /v1's, which their use cases speak: a
native request becomes the same /v1 command, an answer reads the /v1 entity without losing a field's meaning,
and a use case's error names the field as the native request does."""

from __future__ import annotations

from datetime import UTC, datetime

import payment_link_samples
import pytest
import subscription_samples
from pydantic import ValidationError

from order_svc.native.http import native_errors
from order_svc.payment_links.schemas import NewPaymentLink, PaymentLinkEntity, PaymentLinkResource
from order_svc.subscriptions.domain import Billing
from order_svc.subscriptions.schemas import CreateSubscription, SubscriptionResource
from order_svc.v1.subscriptions.schemas import CreateSubscriptionV1, SubscriptionEntity
from payments_common.errors import ApiError, bad_request


def test_a_native_subscription_request_is_the_v1_command() -> None:
    native = CreateSubscription.model_validate(
        {
            "planId": "plan_x",
            "totalCount": 12,
            "startAt": "2027-01-15T10:00:00.250+05:30",
            "testClock": "clock_x",
            "missedCycles": "skip",
        }
    )
    start = int(datetime(2027, 1, 15, 4, 30, 1, tzinfo=UTC).timestamp())  # a fraction ahead rounds up
    assert native.command() == CreateSubscriptionV1(
        plan_id="plan_x", total_count=12, start_at=start, test_clock="clock_x", missed_cycles="skip"
    )
    for refused in ({"startAt": "2027-01-15T10:00:00"}, {"plan_id": "plan_x"}, {"totalCount": 12.0}):
        with pytest.raises(ValidationError):
            CreateSubscription.model_validate({"planId": "plan_x", "totalCount": 12, **refused})


def test_a_subscription_reads_as_its_v1_entity_in_native_terms() -> None:
    sub = subscription_samples.SUB
    entity = SubscriptionEntity.of(
        sub, Billing(sub.start_at, "monthly", 1, 12), datetime(2027, 2, 20, tzinfo=UTC), "order_1"
    )
    native = SubscriptionResource.of(entity)
    assert (native.status, native.paidCount, native.remainingCount, native.authOrderId) == ("ACTIVE", 2, 10, "order_1")
    assert native.currentStart == datetime(2027, 2, 15, 10, tzinfo=UTC)
    assert native.chargeAt == sub.next_charge_at and native.endedAt is None
    assert int(native.startAt.timestamp()) == entity.start_at


def test_a_payment_links_nothing_is_null_rather_than_zero() -> None:
    link = payment_link_samples.LINK
    entity = PaymentLinkEntity.of(
        link, payment_link_samples.ORDER, [payment_link_samples.PAYMENT], link.short_url, link.created_at
    )
    native = PaymentLinkResource.of(entity)
    assert (entity.expire_by, entity.cancelled_at, entity.callback_url) == (0, 0, "")
    assert (native.expireBy, native.cancelledAt, native.callbackUrl) == (None, None, None)
    assert native.status == "PAID" and [payment.status for payment in native.payments] == ["SUCCESS"]
    with pytest.raises(ValidationError):
        NewPaymentLink.model_validate({"amount": 100, "currency": "INR", "expireBy": "2020-01-01T00:00:00Z"})


def test_a_use_cases_error_names_the_native_field_and_a_refused_change_is_a_conflict() -> None:
    with pytest.raises(ApiError) as renamed, native_errors({"plan_id": "planId"}):
        raise bad_request("plan_id: no such plan", "plan_id")
    assert (renamed.value.status, renamed.value.field, renamed.value.description) == (
        400,
        "planId",
        "planId: no such plan",
    )
    with pytest.raises(ApiError) as conflict, native_errors({}, frozenset({"LINK_NOT_EDITABLE"})):
        raise ApiError(400, "LINK_NOT_EDITABLE", "a payment link that is paid cannot be cancelled")
    assert (conflict.value.status, conflict.value.code) == (409, "LINK_NOT_EDITABLE")
    untouched = ApiError(404, "NOT_FOUND", "plan not found")
    with pytest.raises(ApiError) as same, native_errors({"plan_id": "planId"}):
        raise untouched
    assert same.value is untouched
