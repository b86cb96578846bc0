"""The gateway's payments, in memory: it is a simulator, and a restart forgets everything."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from payments_common.timeutil import iso, utcnow

CREATED = "created"


@dataclass(slots=True)
class GatewayPayment:
    id: str
    payment_id: str
    order_id: str
    amount: int
    currency: str
    method: dict[str, Any] | None
    signature: str
    status: str = CREATED
    created_at: datetime = field(default_factory=utcnow)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "paymentId": self.payment_id,
            "orderId": self.order_id,
            "amount": self.amount,
            "currency": self.currency,
            "method": self.method,
            "status": self.status,
            "signature": self.signature,
            "createdAt": iso(self.created_at),
        }


class PaymentStore:
    def __init__(self) -> None:
        self._by_id: dict[str, GatewayPayment] = {}
        self._id_by_payment_id: dict[str, str] = {}

    def get(self, gateway_payment_id: str) -> GatewayPayment | None:
        return self._by_id.get(gateway_payment_id)

    def find_by_payment_id(self, payment_id: str) -> GatewayPayment | None:
        gateway_payment_id = self._id_by_payment_id.get(payment_id)
        return None if gateway_payment_id is None else self._by_id[gateway_payment_id]

    def add(self, payment: GatewayPayment) -> None:
        if payment.payment_id in self._id_by_payment_id:
            raise ValueError("a gateway payment for this paymentId exists already")
        self._by_id[payment.id] = payment
        self._id_by_payment_id[payment.payment_id] = payment.id

    def __len__(self) -> int:
        return len(self._by_id)
