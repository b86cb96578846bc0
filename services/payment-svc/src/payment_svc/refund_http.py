"""payment-svc's internal refund API, called by order-svc. Views parse and answer; `refunds` decides."""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, field_validator

from payment_svc.http import DEPS
from payment_svc.refund_outgoing import refund_snapshot
from payment_svc.refunds import CreateRefund, create_refund, get_refund
from payments_common.errors import NOT_FOUND, ApiError
from payments_common.http import CORRELATION_ID, json_response, parse_model, read_json_object
from payments_common.money import MAX_AMOUNT
from payments_common.storable import has_nul


class RefundBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    merchantId: StrictStr = Field(min_length=1, max_length=128)
    # absent: everything not refunded yet
    amount: StrictInt | None = Field(default=None, gt=0, le=MAX_AMOUNT)
    # order-svc has checked them as a client's notes
    notes: dict[str, Any] | None = None
    # the client's idempotent request, when it sent a key: see `create_refund`
    requestId: uuid.UUID | None = None

    @field_validator("notes")
    @classmethod
    def _publishable(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        # they go into the outbox's jsonb, which cannot hold NUL: a 400 here rather than a failed insert
        if value is not None and has_nul(value):
            raise ValueError("must not contain NUL characters")
        return value


async def post_refund(request: web.Request) -> web.Response:
    body = parse_model(RefundBody, await read_json_object(request))
    refund = await create_refund(
        request.app[DEPS],
        CreateRefund(
            payment_id=request.match_info["payment_id"],
            merchant_id=body.merchantId,
            amount=body.amount,
            notes=body.notes,
            correlation_id=request.get(CORRELATION_ID),
            request_id=body.requestId,
        ),
    )
    return json_response(refund_snapshot(refund).model_dump(mode="json"), status=201)


async def read_refund(request: web.Request) -> web.Response:
    refund = await get_refund(request.app[DEPS], request.match_info["refund_id"])
    if refund is None:
        raise ApiError(404, NOT_FOUND, "refund not found")
    return json_response(refund_snapshot(refund).model_dump(mode="json"))


def add_routes(app: web.Application) -> None:
    """Under the `/internal/` prefix, behind the bearer token `http.add_routes` checks there."""
    app.router.add_post("/internal/payments/{payment_id}/refunds", post_refund)
    app.router.add_get("/internal/refunds/{refund_id}", read_refund)
