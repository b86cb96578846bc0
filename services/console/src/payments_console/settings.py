"""The console's configuration, from the environment."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator

from payments_common.config import BaseUrl, CommonSettings, port_of, secret_list_parts
from payments_console.auth.domain import parse_operators

SERVICE = "payments-console"
SCHEMA = "console"
CONSOLE_PORT = 8084


class Settings(CommonSettings):
    CONSOLE_URL: str = f"http://127.0.0.1:{CONSOLE_PORT}"
    # the merchant-webhooks process: its admin API (the delivery log, redeliveries) and its readiness
    MERCHANT_WEBHOOKS_URL: BaseUrl = "http://127.0.0.1:8085"
    # `name:hash` pairs, comma-separated; a hash from `payments-console hash-password`. Required: a console
    # with nobody allowed in has nothing to serve
    CONSOLE_OPERATORS: SecretStr
    # the services' admin APIs' bearer credential; sent by the console's server side only
    ADMIN_TOKEN: SecretStr
    # the session cookie's `Secure` flag: true wherever the console is served over https (any deployment);
    # false only for a local http console (`make run`, the tests), where a browser would not send it back
    CONSOLE_COOKIE_SECURE: bool = True
    # a session ends this long after its login, or this long after its operator last did anything
    CONSOLE_SESSION_TTL_SECONDS: float = Field(default=8 * 3600.0, gt=0)
    CONSOLE_SESSION_IDLE_SECONDS: float = Field(default=30 * 60.0, gt=0)
    # failed logins per operator name and address: this many at once, then one more per interval
    CONSOLE_LOGIN_BURST: int = Field(default=5, gt=0)
    CONSOLE_LOGIN_REFILL_SECONDS: float = Field(default=30.0, gt=0)
    # how often an open page refreshes its numbers
    CONSOLE_REFRESH_SECONDS: float = Field(default=5.0, gt=0)
    ADMIN_API_TIMEOUT_SECONDS: float = Field(default=10.0, gt=0)

    @field_validator("CONSOLE_URL")
    @classmethod
    def _strip_console_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("CONSOLE_OPERATORS")
    @classmethod
    def _operators_valid(cls, value: SecretStr) -> SecretStr:
        parse_operators(value.get_secret_value())
        return value

    @property
    def port(self) -> int:
        return port_of(self.CONSOLE_URL, CONSOLE_PORT)

    def secrets(self) -> list[str]:
        values = secret_list_parts(self.CONSOLE_OPERATORS.get_secret_value())
        values.append(self.ADMIN_TOKEN.get_secret_value())
        return values
