"""How a payment settles, chosen by test values in `method` as real gateways' test modes do.

A test vpa is `<outcome>[.<token>…]@razorpay`: the outcome word comes first, fault tokens may follow
it (see `faults`). Only the `razorpay` domain carries test values, so a real vpa never triggers one.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

TEST_DOMAIN = "razorpay"
SUCCESS_VPA = "success@razorpay"
FAILURE_VPA = "failure@razorpay"
PENDING_VPA = "pending@razorpay"

DECLINE_ERROR_CODE = "BAD_REQUEST_ERROR"
DECLINE_ERROR_DESCRIPTION = "Payment declined by the bank"

CREATED = "created"
CAPTURED = "captured"
FAILED = "failed"
# a gateway status only ever moves right: a late success may overturn a failure, nothing overturns a capture
STATUS_ORDER: tuple[str, ...] = (CREATED, FAILED, CAPTURED)


class Outcome(enum.Enum):
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"
    # never settled by webhook: stays open until someone reconciles it
    PENDING = "PENDING"

    @property
    def gateway_status(self) -> str:
        """The status the gateway's own record shows once settled."""
        return {Outcome.SUCCESS: CAPTURED, Outcome.FAILED: FAILED, Outcome.PENDING: CREATED}[self]

    @property
    def sends_webhook(self) -> bool:
        return self is not Outcome.PENDING


OUTCOME_WORDS = {"success": Outcome.SUCCESS, "failure": Outcome.FAILED, "pending": Outcome.PENDING}


def vpa_tokens(method: Mapping[str, Any] | None) -> tuple[str, ...]:
    """The dot-separated words before `@razorpay`, lower-cased; empty for anything else."""
    vpa = method.get("vpa") if method else None
    if not isinstance(vpa, str):
        return ()
    local, at, domain = vpa.strip().lower().rpartition("@")
    if not at or domain != TEST_DOMAIN:
        return ()
    return tuple(token for token in local.split(".") if token)


def outcome_for(method: Mapping[str, Any] | None) -> Outcome:
    """No method, or any vpa not starting with the failure or pending word, succeeds."""
    tokens = vpa_tokens(method)
    return OUTCOME_WORDS.get(tokens[0], Outcome.SUCCESS) if tokens else Outcome.SUCCESS
