"""What every webhook endpoint shares of its HTTP surface: the base of the body models, and the answers
the views and the ingress render and the OpenAPI document describes."""

from __future__ import annotations

from typing import Literal

import orjson
from aiohttp import web
from pydantic import BaseModel, ConfigDict

from payments_common import openapi
from payments_common.errors import ApiError
from payments_common.http import json_response


class ReportBody(BaseModel):
    """A webhook body model (mixed into the published payload it is): what its view binds to every log
    line once the body is parsed, and what it logs with `webhook.accepted`."""

    def context(self) -> dict[str, str]:
        raise NotImplementedError

    def accepted(self) -> dict[str, str]:
        raise NotImplementedError


class WebhookAccepted(BaseModel):
    """200: the event is durable (the broker confirmed it) and will be applied once."""

    model_config = ConfigDict(extra="forbid")

    success: Literal[True]


class WebhookRefused(BaseModel):
    model_config = ConfigDict(extra="forbid")

    success: Literal[False]
    error: openapi.ErrorDetail

    @classmethod
    def of(cls, error: ApiError) -> WebhookRefused:
        return cls.model_validate({"success": False, **error.body()})


def answer(model: BaseModel, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    # `field` is left out rather than null, as the error middleware renders it
    return json_response(model.model_dump(mode="json", exclude_none=True), status, headers)


# every accepted webhook gets the same answer: its body is rendered once
_ACCEPTED_BODY = orjson.dumps(WebhookAccepted(success=True).model_dump(mode="json"))


def accepted() -> web.Response:
    """200 with `WebhookAccepted`."""
    return web.Response(body=_ACCEPTED_BODY, content_type="application/json")
