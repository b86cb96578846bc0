"""The rules of the /v1 surface: how a native order, attempt and refund read as Razorpay's entities, how
a native error reads as Razorpay's, and the checkout signature. Pure: no I/O."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from order_svc.orders.domain import Order, OrderStatus
from order_svc.payments.domain import PaymentView
from order_svc.refunds.domain import RefundView, amount_refunded
from payments_common.errors import BAD_REQUEST, GATEWAY_ERROR, NOT_FOUND, SERVER_ERROR

PREFIX = "/v1"
# the SDK's `payment.fetchPaymentMethods` asks for `/methods`, outside /v1: answered the /v1 way too
METHODS_ALIAS = "/methods"
NO_SUCH_ID = "The id provided does not exist"
NO_SUCH_URL = "The requested URL was not found on the server."


def on_surface(path: str) -> bool:
    return path in (PREFIX, METHODS_ALIAS) or path.startswith(PREFIX + "/")


def unix(moment: datetime) -> int:
    return int(moment.timestamp())


# --- orders -----------------------------------------------------------------------------------------


def order_status(order: Order, attempts: int) -> str:
    """`created` until a payment is tried, `attempted` once one was (and none paid it), `paid`."""
    if order.status == OrderStatus.PAID:
        return "paid"
    return "attempted" if attempts > 0 else "created"


def amount_paid(order: Order) -> int:
    return order.amount if order.status == OrderStatus.PAID else 0


# --- payments ---------------------------------------------------------------------------------------

_PAYMENT_STATUS = {"INITIATED": "created", "AUTHORIZED": "authorized", "SUCCESS": "captured", "FAILED": "failed"}
# where a decline comes from, by the native error code (api.md, "Test values"); anything else is the gateway's
_DECLINED_BY = {
    "CARD_DECLINED": "bank",
    "INSUFFICIENT_FUNDS": "customer",
    "UPI_DECLINED": "customer",
    "WALLET_DECLINED": "customer",
    "BANK_DECLINED": "bank",
    "EXPIRED": "customer",
}


def payment_status(view: PaymentView, refunded: int) -> str:
    """A captured payment whose refunds (not failed) take all of it reads `refunded`."""
    if view.status == "SUCCESS" and refunded >= view.amount:
        return "refunded"
    return _PAYMENT_STATUS.get(view.status, "created")


def refund_status(view: PaymentView, refunded: int) -> str | None:
    if refunded <= 0:
        return None
    return "full" if refunded >= view.amount else "partial"


def refunded_of(view: PaymentView, refunds: Sequence[RefundView]) -> int:
    return amount_refunded(refunds, view.id)


def payment_error(view: PaymentView) -> dict[str, Any]:
    """Razorpay's `error_*` fields of a failed payment (all null otherwise)."""
    if view.status != "FAILED":
        return {key: None for key in ("error_code", "error_description", "error_source", "error_step", "error_reason")}
    code = view.error_code or "PAYMENT_FAILED"
    source = _DECLINED_BY.get(code, "gateway")
    return {
        "error_code": BAD_REQUEST if source != "gateway" else GATEWAY_ERROR,
        "error_description": view.error_description or "Payment failed",
        "error_source": source,
        "error_step": "payment_authorization",
        "error_reason": code.lower(),
    }


def method_fields(summary: dict[str, Any] | None) -> dict[str, Any]:
    """`method` and its own field (`card`, `vpa`, `wallet`, `bank`) from the native method summary."""
    fields: dict[str, Any] = {"method": None, "card": None, "vpa": None, "wallet": None, "bank": None}
    if summary is None:
        return fields
    kind = summary.get("type")
    if kind == "card":
        fields["method"] = "card"
        fields["card"] = {
            "entity": "card",
            "last4": summary.get("last4"),
            "network": summary.get("network"),
            "expiry_month": summary.get("expiryMonth"),
            "expiry_year": summary.get("expiryYear"),
        }
    elif kind == "upi":
        fields["method"], fields["vpa"] = "upi", summary.get("vpa")
    elif kind == "wallet":
        fields["method"], fields["wallet"] = "wallet", summary.get("provider")
    elif kind == "netbanking":
        fields["method"], fields["bank"] = "netbanking", summary.get("bank")
    return fields


def checkout_signature(key_secret: str, order_id: str, payment_id: str) -> str:
    """What Razorpay's checkout hands the merchant's front end, and `client.utility.verify_payment_signature`
    checks: hex(HMAC-SHA256(key_secret, order_id|razorpay_payment_id))."""
    return hmac.new(key_secret.encode(), f"{order_id}|{payment_id}".encode(), hashlib.sha256).hexdigest()


def signable(view: PaymentView) -> bool:
    """A payment gets its checkout signature once the money is authorised (or captured)."""
    return view.status in ("AUTHORIZED", "SUCCESS")


# --- refunds ----------------------------------------------------------------------------------------

_REFUND_STATUS = {"PENDING": "pending", "PROCESSED": "processed", "FAILED": "failed"}


def refund_state(refund: RefundView) -> str:
    return _REFUND_STATUS.get(refund.status, "pending")


# --- errors -----------------------------------------------------------------------------------------

# statuses a client error keeps (the SDK reads the code; these carry headers or meanings of their own)
_KEPT = frozenset({400, 401, 408, 413, 429})
# an Idempotency-Key's refusals keep theirs too: a key in use is retried (409, Retry-After), a key reused
# with another request is the client's mistake to fix (422), as on the native API
_KEPT_CODES = frozenset({"IDEMPOTENCY_KEY_IN_USE", "IDEMPOTENCY_KEY_REUSED"})


def razorpay_error(status: int, error: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """A native error answer (`{"error": {code, description, field?}}` with `status`) as Razorpay gives
    it: `BAD_REQUEST_ERROR` for the client's faults (400, but for 401, 408, 413 and 429), a missing id
    or route as Razorpay words it, `GATEWAY_ERROR` where the gateway failed, `SERVER_ERROR` for ours."""
    code = str(error.get("code", ""))
    description = str(error.get("description", ""))
    field = error.get("field") if isinstance(error.get("field"), str) else None
    if status >= 500:
        new_code = GATEWAY_ERROR if status == 502 or code == GATEWAY_ERROR else SERVER_ERROR
        source, new_status = ("gateway" if new_code == GATEWAY_ERROR else "internal"), status
    else:
        new_code, source = BAD_REQUEST, "business"
        new_status = status if status in _KEPT or code in _KEPT_CODES else 400
        if status == 404:
            description = NO_SUCH_ID if code == NOT_FOUND and description.endswith(" not found") else NO_SUCH_URL
    reason = "input_validation_failed" if code == BAD_REQUEST else code.lower() or "NA"
    body: dict[str, Any] = {
        "code": new_code,
        "description": description,
        "field": field,
        "source": source,
        "step": "NA",
        "reason": reason,
        "metadata": {},
    }
    return new_status, {"error": body}
