"""The mock gateway's configuration: the common part, the signing secrets, and its test knobs."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from mock_gateway.delivery.faults import Fault, parse_fault_rates
from payments_common.config import MOCK_GATEWAY_PORT, GatewaySecretsSettings, port_of

SERVICE = "mock-gateway"
SCHEMA = "gateway"


class Settings(GatewaySecretsSettings):
    # PAYMENT_SIGNING_SECRET and WEBHOOK_SECRETS (required) come with the base: the gateway signs with the
    # first key of each only
    MOCK_GATEWAY_SETTLE_DELAY_MS: int = Field(default=200, ge=0)
    # how long a webhook keeps being retried, from its creation; real gateways retry for hours to days
    MOCK_GATEWAY_RETRY_WINDOW_SECONDS: float = Field(default=900, gt=0)
    MOCK_GATEWAY_DELIVERY_TIMEOUT_SECONDS: float = Field(default=10, gt=0)
    # per-run fault injection (see mock_gateway.delivery.faults): `name=probability,…`, empty for none
    MOCK_GATEWAY_FAULTS: str = ""
    MOCK_GATEWAY_FAULT_DELAY_MS: int = Field(default=3000, ge=0)
    # replays the per-run random draw; unset, every run draws differently
    MOCK_GATEWAY_FAULT_SEED: int | None = None

    @field_validator("MOCK_GATEWAY_FAULTS")
    @classmethod
    def _faults_valid(cls, value: str) -> str:
        parse_fault_rates(value)
        return value

    @field_validator("MOCK_GATEWAY_FAULT_SEED", mode="before")
    @classmethod
    def _empty_seed_is_unset(cls, value: Any) -> Any:
        # compose and env files pass an unset variable as an empty string
        return None if isinstance(value, str) and not value.strip() else value

    @property
    def port(self) -> int:
        return port_of(self.MOCK_GATEWAY_URL, MOCK_GATEWAY_PORT)

    @property
    def fault_rates(self) -> dict[Fault, float]:
        return parse_fault_rates(self.MOCK_GATEWAY_FAULTS)

    def webhook_signing_key(self) -> bytes:
        """The first secret signs; the others only verify (they exist for rotation)."""
        return self.webhook_keys()[0]

    def payment_signing_key(self) -> bytes:
        """The first key signs; the rest are unused here, so one shared list can serve signer and verifiers."""
        return self.payment_signing_keys()[0]

    def secrets(self) -> list[str]:
        """Every value that must never reach a log line."""
        return [value for value in self.gateway_secret_parts() if value]
