"""The native routes' requests and answers: the internal API's own models (`payments_common.merchant_webhooks`)
as they are, and what only this API answers."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_DELIVERIES = 25
MAX_DELIVERIES = 100


class EndpointDeleted(BaseModel):
    """`DELETE /webhook-endpoints/{id}`: the endpoint is gone, and nothing more is delivered to it."""

    model_config = ConfigDict(extra="forbid")

    id: str
    deleted: Literal[True]


class DeliveriesQuery(BaseModel):
    """`GET /webhook-endpoints/{id}/deliveries`: the newest `limit` deliveries."""

    model_config = ConfigDict(extra="ignore")

    limit: int = Field(default=DEFAULT_DELIVERIES, ge=1, le=MAX_DELIVERIES)
