"""A gateway payment's pure rules: how it settles, chosen by test values in `method` as real gateways'
test modes do, what is decided before it is stored, and the webhook body that reports its outcome.

A test vpa is `<outcome>[.<token>…]@razorpay`: the outcome word comes first, fault tokens may follow
it (see `faults`). Only the `razorpay` domain carries test values, so a real vpa never triggers one.

A token (`{"type": "token", "token": "token_…"}`) charges the payment it was saved from again: it
succeeds if that payment was captured, unless a test switched the token to decline.

Cards, wallets and banks have test values too: `4000 0000 0000 0002` is declined and `4000 0000 0000
9995` has insufficient funds (every other card succeeds, `4111 1111 1111 1111` the usual one), the
`freecharge` wallet and the `YESB` bank decline (`paytm` and `HDFC` the usual successes). Each method
fails with its own code and description, as a real gateway's would.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal, cast

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from payments_common import events
from payments_common.methods import CARD, NETBANKING, WALLET, card_digits

TEST_DOMAIN = "razorpay"
SUCCESS_VPA = "success@razorpay"
FAILURE_VPA = "failure@razorpay"
PENDING_VPA = "pending@razorpay"

SUCCESS_CARD = "4111111111111111"
DECLINED_CARD = "4000000000000002"
INSUFFICIENT_FUNDS_CARD = "4000000000009995"
SUCCESS_WALLET = "paytm"
DECLINED_WALLET = "freecharge"
SUCCESS_BANK = "HDFC"
DECLINED_BANK = "YESB"


@dataclass(frozen=True, slots=True)
class Decline:
    """The failure a declined payment reports: its webhook's and its record's errorCode and errorDescription."""

    code: str
    description: str


UPI_DECLINED = Decline("UPI_DECLINED", "The payer's bank declined the UPI payment")
CARD_DECLINED = Decline("CARD_DECLINED", "The card was declined by the issuing bank")
INSUFFICIENT_FUNDS = Decline("INSUFFICIENT_FUNDS", "The card has insufficient funds")
WALLET_DECLINED = Decline("WALLET_DECLINED", "The wallet provider declined the payment")
BANK_DECLINED = Decline("BANK_DECLINED", "The bank declined the netbanking payment")
TOKEN_DECLINED = Decline("TOKEN_DECLINED", "The saved payment method was declined")
TOKEN_INVALID = Decline("TOKEN_INVALID", "The token names no payment this gateway captured")

_DECLINED_CARDS = {DECLINED_CARD: CARD_DECLINED, INSUFFICIENT_FUNDS_CARD: INSUFFICIENT_FUNDS}

CREATED = "created"
CAPTURED = "captured"
FAILED = "failed"
# a payment created for manual capture: authorised by its webhook, then captured or voided by a call
AUTHORIZED = "authorized"
VOIDED = "voided"
# a gateway status only ever moves right: a late success may overturn a failure, nothing overturns a capture
# or a void (an authorisation's webhook delivered late never undoes either)
STATUS_ORDER: tuple[str, ...] = (CREATED, FAILED, AUTHORIZED, VOIDED, CAPTURED)
MANUAL = "manual"


class Outcome(enum.Enum):
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"
    # a success of a payment created for manual capture: its webhook reports the authorisation
    AUTHORIZED = "AUTHORIZED"
    # never settled by webhook: stays open until someone reconciles it
    PENDING = "PENDING"

    @property
    def gateway_status(self) -> str:
        """The status the gateway's own record shows once settled."""
        return {
            Outcome.SUCCESS: CAPTURED,
            Outcome.FAILED: FAILED,
            Outcome.AUTHORIZED: AUTHORIZED,
            Outcome.PENDING: CREATED,
        }[self]

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


@dataclass(frozen=True, slots=True)
class Decision:
    outcome: Outcome
    # set exactly when the outcome is FAILED
    decline: Decline | None = None


_SUCCEEDS = Decision(Outcome.SUCCESS)


def _vpa_outcome(method: Mapping[str, Any] | None) -> Outcome:
    tokens = vpa_tokens(method)
    return OUTCOME_WORDS.get(tokens[0], Outcome.SUCCESS) if tokens else Outcome.SUCCESS


def decide(method: Mapping[str, Any] | None) -> Decision:
    """The outcome the method's test value asks for, and the decline a failure reports; anything that is
    not a test value of failure (or, for UPI, of pending) succeeds, and so does no method at all."""
    kind = method.get("type") if method else None
    if method is not None and kind == CARD:
        number = method.get("number")
        digits = card_digits(number) if isinstance(number, str) else None
        decline = _DECLINED_CARDS.get(digits) if digits is not None else None
        return Decision(Outcome.FAILED, decline) if decline else _SUCCEEDS
    if method is not None and kind == WALLET:
        return Decision(Outcome.FAILED, WALLET_DECLINED) if method.get("provider") == DECLINED_WALLET else _SUCCEEDS
    if method is not None and kind == NETBANKING:
        return Decision(Outcome.FAILED, BANK_DECLINED) if method.get("bank") == DECLINED_BANK else _SUCCEEDS
    # UPI, and a method of no known type, by the test vpa as before cards, wallets and banks existed
    outcome = _vpa_outcome(method)
    return Decision(outcome, UPI_DECLINED if outcome is Outcome.FAILED else None)


SAVED_METHOD: Final = "token"
SAVED_PREFIX: Final = "token_"


def saved_payment_id(method: Mapping[str, Any] | None) -> str | None:
    """The gateway payment a token charge names (`token_<id>` is `gw_<id>`'s token); None for any other method."""
    token = method.get("token") if method and method.get("type") == SAVED_METHOD else None
    if not isinstance(token, str) or not token.startswith(SAVED_PREFIX) or len(token) > 100:
        return None
    return "gw_" + token.removeprefix(SAVED_PREFIX)


def decide_token(saved_status: str | None, declines: bool) -> Decision:
    """A token charge succeeds when its payment was captured and no test switched it to decline."""
    if saved_status != CAPTURED:
        return Decision(Outcome.FAILED, TOKEN_INVALID)
    return Decision(Outcome.FAILED, TOKEN_DECLINED) if declines else _SUCCEEDS


def authorised_only(decision: Decision, capture: str) -> Decision:
    """A payment created for manual capture is authorised where it would have been captured."""
    return Decision(Outcome.AUTHORIZED) if capture == MANUAL and decision.outcome is Outcome.SUCCESS else decision


def capture_refusal(status: str, amount: int, currency: str, asked_amount: int, asked_currency: str) -> str | None:
    """Why a capture cannot be made; None when it can (or was made already, for this very amount)."""
    if status not in (AUTHORIZED, CAPTURED):
        return f"the payment is {status}, not authorized"
    if (asked_amount, asked_currency) != (amount, currency):
        return "amount and currency must be the authorised ones"
    return None


def outcome_for(method: Mapping[str, Any] | None) -> Outcome:
    """No method, or any vpa not starting with the failure or pending word, succeeds."""
    return decide(method).outcome


Reported = Literal["SUCCESS", "FAILED", "AUTHORIZED"]


class PaymentTerms(BaseModel):
    """What a payment is for, as decided at creation: the part every view of it shares. `method` is the
    method's summary (`payments_common.methods.summary`): a card's number and CVV are read to decide,
    never kept. The contract's camelCase names on the wire."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)

    id: str
    payment_id: str
    order_id: str
    amount: int
    currency: str
    method: dict[str, Any] | None


class NewPayment(PaymentTerms):
    """What `POST /v1/payments` decided before anything was stored."""

    signature: str
    # what the payment's FAILED webhooks report
    decline: Decline | None = None


def webhook_body(payment: NewPayment, reports: Outcome) -> dict[str, Any]:
    """The body of a webhook reporting `reports` (SUCCESS, FAILED or AUTHORIZED) for the payment."""
    decline = (payment.decline or UPI_DECLINED) if reports is Outcome.FAILED else None
    # built, not validated: the webhook gateway judges what a gateway sends, this one's as a real one's
    report = events.WebhookPayload.model_construct(
        orderId=payment.order_id,
        paymentId=payment.payment_id,
        gatewayPaymentId=payment.id,
        signature=payment.signature,
        # a delivery reports SUCCESS, FAILED or AUTHORIZED only: a pending payment has none planned
        status=cast(Reported, reports.value),
        amount=payment.amount,
        currency=payment.currency,
        method=payment.method,
        errorCode=decline.code if decline else None,
        errorDescription=decline.description if decline else None,
    )
    return report.contract_dict()
