"""/v1 webhooks' requests and answers, with Razorpay's field names: the native endpoints and deliveries
(`payments_common.merchant_webhooks`) as `webhook` and `webhook_delivery` entities, times in Unix seconds."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, StrictBool, model_validator

from order_svc.v1.domain import unix
from order_svc.v1.schemas import Collection
from payments_common.merchant_webhooks import (
    Delivery,
    Description,
    Endpoint,
    EndpointCreate,
    EndpointUpdate,
    EndpointWithSecret,
    Events,
    Url,
)


def _unix(moment: datetime | None) -> int | None:
    return None if moment is None else unix(moment)


class CreateWebhookV1(BaseModel):
    """`POST /v1/webhooks`: `events` names each event (or `*`, every event); the answer shows the signing
    `secret`, which no other answer but a rotation's does."""

    model_config = ConfigDict(extra="forbid")

    url: Url
    events: Events
    description: Description | None = None

    def native(self) -> EndpointCreate:
        return EndpointCreate.model_validate(self.model_dump(exclude_unset=True))


class EditWebhookV1(BaseModel):
    """`PATCH /v1/webhooks/{id}`: the fields given change; `active` false stops the deliveries, true
    resumes them."""

    model_config = ConfigDict(extra="forbid")

    url: Url | None = None
    events: Events | None = None
    active: StrictBool | None = None
    description: Description | None = None

    @model_validator(mode="after")
    def _something(self) -> EditWebhookV1:
        # the native update's own rule, checked here so an empty edit is the caller's 400
        if not self.model_fields_set:
            raise ValueError("give at least one of url, events, active, description")
        return self

    def native(self) -> EndpointUpdate:
        fields = self.model_dump(exclude_unset=True)
        if "active" in fields:
            active = fields.pop("active")
            fields["status"] = None if active is None else ("enabled" if active else "disabled")
        return EndpointUpdate.model_validate(fields)


class WebhookEntity(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    entity: Literal["webhook"]
    url: str
    events: list[str]
    description: str | None
    active: bool
    # `failing`: disabled after failing too long; `merchant`: disabled by the merchant
    disabled_reason: str | None
    created_at: int
    updated_at: int

    @classmethod
    def fields_of(cls, endpoint: Endpoint) -> dict[str, object]:
        return {
            "id": endpoint.id,
            "entity": "webhook",
            "url": endpoint.url,
            "events": endpoint.events,
            "description": endpoint.description,
            "active": endpoint.status == "enabled",
            "disabled_reason": endpoint.disabledReason,
            "created_at": unix(endpoint.createdAt),
            "updated_at": unix(endpoint.updatedAt),
        }

    @classmethod
    def of(cls, endpoint: Endpoint) -> WebhookEntity:
        return cls.model_validate(cls.fields_of(endpoint))


class WebhookWithSecret(WebhookEntity):
    """A creation's or a rotation's answer: the `secret` to verify `X-Razorpay-Signature` with; after a
    rotation the previous one keeps signing beside it until `previous_secret_expires_at`."""

    secret: str
    previous_secret_expires_at: int | None

    @classmethod
    def with_secret(cls, endpoint: EndpointWithSecret) -> WebhookWithSecret:
        return cls.model_validate(
            {
                **cls.fields_of(endpoint),
                "secret": endpoint.secret,
                "previous_secret_expires_at": _unix(endpoint.previousSecretExpiresAt),
            }
        )


class WebhookCollection(Collection):
    items: list[WebhookEntity]


class WebhookDeleted(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    entity: Literal["webhook"]
    deleted: Literal[True]


class DeliveryAttemptEntity(BaseModel):
    """One POST to the endpoint: `status_code` null when no answer came, and `error` says why."""

    model_config = ConfigDict(extra="forbid")

    at: int
    status_code: int | None
    latency_ms: int | None
    error: str | None


class WebhookDeliveryEntity(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    entity: Literal["webhook_delivery"]
    webhook_id: str
    event_id: str
    event: str
    status: Literal["pending", "delivered", "failed"]
    attempts: list[DeliveryAttemptEntity]
    next_attempt_at: int | None
    created_at: int

    @classmethod
    def of(cls, delivery: Delivery) -> WebhookDeliveryEntity:
        return cls.model_validate(
            {
                "id": delivery.id,
                "entity": "webhook_delivery",
                "webhook_id": delivery.endpointId,
                "event_id": delivery.eventId,
                "event": delivery.event,
                "status": delivery.status,
                "attempts": [
                    {"at": unix(a.at), "status_code": a.statusCode, "latency_ms": a.latencyMs, "error": a.error}
                    for a in delivery.attempts
                ],
                "next_attempt_at": _unix(delivery.nextAttemptAt),
                "created_at": unix(delivery.createdAt),
            }
        )


class WebhookDeliveryCollection(Collection):
    items: list[WebhookDeliveryEntity]
