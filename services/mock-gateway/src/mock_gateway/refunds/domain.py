"""Refunds at the gateway: how one ends, what is decided before it is stored, and the webhook that reports it.

A refund is processed unless the payment it refunds was made with a test vpa holding the word
`refund-fails` (`success.refund-fails@razorpay`): the payment succeeds as usual, and each of its
refunds then fails, as a bank that cannot credit the payer's account would make it. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from mock_gateway.payments.domain import vpa_tokens
from payments_common import events

REFUND_FAILS_WORD = "refund-fails"
REFUND_WEBHOOK_PATH = "/webhook/refund"

PENDING = "pending"
PROCESSED = "processed"
FAILED = "failed"

REFUND_FAILED_CODE = "REFUND_FAILED"
REFUND_FAILED_DESCRIPTION = "The payer's bank could not credit the refund"


def refund_outcome(method: Mapping[str, Any] | None) -> str:
    """`failed` for a payment whose test vpa holds `refund-fails` (or `refund_fails`), else `processed`."""
    words = {token.replace("_", "-") for token in vpa_tokens(method)}
    return FAILED if REFUND_FAILS_WORD in words else PROCESSED


class RefundTerms(BaseModel):
    """What a refund is, as decided at creation: the part every view of it shares, by the contract's
    camelCase names on the wire."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)

    id: str
    refund_id: str
    gateway_payment_id: str
    payment_id: str
    amount: int
    currency: str


class NewRefund(RefundTerms):
    """What `POST /v1/refunds` decided before anything was stored."""

    outcome: str


def reported_status(outcome: str) -> Literal["PROCESSED", "FAILED"]:
    """The webhook's `status` for a refund's outcome."""
    return "FAILED" if outcome == FAILED else "PROCESSED"


def refund_webhook_body(refund: NewRefund) -> dict[str, Any]:
    """The body of the webhook reporting the refund's outcome."""
    failed = refund.outcome == FAILED
    # built, not validated: the webhook gateway judges what a gateway sends, this one's as a real one's
    report = events.RefundWebhookPayload.model_construct(
        refundId=refund.refund_id,
        paymentId=refund.payment_id,
        gatewayPaymentId=refund.gateway_payment_id,
        gatewayRefundId=refund.id,
        amount=refund.amount,
        currency=refund.currency,
        status=reported_status(refund.outcome),
        errorCode=REFUND_FAILED_CODE if failed else None,
        errorDescription=REFUND_FAILED_DESCRIPTION if failed else None,
    )
    return report.contract_dict()
