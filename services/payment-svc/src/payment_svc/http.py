"""payment-svc's internal HTTP API, called by order-svc. Views parse and answer; handlers decide.

Every route under `/internal/` (refund_http's too) needs order-svc's bearer token, `INTERNAL_API_TOKEN`:
the network alone is not the credential, so a process that can reach the port cannot create payments.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from payment_svc.handlers import Deps, InitiatePayment, get_payment, get_payment_events, initiate_payment, snapshot
from payment_svc.repository import PaymentEventRow
from payments_common.bearer import bearer_middleware
from payments_common.errors import NOT_FOUND, ApiError
from payments_common.http import CORRELATION_ID, json_response, parse_model, read_json_object
from payments_common.timeutil import iso

DEPS = web.AppKey("deps", Deps)
PREFIX = "/internal/"


class InitiateBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    orderId: StrictStr = Field(min_length=1, max_length=64)
    merchantId: StrictStr = Field(min_length=1, max_length=128)
    amount: StrictInt = Field(gt=0)
    currency: StrictStr = Field(pattern=r"^[A-Z]{3}$")
    # the whole method: handed to the gateway, stored and published only as its summary
    method: dict[str, Any] | None = Field(default=None, repr=False)
    # the client's idempotent request, when it sent a key: see `initiate_payment`
    requestId: uuid.UUID | None = None


async def create_payment(request: web.Request) -> web.Response:
    body = parse_model(InitiateBody, await read_json_object(request))
    payment = await initiate_payment(
        request.app[DEPS],
        InitiatePayment(
            order_id=body.orderId,
            merchant_id=body.merchantId,
            amount=body.amount,
            currency=body.currency,
            method=body.method,
            correlation_id=request.get(CORRELATION_ID),
            request_id=body.requestId,
        ),
    )
    return json_response(snapshot(payment).model_dump(mode="json"), status=201)


async def read_payment(request: web.Request) -> web.Response:
    payment = await get_payment(request.app[DEPS], request.match_info["payment_id"])
    if payment is None:
        raise ApiError(404, NOT_FOUND, "payment not found")
    return json_response(snapshot(payment).model_dump(mode="json"))


def _event_json(event: PaymentEventRow) -> dict[str, Any]:
    return {
        "id": event.id,
        "kind": event.kind,
        "source": event.source,
        "eventId": event.event_id,
        "detail": event.detail,
        "createdAt": iso(event.created_at),
    }


async def read_payment_events(request: web.Request) -> web.Response:
    payment_id = request.match_info["payment_id"]
    trail = await get_payment_events(request.app[DEPS], payment_id)
    if trail is None:
        raise ApiError(404, NOT_FOUND, "payment not found")
    return json_response({"paymentId": payment_id, "events": [_event_json(event) for event in trail]})


def add_routes(app: web.Application, tokens: Sequence[bytes]) -> None:
    """The routes, and the token check in front of the whole prefix: any of `tokens` is accepted. Checked
    after the body middleware, so the input limits answer (413, 408) as on every other route."""
    app.middlewares.append(bearer_middleware(PREFIX, tokens, api="internal", setting="INTERNAL_API_TOKEN"))
    app.router.add_post("/internal/payments", create_payment)
    app.router.add_get("/internal/payments/{payment_id}", read_payment)
    app.router.add_get("/internal/payments/{payment_id}/events", read_payment_events)
