"""How a payment settles, chosen by test values in `method` as real gateways' test modes do."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

SUCCESS_VPA = "success@razorpay"
FAILURE_VPA = "failure@razorpay"
PENDING_VPA = "pending@razorpay"

DECLINE_ERROR_CODE = "BAD_REQUEST_ERROR"
DECLINE_ERROR_DESCRIPTION = "Payment declined by the bank"


class Outcome(enum.Enum):
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"
    # never settled by webhook: stays open until someone reconciles it
    PENDING = "PENDING"

    @property
    def gateway_status(self) -> str:
        """The status the gateway's own record shows once settled."""
        return {Outcome.SUCCESS: "captured", Outcome.FAILED: "failed", Outcome.PENDING: "created"}[self]

    @property
    def sends_webhook(self) -> bool:
        return self is not Outcome.PENDING


_TEST_VPAS = {SUCCESS_VPA: Outcome.SUCCESS, FAILURE_VPA: Outcome.FAILED, PENDING_VPA: Outcome.PENDING}


def outcome_for(method: Mapping[str, Any] | None) -> Outcome:
    """No method, or any vpa other than the failure and pending test values, succeeds."""
    vpa = method.get("vpa") if method else None
    if not isinstance(vpa, str):
        return Outcome.SUCCESS
    return _TEST_VPAS.get(vpa.strip().lower(), Outcome.SUCCESS)
