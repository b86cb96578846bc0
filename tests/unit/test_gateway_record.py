"""The gateway's record of a payment, as payment-svc's reconciler reads it."""

from __future__ import annotations

import pytest

from payment_svc.gateway.client import GatewayRecord, GatewayRejected

RECORD = {
    "id": "gw_1",
    "paymentId": "pay_1",
    "orderId": "order_1",
    "amount": 1500,
    "currency": "INR",
    "status": "failed",
    "signature": "ab",
    "errorCode": "BAD_REQUEST_ERROR",
    "errorDescription": "declined",
}


def test_a_full_record_is_read_with_its_failure_reason() -> None:
    record = GatewayRecord.from_json(RECORD)
    assert (record.id, record.payment_id, record.order_id, record.status) == ("gw_1", "pay_1", "order_1", "failed")
    assert (record.amount, record.currency) == (1500, "INR")
    assert (record.error_code, record.error_description) == ("BAD_REQUEST_ERROR", "declined")


def test_optional_fields_may_be_absent() -> None:
    minimal = {k: RECORD[k] for k in ("id", "paymentId", "orderId", "status", "signature")}
    record = GatewayRecord.from_json(minimal)
    assert record.amount is None and record.error_code is None


@pytest.mark.parametrize("missing", ["id", "paymentId", "orderId", "status", "signature"])
def test_a_record_without_a_required_field_is_refused(missing: str) -> None:
    with pytest.raises(GatewayRejected):
        GatewayRecord.from_json({k: v for k, v in RECORD.items() if k != missing})


@pytest.mark.parametrize("not_a_record", [None, [], "gw_1", 3])
def test_an_answer_that_is_not_an_object_is_refused(not_a_record: object) -> None:
    with pytest.raises(GatewayRejected):
        GatewayRecord.from_json(not_a_record)
