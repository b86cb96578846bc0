from __future__ import annotations

from email.utils import parseaddr
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from yarl import URL

from order_svc.emails.smtp import SmtpConfig, parse_smtp_url
from order_svc.merchants.sealing import Sealer, parse_sealing_keys
from payments_common.client_address import Cidrs
from payments_common.config import (
    ORDER_SVC_PORT,
    ApiKey,
    BaseUrl,
    PaymentServiceSettings,
    parse_api_keys,
    parse_bearer_tokens,
    port_of,
    refused_unless,
    secret_list_parts,
)

# KEY_SEALING_KEY as a setting: refused at start-up when an entry is not a 32-byte base64 key
SealingKeys = Annotated[SecretStr, refused_unless(parse_sealing_keys)]

SERVICE = "order-svc"
SCHEMA = "orders"
DEFAULT_SMTP_FROM = "Payments <receipts@payments.local>"


def parse_retry_days(value: str) -> tuple[int, ...]:
    """`1,3,5`: whole days, each 1 to 60; empty: no retry, a failed charge halts the subscription."""
    parts = [part.strip() for part in value.split(",") if part.strip()]
    if not all(part.isascii() and part.isdigit() and 1 <= int(part) <= 60 for part in parts):
        raise ValueError("SUBSCRIPTION_RETRY_DAYS must be comma-separated whole days, each 1 to 60")
    return tuple(int(part) for part in parts)


class Settings(PaymentServiceSettings):
    """`PAYMENT_SIGNING_SECRET`: `POST /payments/verify` accepts a signature made with any key;
    `INTERNAL_API_TOKEN`: the first is sent as the bearer token of every call to payment-svc's internal API."""

    API_KEYS: SecretStr
    PAYMENT_SVC_TIMEOUT_SECONDS: float = Field(default=15.0, gt=0)
    # the merchant-webhooks process, behind the webhook endpoints' routes (the same INTERNAL_API_TOKEN)
    MERCHANT_WEBHOOKS_URL: BaseUrl = "http://127.0.0.1:8085"
    # comma-separated base64 AES-256 keys that seal the merchants' key secrets (the first seals, all open;
    # order_svc/merchants/sealing.py); unset: new keys are kept as digests only and cannot sign callbacks
    KEY_SEALING_KEY: SealingKeys | None = None
    # where customers reach this service's hosted checkout pages: the base of each payment link's short_url
    CHECKOUT_URL: BaseUrl = f"http://127.0.0.1:{ORDER_SVC_PORT}"
    # per API key once authenticated, and per source address for failed authentications (order_svc/access/limits.py)
    API_RATE_PER_SECOND: float = Field(default=200.0, gt=0)
    API_RATE_BURST: int = Field(default=400, ge=1)
    # failed authentications per (key id presented, address), and per address whatever the key id
    AUTH_FAILURE_RATE_PER_SECOND: float = Field(default=5.0, gt=0)
    AUTH_FAILURE_RATE_BURST: int = Field(default=20, ge=1)
    AUTH_FAILURE_SOURCE_RATE_PER_SECOND: float = Field(default=20.0, gt=0)
    AUTH_FAILURE_SOURCE_RATE_BURST: int = Field(default=100, ge=1)
    # payments started from the public checkout pages, per source address and per page (a link or an
    # order): a card tester's rate, from one address or from many at one page, not a customer's retries
    CHECKOUT_PAYMENT_RATE_PER_SECOND: float = Field(default=1.0, gt=0)
    CHECKOUT_PAYMENT_RATE_BURST: int = Field(default=20, ge=1)
    CHECKOUT_PAGE_PAYMENT_RATE_PER_SECOND: float = Field(default=0.2, gt=0)
    CHECKOUT_PAGE_PAYMENT_RATE_BURST: int = Field(default=10, ge=1)
    # where the limits' buckets live, shared by every replica (payments_common/ratelimit_store.py); empty:
    # in this process's memory. A secret, since it may carry a password
    REDIS_URL: SecretStr = SecretStr("")
    # peers whose X-Forwarded-For names the client's address
    TRUSTED_PROXIES: Cidrs = ""
    # how long an Idempotency-Key is bound to its first request and answer (order_svc/idempotency/)
    IDEMPOTENCY_KEY_TTL_HOURS: float = Field(default=24.0, gt=0)
    # where the customer's payment email goes (order_svc/emails/smtp.py); empty: no email is sent, and the
    # payment's email row says SKIPPED. A secret, since it may carry a password
    SMTP_URL: SecretStr = SecretStr("")
    SMTP_FROM: str = DEFAULT_SMTP_FROM
    # the whole SMTP conversation of one message
    SMTP_TIMEOUT_SECONDS: float = Field(default=10.0, gt=0)
    # emails sent at once; each holds a database connection while its server answers
    MAILER_PREFETCH: int = Field(default=4, gt=0)
    # the subscriptions' scheduler (order_svc/subscriptions/scheduler.py): a pass this often, and at once
    # when a test clock moves
    SUBSCRIPTION_SCHEDULER_INTERVAL_SECONDS: float = Field(default=2.0, gt=0)
    # comma-separated days after a failed subscription charge before each retry; past the last, it halts
    SUBSCRIPTION_RETRY_DAYS: str = "1,3,5"

    @field_validator("SMTP_URL")
    @classmethod
    def _smtp_url_valid(cls, value: SecretStr) -> SecretStr:
        parse_smtp_url(value.get_secret_value())
        return value

    @field_validator("SUBSCRIPTION_RETRY_DAYS")
    @classmethod
    def _retry_days_valid(cls, value: str) -> str:
        parse_retry_days(value)
        return value

    def subscription_retry_days(self) -> tuple[int, ...]:
        return parse_retry_days(self.SUBSCRIPTION_RETRY_DAYS)

    @field_validator("SMTP_FROM")
    @classmethod
    def _smtp_from_valid(cls, value: str) -> str:
        _, address = parseaddr(value)
        if "@" not in address or any(char in value for char in "\r\n\x00"):
            raise ValueError("SMTP_FROM must be an address, optionally with a name: Name <user@domain>")
        return value

    @property
    def port(self) -> int:
        return port_of(self.ORDER_SVC_URL, ORDER_SVC_PORT)

    def smtp(self) -> SmtpConfig | None:
        return parse_smtp_url(self.SMTP_URL.get_secret_value())

    def api_keys(self) -> dict[str, ApiKey]:
        return parse_api_keys(self.API_KEYS.get_secret_value())

    def internal_api_token(self) -> str:
        return parse_bearer_tokens(self.INTERNAL_API_TOKEN.get_secret_value())[0].decode()

    def secrets(self) -> list[str]:
        return [
            *(key.secret.get_secret_value() for key in self.api_keys().values()),
            *secret_list_parts(self.PAYMENT_SIGNING_SECRET.get_secret_value()),
            *secret_list_parts(self.INTERNAL_API_TOKEN.get_secret_value()),
            *self._smtp_password(),
            *self._redis_url_parts(),
            *([self.ADMIN_TOKEN.get_secret_value()] if self.ADMIN_TOKEN is not None else []),
            *(secret_list_parts(self.KEY_SEALING_KEY.get_secret_value()) if self.KEY_SEALING_KEY else []),
        ]

    def sealer(self) -> Sealer | None:
        raw = self.KEY_SEALING_KEY
        return Sealer(parse_sealing_keys(raw.get_secret_value())) if raw is not None else None

    def _redis_url_parts(self) -> list[str]:
        url = self.REDIS_URL.get_secret_value()
        return [part for part in (url, URL(url).password if url else None) if part]

    def _smtp_password(self) -> list[str]:
        smtp = self.smtp()
        return [smtp.password] if smtp is not None and smtp.password else []
