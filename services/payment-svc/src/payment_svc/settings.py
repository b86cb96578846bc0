from __future__ import annotations

from pydantic import Field, SecretStr

from payment_svc.reconciliation.reconciler import ReconcileConfig
from payments_common.config import (
    PAYMENT_SVC_PORT,
    BearerTokens,
    CommonSettings,
    SigningSecrets,
    parse_bearer_tokens,
    parse_signing_secrets,
    port_of,
    secret_list_parts,
)

SERVICE = "payment-svc"
SCHEMA = "payments"


class Settings(CommonSettings):
    # comma-separated: every key verifies the gateway's signatures (several while a key is rotated)
    PAYMENT_SIGNING_SECRET: SigningSecrets
    GATEWAY_TIMEOUT_SECONDS: float = Field(default=10.0, gt=0)
    CONSUMER_PREFETCH: int = Field(default=32, gt=0)
    # reconciliation: thresholds well above the second or so a webhook normally takes
    RECONCILE_INTERVAL_SECONDS: float = Field(default=30.0, gt=0)
    RECONCILE_AFTER_SECONDS: float = Field(default=120.0, ge=0)
    PAYMENT_EXPIRY_SECONDS: float = Field(default=900.0, gt=0)
    ORDER_CONFIRM_AFTER_SECONDS: float = Field(default=120.0, ge=0)
    # bearer credential of the admin API; unset, the admin API refuses every call
    ADMIN_TOKEN: SecretStr | None = None
    # bearer credential order-svc sends on every `/internal/` call; comma-separated, every token is
    # accepted (several while one is rotated). Required: the internal API has no unauthenticated mode
    INTERNAL_API_TOKEN: BearerTokens

    def reconcile_config(self) -> ReconcileConfig:
        return ReconcileConfig(
            after_seconds=self.RECONCILE_AFTER_SECONDS,
            expiry_seconds=self.PAYMENT_EXPIRY_SECONDS,
            confirm_after_seconds=self.ORDER_CONFIRM_AFTER_SECONDS,
        )

    @property
    def port(self) -> int:
        return port_of(self.PAYMENT_SVC_URL, PAYMENT_SVC_PORT)

    def payment_signing_keys(self) -> tuple[bytes, ...]:
        return tuple(parse_signing_secrets(self.PAYMENT_SIGNING_SECRET.get_secret_value()))

    def internal_api_tokens(self) -> tuple[bytes, ...]:
        return tuple(parse_bearer_tokens(self.INTERNAL_API_TOKEN.get_secret_value()))

    def secrets(self) -> list[str]:
        values = secret_list_parts(self.PAYMENT_SIGNING_SECRET.get_secret_value())
        values.extend(secret_list_parts(self.INTERNAL_API_TOKEN.get_secret_value()))
        if self.ADMIN_TOKEN is not None:
            values.append(self.ADMIN_TOKEN.get_secret_value())
        return values
