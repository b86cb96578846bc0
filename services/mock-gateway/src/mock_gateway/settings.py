"""The mock gateway's configuration: the common part, the signing secrets, and its test knobs."""

from __future__ import annotations

from pydantic import Field, SecretStr

from payments_common.config import MOCK_GATEWAY_PORT, CommonSettings, parse_webhook_secrets, port_of

SERVICE = "mock-gateway"


class Settings(CommonSettings):
    PAYMENT_SIGNING_SECRET: SecretStr
    WEBHOOK_SECRETS: SecretStr
    MOCK_GATEWAY_SETTLE_DELAY_MS: int = Field(default=200, ge=0)
    # how long a webhook keeps being retried; real gateways retry for hours to days
    MOCK_GATEWAY_RETRY_WINDOW_SECONDS: float = Field(default=900, gt=0)
    MOCK_GATEWAY_DELIVERY_TIMEOUT_SECONDS: float = Field(default=10, gt=0)

    @property
    def port(self) -> int:
        return port_of(self.MOCK_GATEWAY_URL, MOCK_GATEWAY_PORT)

    def webhook_signing_key(self) -> bytes:
        """The first secret signs; the others only verify (they exist for rotation)."""
        return parse_webhook_secrets(self.WEBHOOK_SECRETS.get_secret_value())[0]

    def payment_signing_key(self) -> bytes:
        return self.PAYMENT_SIGNING_SECRET.get_secret_value().encode()

    def secrets(self) -> list[str]:
        """Every value that must never reach a log line."""
        webhook_raw = self.WEBHOOK_SECRETS.get_secret_value()
        values = [
            self.PAYMENT_SIGNING_SECRET.get_secret_value(),
            webhook_raw,
            *(part.strip() for part in webhook_raw.split(",")),
        ]
        return [value for value in values if value]
