"""The merchant-webhooks process's internal API, one pydantic model per request and answer: merchant-webhooks
answers with them and order-svc, which puts the merchant-facing routes in front of it, reads those answers
and sends those requests with them. Answers ignore unknown fields, so the process may add to an answer
without breaking a reader; requests refuse them, so a misspelt field is an error rather than ignored."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictStr, model_validator

from payments_common.events import MERCHANT_EVENT_NAMES
from payments_common.openapi import Timestamp
from payments_common.storable import has_nul

ENDPOINT_PREFIX = "whep"
DELIVERY_PREFIX = "whdl"
# an endpoint subscribed to every event, present and future
ALL_EVENTS = "*"

EndpointStatus = Literal["enabled", "disabled"]
# `failed`: retried for the whole retry period without a 2xx, given up (a redelivery starts a new series)
DeliveryStatus = Literal["pending", "delivered", "failed"]


def _no_nul(value: str) -> str:
    if has_nul(value):
        raise ValueError("must not contain NUL characters")
    return value


def _known_events(value: list[str]) -> list[str]:
    unknown = [name for name in value if name != ALL_EVENTS and name not in MERCHANT_EVENT_NAMES]
    if unknown:
        raise ValueError(
            f"unknown event name(s) {', '.join(sorted(set(unknown)))}; "
            f"expected {', '.join(MERCHANT_EVENT_NAMES)} or {ALL_EVENTS}"
        )
    # the order the merchant gave, each name once
    return list(dict.fromkeys(value))


# the URL's scheme, host and addresses are checked by merchant-webhooks against its egress rules, which
# depend on its settings; here only what any URL must be
Url = Annotated[StrictStr, Field(min_length=1, max_length=2048), AfterValidator(_no_nul)]
Events = Annotated[list[StrictStr], Field(min_length=1, max_length=32), AfterValidator(_known_events)]
Description = Annotated[StrictStr, Field(max_length=500), AfterValidator(_no_nul)]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Answer(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class EndpointCreate(_Request):
    """`POST …/webhook-endpoints`: a new endpoint, enabled, with a new signing secret."""

    url: Url
    events: Events
    description: Description | None = None


class EndpointUpdate(_Request):
    """`PATCH …/webhook-endpoints/{id}`: the fields given change, the others stay. Enabling a disabled
    endpoint clears its `disabledReason` and its failure streak."""

    url: Url | None = None
    events: Events | None = None
    status: EndpointStatus | None = None
    description: Description | None = None

    @model_validator(mode="after")
    def _something(self) -> EndpointUpdate:
        if not self.model_fields_set:
            raise ValueError("give at least one of url, events, status, description")
        return self


class Endpoint(_Answer):
    """An endpoint as listed and shown: never its secret."""

    id: str
    merchantId: str
    url: str
    events: list[str]
    description: str | None = None
    status: EndpointStatus
    createdAt: Timestamp
    updatedAt: Timestamp
    # why it is disabled: `failing` (disabled by the process after failing too long) or `merchant`
    disabledReason: str | None = None


class EndpointWithSecret(Endpoint):
    """The answer to a creation and to a secret rotation, the only answers that show the secret
    (`whsec_<base64>`). After a rotation the previous secret keeps signing beside the new one until
    `previousSecretExpiresAt`."""

    secret: str
    previousSecretExpiresAt: Timestamp | None = None


class EndpointList(_Answer):
    items: list[Endpoint]


class Attempt(_Answer):
    """One POST to the endpoint: `statusCode` null when no answer came (refused address, connection
    error, timeout), then `error` says why."""

    at: Timestamp
    statusCode: int | None = None
    latencyMs: int | None = None
    error: str | None = None


class Delivery(_Answer):
    """One event to one endpoint: its attempts oldest first, `nextAttemptAt` while it is pending."""

    id: str
    merchantId: str
    endpointId: str
    eventId: str
    event: str
    status: DeliveryStatus
    attempts: list[Attempt]
    nextAttemptAt: Timestamp | None = None
    createdAt: Timestamp


class DeliveryList(_Answer):
    items: list[Delivery]
