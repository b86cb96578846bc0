from __future__ import annotations

from pydantic import Field, SecretStr

from payments_common.config import PAYMENT_SVC_PORT, CommonSettings, port_of

SERVICE = "payment-svc"
SCHEMA = "payments"


class Settings(CommonSettings):
    PAYMENT_SIGNING_SECRET: SecretStr
    GATEWAY_TIMEOUT_SECONDS: float = Field(default=10.0, gt=0)
    CONSUMER_PREFETCH: int = Field(default=32, gt=0)

    @property
    def port(self) -> int:
        return port_of(self.PAYMENT_SVC_URL, PAYMENT_SVC_PORT)

    def secrets(self) -> list[str]:
        return [self.PAYMENT_SIGNING_SECRET.get_secret_value()]
