"""/v1 plans', subscriptions', invoices' and test clocks' views."""

from __future__ import annotations

import asyncio

from aiohttp import web
from pydantic import BaseModel

from order_svc.access.http import merchant_of
from order_svc.deps import DEPS
from order_svc.lists.domain import Page
from order_svc.native.http import object_or_empty
from order_svc.subscriptions import service
from order_svc.v1.http import collection, parse_query
from order_svc.v1.schemas import ListQuery
from order_svc.v1.subscriptions import schemas
from payments_common.http import parse_model, read_json_object
from payments_common.openapi import Route, model_response

# set by the composition root: woken when a test clock moves, so its subscriptions' cycles are charged now
SCHEDULER_WAKE = web.AppKey("subscription_scheduler_wake", asyncio.Event)


async def post_plan(request: web.Request) -> web.Response:
    cmd = parse_model(schemas.CreatePlanV1, await read_json_object(request))
    return model_response(await service.create_plan(request.app[DEPS], merchant_of(request), cmd))


async def get_plan(request: web.Request) -> web.Response:
    plan = await service.fetch_plan(request.app[DEPS], merchant_of(request), request.match_info["plan_id"])
    return model_response(plan)


async def get_plans(request: web.Request) -> web.Response:
    query = parse_query(ListQuery, request)
    listing = await service.list_plans(request.app[DEPS], merchant_of(request), query.page())
    return collection(schemas.PlanCollection, listing.items)


async def post_subscription(request: web.Request) -> web.Response:
    cmd = parse_model(schemas.CreateSubscriptionV1, await read_json_object(request))
    return model_response(await service.create_subscription(request.app[DEPS], merchant_of(request), cmd))


async def get_subscription(request: web.Request) -> web.Response:
    sub = await service.fetch_subscription(request.app[DEPS], merchant_of(request), request.match_info["sub_id"])
    return model_response(sub)


async def get_subscriptions(request: web.Request) -> web.Response:
    query = parse_query(schemas.SubscriptionListQuery, request)
    page = Page(limit=query.count, offset=query.skip)
    listing = await service.list_subscriptions(request.app[DEPS], merchant_of(request), page, query.plan_id)
    return collection(schemas.SubscriptionCollection, listing.items)


async def post_cancel(request: web.Request) -> web.Response:
    cmd = parse_model(schemas.CancelSubscriptionV1, await object_or_empty(request))
    sub = await service.cancel(request.app[DEPS], merchant_of(request), request.match_info["sub_id"], cmd)
    return model_response(sub)


async def post_pause(request: web.Request) -> web.Response:
    parse_model(schemas.PauseSubscriptionV1, await object_or_empty(request))
    sub = await service.pause(request.app[DEPS], merchant_of(request), request.match_info["sub_id"])
    return model_response(sub)


async def post_resume(request: web.Request) -> web.Response:
    parse_model(schemas.PauseSubscriptionV1, await object_or_empty(request))
    sub = await service.resume(request.app[DEPS], merchant_of(request), request.match_info["sub_id"])
    return model_response(sub)


async def get_checkout(request: web.Request) -> web.Response:
    answer = await service.checkout(request.app[DEPS], merchant_of(request), request.match_info["sub_id"])
    return model_response(answer)


async def get_invoices(request: web.Request) -> web.Response:
    query = parse_query(schemas.InvoiceListQuery, request)
    items = await service.list_invoices(
        request.app[DEPS], merchant_of(request), query.count, query.skip, query.subscription_id
    )
    return collection(schemas.InvoiceCollection, items)


async def post_clock(request: web.Request) -> web.Response:
    cmd = parse_model(schemas.CreateClock, await read_json_object(request))
    return model_response(await service.create_clock(request.app[DEPS], merchant_of(request), cmd))


async def get_clock(request: web.Request) -> web.Response:
    clock = await service.fetch_clock(request.app[DEPS], merchant_of(request), request.match_info["clock_id"])
    return model_response(clock)


async def post_advance(request: web.Request) -> web.Response:
    cmd = parse_model(schemas.AdvanceClock, await read_json_object(request))
    clock = await service.advance_clock(request.app[DEPS], merchant_of(request), request.match_info["clock_id"], cmd)
    wake = request.app.get(SCHEDULER_WAKE)
    if wake is not None:
        wake.set()
    return model_response(clock)


ROUTES = [
    Route("POST", "/v1/plans", post_plan, schemas.PlanEntity),
    Route("GET", "/v1/plans", get_plans, schemas.PlanCollection),
    Route("GET", "/v1/plans/{plan_id}", get_plan, schemas.PlanEntity),
    Route("POST", "/v1/subscriptions", post_subscription, schemas.SubscriptionEntity),
    Route("GET", "/v1/subscriptions", get_subscriptions, schemas.SubscriptionCollection),
    Route("GET", "/v1/subscriptions/{sub_id}", get_subscription, schemas.SubscriptionEntity),
    Route("POST", "/v1/subscriptions/{sub_id}/cancel", post_cancel, schemas.SubscriptionEntity),
    Route("POST", "/v1/subscriptions/{sub_id}/pause", post_pause, schemas.SubscriptionEntity),
    Route("POST", "/v1/subscriptions/{sub_id}/resume", post_resume, schemas.SubscriptionEntity),
    Route("GET", "/v1/subscriptions/{sub_id}/checkout", get_checkout, schemas.SubscriptionCheckout),
    Route("GET", "/v1/invoices", get_invoices, schemas.InvoiceCollection),
    Route("POST", "/v1/test_clocks", post_clock, schemas.ClockEntity),
    Route("GET", "/v1/test_clocks/{clock_id}", get_clock, schemas.ClockEntity),
    Route("POST", "/v1/test_clocks/{clock_id}/advance", post_advance, schemas.ClockEntity),
]

# the request body of each route that takes one
REQUESTS: dict[tuple[str, str], type[BaseModel]] = {
    ("POST", "/v1/plans"): schemas.CreatePlanV1,
    ("POST", "/v1/subscriptions"): schemas.CreateSubscriptionV1,
    ("POST", "/v1/subscriptions/{sub_id}/cancel"): schemas.CancelSubscriptionV1,
    ("POST", "/v1/test_clocks"): schemas.CreateClock,
    ("POST", "/v1/test_clocks/{clock_id}/advance"): schemas.AdvanceClock,
}
