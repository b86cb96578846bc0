from __future__ import annotations

from pydantic import Field

from payment_svc.reconciliation.reconciler import ReconcileConfig
from payments_common.config import (
    PAYMENT_SVC_PORT,
    PaymentServiceSettings,
    parse_bearer_tokens,
    port_of,
    secret_list_parts,
)

SERVICE = "payment-svc"
SCHEMA = "payments"


class Settings(PaymentServiceSettings):
    """`PAYMENT_SIGNING_SECRET`: every key verifies the gateway's signatures; `INTERNAL_API_TOKEN`: every
    token is accepted on an `/internal/` call (several while one is rotated)."""

    GATEWAY_TIMEOUT_SECONDS: float = Field(default=10.0, gt=0)
    # reconciliation: thresholds well above the second or so a webhook normally takes
    RECONCILE_INTERVAL_SECONDS: float = Field(default=30.0, gt=0)
    RECONCILE_AFTER_SECONDS: float = Field(default=120.0, ge=0)
    PAYMENT_EXPIRY_SECONDS: float = Field(default=900.0, gt=0)
    ORDER_CONFIRM_AFTER_SECONDS: float = Field(default=120.0, ge=0)
    # an authorisation (a payment made for manual capture) nobody captured for this long is voided (5 days)
    AUTHORIZATION_VOID_AFTER_SECONDS: float = Field(default=432000.0, gt=0)

    def reconcile_config(self) -> ReconcileConfig:
        return ReconcileConfig(
            after_seconds=self.RECONCILE_AFTER_SECONDS,
            expiry_seconds=self.PAYMENT_EXPIRY_SECONDS,
            confirm_after_seconds=self.ORDER_CONFIRM_AFTER_SECONDS,
            void_after_seconds=self.AUTHORIZATION_VOID_AFTER_SECONDS,
        )

    @property
    def port(self) -> int:
        return port_of(self.PAYMENT_SVC_URL, PAYMENT_SVC_PORT)

    def internal_api_tokens(self) -> tuple[bytes, ...]:
        return tuple(parse_bearer_tokens(self.INTERNAL_API_TOKEN.get_secret_value()))

    def secrets(self) -> list[str]:
        values = secret_list_parts(self.PAYMENT_SIGNING_SECRET.get_secret_value())
        values.extend(secret_list_parts(self.INTERNAL_API_TOKEN.get_secret_value()))
        if self.ADMIN_TOKEN is not None:
            values.append(self.ADMIN_TOKEN.get_secret_value())
        return values
