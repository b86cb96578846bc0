from __future__ import annotations

from pydantic import Field, SecretStr

from merchant_webhooks.deliveries.domain import RetryPolicy
from merchant_webhooks.egress.domain import EgressRules, parse_hosts
from payments_common.config import (
    BaseUrl,
    BearerTokens,
    CommonSettings,
    parse_bearer_tokens,
    port_of,
    secret_list_parts,
)

SERVICE = "merchant-webhooks"
SCHEMA = "merchant_webhooks"
MERCHANT_WEBHOOKS_PORT = 8085


class Settings(CommonSettings):
    """`INTERNAL_API_TOKEN`: what order-svc sends on the `/internal/` API (every token of the list is
    accepted, several while one is rotated); `ADMIN_TOKEN`: the operators' `/admin/` API (unset: closed)."""

    MERCHANT_WEBHOOKS_URL: BaseUrl = f"http://127.0.0.1:{MERCHANT_WEBHOOKS_PORT}"
    INTERNAL_API_TOKEN: BearerTokens
    ADMIN_TOKEN: SecretStr | None = None
    CONSUMER_PREFETCH: int = Field(default=32, gt=0)
    # after a rotation the previous secret keeps signing beside the new one this long (24 h)
    WEBHOOK_SECRET_OVERLAP_SECONDS: float = Field(default=86400.0, ge=0)
    # a delivery is retried this long after its first attempt (24 h), then given up (`failed`)
    WEBHOOK_RETRY_FOR_SECONDS: float = Field(default=86400.0, gt=0)
    # the backoff: the n-th retry waits a random time up to min(max, base * 2^(n-1)) (full jitter)
    WEBHOOK_RETRY_BASE_SECONDS: float = Field(default=10.0, gt=0)
    WEBHOOK_RETRY_MAX_DELAY_SECONDS: float = Field(default=3600.0, gt=0)
    # an endpoint with no successful attempt for this long while failing is disabled (and its merchant told)
    WEBHOOK_DISABLE_AFTER_SECONDS: float = Field(default=86400.0, gt=0)
    # one attempt: a 2xx within this is delivered, anything later is a failure
    WEBHOOK_ATTEMPT_TIMEOUT_SECONDS: float = Field(default=5.0, gt=0, le=60)
    # attempts in flight at once per endpoint, and in all, in one process
    WEBHOOK_ENDPOINT_CONCURRENCY: int = Field(default=4, gt=0, le=100)
    WEBHOOK_MAX_IN_FLIGHT: int = Field(default=64, gt=0, le=10_000)
    # hosts that may be called over plain http, and may be loopback or private (local runs and tests only)
    WEBHOOK_ALLOWED_HTTP_HOSTS: str = ""
    # how often the worker looks for due deliveries when nothing woke it (another instance's new work)
    WEBHOOK_POLL_INTERVAL_SECONDS: float = Field(default=0.5, gt=0)

    @property
    def port(self) -> int:
        return port_of(self.MERCHANT_WEBHOOKS_URL, MERCHANT_WEBHOOKS_PORT)

    def internal_api_tokens(self) -> tuple[bytes, ...]:
        return tuple(parse_bearer_tokens(self.INTERNAL_API_TOKEN.get_secret_value()))

    def egress_rules(self) -> EgressRules:
        return EgressRules(allowed_http_hosts=parse_hosts(self.WEBHOOK_ALLOWED_HTTP_HOSTS))

    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(
            retry_for_seconds=self.WEBHOOK_RETRY_FOR_SECONDS,
            base_seconds=self.WEBHOOK_RETRY_BASE_SECONDS,
            max_delay_seconds=self.WEBHOOK_RETRY_MAX_DELAY_SECONDS,
            disable_after_seconds=self.WEBHOOK_DISABLE_AFTER_SECONDS,
        )

    def secrets(self) -> list[str]:
        values = secret_list_parts(self.INTERNAL_API_TOKEN.get_secret_value())
        if self.ADMIN_TOKEN is not None:
            values.append(self.ADMIN_TOKEN.get_secret_value())
        return values
