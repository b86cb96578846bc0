"""The webhook gateway's configuration: the common part plus the two secrets it verifies with."""

from __future__ import annotations

from pydantic import Field, SecretStr
from yarl import URL

from payments_common.config import WEBHOOK_GATEWAY_PORT, CommonSettings, parse_webhook_secrets, port_of

SERVICE = "webhook-gateway"


class Settings(CommonSettings):
    # required, no defaults: a gateway that cannot verify must not start
    WEBHOOK_SECRETS: SecretStr
    PAYMENT_SIGNING_SECRET: SecretStr
    WEBHOOK_TOLERANCE_SECONDS: int = Field(default=300, gt=0)
    # below the gateway's own client timeout, so a stuck broker gives a 503 it can retry
    PUBLISH_TIMEOUT_SECONDS: float = Field(default=4.0, gt=0, le=30)

    @property
    def port(self) -> int:
        return port_of(self.WEBHOOK_GATEWAY_URL, WEBHOOK_GATEWAY_PORT)

    def webhook_keys(self) -> list[bytes]:
        return parse_webhook_secrets(self.WEBHOOK_SECRETS.get_secret_value())

    def payment_signing_key(self) -> bytes:
        return self.PAYMENT_SIGNING_SECRET.get_secret_value().encode()

    def secrets(self) -> list[str]:
        """Every value that must never reach a log line."""
        webhook_raw = self.WEBHOOK_SECRETS.get_secret_value()
        amqp_url = self.AMQP_URL.get_secret_value()
        values = [
            self.PAYMENT_SIGNING_SECRET.get_secret_value(),
            webhook_raw,
            *(part.strip() for part in webhook_raw.split(",")),
            amqp_url,
        ]
        password = URL(amqp_url).password
        if password:
            values.append(password)
        return [value for value in values if value]
