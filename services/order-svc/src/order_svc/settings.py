from __future__ import annotations

from pydantic import Field, SecretStr

from payments_common.client_address import Cidrs
from payments_common.config import (
    ORDER_SVC_PORT,
    ApiKey,
    CommonSettings,
    SigningSecrets,
    parse_api_keys,
    parse_signing_secrets,
    port_of,
    secret_list_parts,
)

SERVICE = "order-svc"
SCHEMA = "orders"


class Settings(CommonSettings):
    API_KEYS: SecretStr
    # comma-separated, as payment-svc reads it: `POST /payments/verify` accepts a signature made with any key
    PAYMENT_SIGNING_SECRET: SigningSecrets
    PAYMENT_SVC_TIMEOUT_SECONDS: float = Field(default=15.0, gt=0)
    CONSUMER_PREFETCH: int = Field(default=32, gt=0)
    # per API key once authenticated, and per source address for failed authentications (order_svc/limits.py)
    API_RATE_PER_SECOND: float = Field(default=200.0, gt=0)
    API_RATE_BURST: int = Field(default=400, ge=1)
    AUTH_FAILURE_RATE_PER_SECOND: float = Field(default=5.0, gt=0)
    AUTH_FAILURE_RATE_BURST: int = Field(default=20, ge=1)
    # peers whose X-Forwarded-For names the client's address
    TRUSTED_PROXIES: Cidrs = ""
    # how long an Idempotency-Key is bound to its first request and answer (order_svc/idempotency.py)
    IDEMPOTENCY_KEY_TTL_HOURS: float = Field(default=24.0, gt=0)

    @property
    def port(self) -> int:
        return port_of(self.ORDER_SVC_URL, ORDER_SVC_PORT)

    def api_keys(self) -> dict[str, ApiKey]:
        return parse_api_keys(self.API_KEYS.get_secret_value())

    def payment_signing_keys(self) -> tuple[bytes, ...]:
        return tuple(parse_signing_secrets(self.PAYMENT_SIGNING_SECRET.get_secret_value()))

    def secrets(self) -> list[str]:
        return [
            *(key.secret.get_secret_value() for key in self.api_keys().values()),
            *secret_list_parts(self.PAYMENT_SIGNING_SECRET.get_secret_value()),
        ]
