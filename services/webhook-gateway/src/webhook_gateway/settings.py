"""The webhook gateway's configuration: the common part plus the two secrets it verifies with."""

from __future__ import annotations

from pydantic import Field, SecretStr
from yarl import URL

from payments_common.client_address import Cidrs
from payments_common.config import WEBHOOK_GATEWAY_PORT, GatewaySecretsSettings, port_of

SERVICE = "webhook-gateway"


class Settings(GatewaySecretsSettings):
    # WEBHOOK_SECRETS and PAYMENT_SIGNING_SECRET (required) come with the base: every key verifies
    WEBHOOK_TOLERANCE_SECONDS: int = Field(default=300, gt=0)
    # below the gateway's own client timeout, so a stuck broker gives a 503 it can retry
    PUBLISH_TIMEOUT_SECONDS: float = Field(default=4.0, gt=0, le=30)
    # who may deliver webhooks, and whose X-Forwarded-For is believed (webhook_gateway/ingress/limits.py)
    WEBHOOK_ALLOWED_CIDRS: Cidrs = "127.0.0.0/8,::1/128"
    TRUSTED_PROXIES: Cidrs = ""
    # per source address: requests whose webhook signature verifies, and the far tighter budget of those
    # that do not (a genuine gateway rarely fails; a forger always does)
    WEBHOOK_RATE_PER_SECOND: float = Field(default=1000.0, gt=0)
    WEBHOOK_RATE_BURST: int = Field(default=2000, ge=1)
    WEBHOOK_UNVERIFIED_RATE_PER_SECOND: float = Field(default=10.0, gt=0)
    WEBHOOK_UNVERIFIED_RATE_BURST: int = Field(default=50, ge=1)
    # how long the answer to a request refused by the allowlist or an empty unverified bucket is held
    WEBHOOK_REFUSAL_DELAY_SECONDS: float = Field(default=1.0, ge=0, le=30)
    # where the per-source buckets live, shared by every replica (payments_common/ratelimit_store.py);
    # empty: in this process's memory. A secret, since it may carry a password
    REDIS_URL: SecretStr = SecretStr("")

    @property
    def port(self) -> int:
        return port_of(self.WEBHOOK_GATEWAY_URL, WEBHOOK_GATEWAY_PORT)

    def secrets(self) -> list[str]:
        """Every value that must never reach a log line."""
        values = [*self.gateway_secret_parts()]
        for url in (self.AMQP_URL.get_secret_value(), self.REDIS_URL.get_secret_value()):
            values.extend([url, URL(url).password or ""] if url else [])
        return [value for value in values if value]
