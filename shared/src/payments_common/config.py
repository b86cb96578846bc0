"""Configuration from the environment, by the names the public contract fixes.

No secret has a default: a service that needs one refuses to start without it, and the
developer tooling generates local values into `.env` instead.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, TypeVar

from pydantic import AfterValidator, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/payments"
DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
# the rate limits' shared store as payments-stack and scripts/ensure-services.sh run it; the services'
# own default is none (REDIS_URL empty: limits in each process's memory)
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"

ORDER_SVC_PORT = 8080
WEBHOOK_GATEWAY_PORT = 8081
PAYMENT_SVC_PORT = 8082
MOCK_GATEWAY_PORT = 8083


_Setting = TypeVar("_Setting", str, SecretStr)


class ConfigError(ValueError):
    """A configuration value is missing or malformed; the message never contains the value."""


@dataclass(frozen=True, slots=True)
class ApiKey:
    key_id: str
    secret: SecretStr

    @property
    def merchant_id(self) -> str:
        # each key is one merchant: the key id names it
        return self.key_id


def colon_entries(raw: str) -> Iterator[tuple[int, str, str, str]]:
    """The entries of a `a:b,c:d` setting, numbered from 1 (empty ones skipped but counted), each as
    `str.partition(":")` splits it."""
    for n, item in enumerate(part.strip() for part in raw.split(",")):
        if item:
            yield (n + 1, *item.partition(":"))


def parse_api_keys(raw: str) -> dict[str, ApiKey]:
    keys: dict[str, ApiKey] = {}
    for n, key_id, sep, secret in colon_entries(raw):
        if not sep or not key_id.strip() or not secret.strip():
            raise ConfigError(f"API_KEYS entry {n} is not key_id:key_secret")
        keys[key_id.strip()] = ApiKey(key_id.strip(), SecretStr(secret.strip()))
    if not keys:
        raise ConfigError("API_KEYS holds no key")
    return keys


def parse_webhook_secrets(raw: str) -> list[bytes]:
    """`whsec_` + base64 secrets, comma-separated; the first signs, all verify."""
    secrets: list[bytes] = []
    for n, item in enumerate(part.strip() for part in raw.split(",")):
        if not item:
            continue
        encoded = item.removeprefix("whsec_")
        try:
            key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
        except (binascii.Error, ValueError):
            raise ConfigError(f"WEBHOOK_SECRETS entry {n + 1} is not base64") from None
        if len(key) < 16:
            raise ConfigError(f"WEBHOOK_SECRETS entry {n + 1} is shorter than 16 bytes")
        secrets.append(key)
    if not secrets:
        raise ConfigError("WEBHOOK_SECRETS holds no secret")
    return secrets


def parse_signing_secrets(raw: str, name: str = "PAYMENT_SIGNING_SECRET") -> list[bytes]:
    """Comma-separated HMAC keys; the first signs, all verify (several only while a key is rotated).

    A single value is a list of one. An empty entry is refused rather than skipped: `old,` or `,new`
    is a half-edited rotation, and skipping it would silently drop the key that was meant to stay.
    """
    secrets: list[bytes] = []
    for n, item in enumerate(part.strip() for part in raw.split(",")):
        if not item:
            raise ConfigError(f"{name} entry {n + 1} is empty")
        secrets.append(item.encode())
    return secrets


def refused_unless(parse: Callable[[str], object]) -> AfterValidator:
    """A setting's check at start-up: the value (a secret's revealed) must get through `parse`."""

    def check(value: _Setting) -> _Setting:
        parse(value.get_secret_value() if isinstance(value, SecretStr) else value)
        return value

    return AfterValidator(check)


# PAYMENT_SIGNING_SECRET as a setting: refused at start-up when an entry is empty
SigningSecrets = Annotated[SecretStr, refused_unless(parse_signing_secrets)]


# RFC 6750's token characters, so that a token goes into a header as it is; long enough not to be guessed
_BEARER_TOKEN = re.compile(r"[A-Za-z0-9._~+/-]{16,}=*")


def parse_bearer_tokens(raw: str, name: str = "INTERNAL_API_TOKEN") -> list[bytes]:
    """Comma-separated bearer tokens; the first is sent, all are accepted (several only while one is
    rotated). An empty entry is refused as in `parse_signing_secrets`; so is one shorter than 16
    characters or with a character a header cannot carry as it is."""
    tokens: list[bytes] = []
    for n, item in enumerate(part.strip() for part in raw.split(",")):
        if not item:
            raise ConfigError(f"{name} entry {n + 1} is empty")
        if not _BEARER_TOKEN.fullmatch(item):
            raise ConfigError(f"{name} entry {n + 1} is not 16 or more of A-Z a-z 0-9 . _ ~ + / -")
        tokens.append(item.encode())
    return tokens


# INTERNAL_API_TOKEN as a setting: refused at start-up when an entry is empty or malformed
BearerTokens = Annotated[SecretStr, refused_unless(parse_bearer_tokens)]


def secret_list_parts(raw: str, prefix: str = "") -> list[str]:
    """What must be masked of a comma-separated secret list: the whole value, each entry, and each
    entry without `prefix` (a `whsec_` secret's base64 part is the key just as much)."""
    parts = [raw]
    for entry in (part.strip() for part in raw.split(",")):
        parts.append(entry)
        if prefix and entry.startswith(prefix):
            parts.append(entry.removeprefix(prefix))
    return [part for part in parts if part]


def parse_retry_delays(raw: str) -> tuple[int, ...]:
    """`RETRY_DELAYS_MS`: comma-separated delays in milliseconds, one per retry tier, each > 0."""
    try:
        delays = tuple(int(part) for part in raw.split(",") if part.strip())
    except ValueError:
        raise ValueError("RETRY_DELAYS_MS must be comma-separated integers") from None
    if not delays or any(delay <= 0 for delay in delays):
        raise ValueError("RETRY_DELAYS_MS needs at least one delay, each > 0")
    return delays


# the consumers' delay tiers as a setting
RetryDelays = Annotated[str, refused_unless(parse_retry_delays)]
# a service's URL as a setting: without a trailing slash, so that paths join onto it
BaseUrl = Annotated[str, AfterValidator(lambda value: value.rstrip("/"))]


class CommonSettings(BaseSettings):
    """What every process reads; each service adds its own part."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", case_sensitive=True)

    DATABASE_URL: str = DEFAULT_DATABASE_URL
    AMQP_URL: SecretStr = SecretStr(DEFAULT_AMQP_URL)
    ORDER_SVC_URL: BaseUrl = f"http://127.0.0.1:{ORDER_SVC_PORT}"
    WEBHOOK_GATEWAY_URL: BaseUrl = f"http://127.0.0.1:{WEBHOOK_GATEWAY_PORT}"
    PAYMENT_SVC_URL: BaseUrl = f"http://127.0.0.1:{PAYMENT_SVC_PORT}"
    MOCK_GATEWAY_URL: BaseUrl = f"http://127.0.0.1:{MOCK_GATEWAY_PORT}"
    HOST: str = "127.0.0.1"
    LOG_LEVEL: str = "INFO"
    MAX_BODY_BYTES: int = Field(default=64 * 1024, gt=0)
    DB_POOL_SIZE: int = Field(default=10, gt=0)
    # the consumers' delay tiers; queue names carry the delay, so changing it declares new tiers
    RETRY_DELAYS_MS: RetryDelays = "500,2000,10000,30000,120000"
    # inbox claims must outlive every redelivery, a dead letter waiting for an operator included
    INBOX_RETENTION_DAYS: float = Field(default=30.0, gt=0)
    OUTBOX_RETENTION_DAYS: float = Field(default=7.0, gt=0)

    @property
    def retry_delays_ms(self) -> tuple[int, ...]:
        return parse_retry_delays(self.RETRY_DELAYS_MS)


class PaymentServiceSettings(CommonSettings):
    """What order-svc and payment-svc both read."""

    # comma-separated: a payment signature verifies with any key (several while one is rotated)
    PAYMENT_SIGNING_SECRET: SigningSecrets
    # the bearer credential of payment-svc's `/internal/` API, comma-separated: order-svc sends the first,
    # payment-svc accepts every one. Required: the internal API has no unauthenticated mode
    INTERNAL_API_TOKEN: BearerTokens
    CONSUMER_PREFETCH: int = Field(default=32, gt=0)
    # bearer credential of the admin API (`/admin/`, what the operators' console reads); unset, the admin
    # API refuses every call (403)
    ADMIN_TOKEN: SecretStr | None = None

    def payment_signing_keys(self) -> tuple[bytes, ...]:
        return tuple(parse_signing_secrets(self.PAYMENT_SIGNING_SECRET.get_secret_value()))


def port_of(url: str, default: int) -> int:
    from yarl import URL

    return URL(url).port or default


class GatewaySecretsSettings(CommonSettings):
    """The two secrets of the gateway's reports, for the two services that hold both: the gateway signs with
    the first key of each list, the webhook gateway verifies with every key (several while one is rotated)."""

    # required, no defaults: a gateway that cannot sign, or a webhook gateway that cannot verify, must not start
    WEBHOOK_SECRETS: SecretStr
    PAYMENT_SIGNING_SECRET: SigningSecrets

    def webhook_keys(self) -> list[bytes]:
        return parse_webhook_secrets(self.WEBHOOK_SECRETS.get_secret_value())

    def payment_signing_keys(self) -> list[bytes]:
        return parse_signing_secrets(self.PAYMENT_SIGNING_SECRET.get_secret_value())

    def gateway_secret_parts(self) -> list[str]:
        """What must be masked of the two lists (see `secret_list_parts`)."""
        return [
            *secret_list_parts(self.PAYMENT_SIGNING_SECRET.get_secret_value()),
            *secret_list_parts(self.WEBHOOK_SECRETS.get_secret_value(), prefix="whsec_"),
        ]
