"""The native plans', subscriptions' and invoices' views, beside /v1's (`v1/subscriptions/http.py`): the same
use cases, asked and answered in the native API's models and errors."""

from __future__ import annotations

from aiohttp import web

from order_svc.access.http import merchant_of
from order_svc.deps import DEPS
from order_svc.lists.schemas import ListQuery
from order_svc.native.http import native_errors, object_or_empty
from order_svc.subscriptions import service
from order_svc.subscriptions.schemas import (
    CancelSubscription,
    CreatePlan,
    CreateSubscription,
    CyclesQuery,
    InvoicePage,
    InvoiceResource,
    NoOptions,
    PlanPage,
    PlanResource,
    SubscriptionPage,
    SubscriptionResource,
    SubscriptionsQuery,
)
from payments_common.http import parse_model, read_json_object
from payments_common.openapi import Route, model_response

# the fields the use cases name as /v1's commands do, as the native requests name them
_FIELDS = {
    "plan_id": "planId",
    "total_count": "totalCount",
    "start_at": "startAt",
    "expire_by": "expireBy",
    "test_clock": "testClock",
    "missed_cycles": "missedCycles",
    "cancel_at_cycle_end": "cancelAtCycleEnd",
}


async def create_plan(request: web.Request) -> web.Response:
    cmd = parse_model(CreatePlan, await read_json_object(request)).command()
    plan = await service.create_plan(request.app[DEPS], merchant_of(request), cmd)
    return model_response(PlanResource.of(plan), status=201)


async def get_plan(request: web.Request) -> web.Response:
    plan = await service.fetch_plan(request.app[DEPS], merchant_of(request), request.match_info["plan_id"])
    return model_response(PlanResource.of(plan))


async def list_plans(request: web.Request) -> web.Response:
    page = parse_model(ListQuery, dict(request.query)).page()
    listing = await service.list_plans(request.app[DEPS], merchant_of(request), page)
    return model_response(PlanPage(items=[PlanResource.of(p) for p in listing.items], nextCursor=listing.next_cursor))


async def create_subscription(request: web.Request) -> web.Response:
    cmd = parse_model(CreateSubscription, await read_json_object(request)).command()
    with native_errors(_FIELDS):
        sub = await service.create_subscription(request.app[DEPS], merchant_of(request), cmd)
    return model_response(SubscriptionResource.of(sub), status=201)


async def get_subscription(request: web.Request) -> web.Response:
    sub_id = request.match_info["subscription_id"]
    sub = await service.fetch_subscription(request.app[DEPS], merchant_of(request), sub_id)
    return model_response(SubscriptionResource.of(sub))


async def list_subscriptions(request: web.Request) -> web.Response:
    query = parse_model(SubscriptionsQuery, dict(request.query))
    listing = await service.list_subscriptions(request.app[DEPS], merchant_of(request), query.page(), query.planId)
    items = [SubscriptionResource.of(sub) for sub in listing.items]
    return model_response(SubscriptionPage(items=items, nextCursor=listing.next_cursor))


async def cancel_subscription(request: web.Request) -> web.Response:
    cmd = parse_model(CancelSubscription, await object_or_empty(request)).command()
    sub_id = request.match_info["subscription_id"]
    with native_errors(_FIELDS):
        sub = await service.cancel(request.app[DEPS], merchant_of(request), sub_id, cmd)
    return model_response(SubscriptionResource.of(sub))


async def pause_subscription(request: web.Request) -> web.Response:
    parse_model(NoOptions, await object_or_empty(request))
    sub = await service.pause(request.app[DEPS], merchant_of(request), request.match_info["subscription_id"])
    return model_response(SubscriptionResource.of(sub))


async def resume_subscription(request: web.Request) -> web.Response:
    parse_model(NoOptions, await object_or_empty(request))
    sub = await service.resume(request.app[DEPS], merchant_of(request), request.match_info["subscription_id"])
    return model_response(SubscriptionResource.of(sub))


async def list_subscription_invoices(request: web.Request) -> web.Response:
    query = parse_model(CyclesQuery, dict(request.query))
    page = ListQuery(limit=query.limit, cursor=query.cursor).page()
    sub_id = request.match_info["subscription_id"]
    listing = await service.subscription_invoices(request.app[DEPS], merchant_of(request), sub_id, page)
    items = [InvoiceResource.of(invoice) for invoice in listing.items]
    return model_response(InvoicePage(items=items, nextCursor=listing.next_cursor))


ROUTES = [
    Route("POST", "/plans", create_plan, PlanResource, status=201),
    Route("GET", "/plans", list_plans, PlanPage),
    Route("GET", "/plans/{plan_id}", get_plan, PlanResource),
    Route("POST", "/subscriptions", create_subscription, SubscriptionResource, status=201),
    Route("GET", "/subscriptions", list_subscriptions, SubscriptionPage),
    Route("GET", "/subscriptions/{subscription_id}", get_subscription, SubscriptionResource),
    Route("POST", "/subscriptions/{subscription_id}/cancel", cancel_subscription, SubscriptionResource),
    Route("POST", "/subscriptions/{subscription_id}/pause", pause_subscription, SubscriptionResource),
    Route("POST", "/subscriptions/{subscription_id}/resume", resume_subscription, SubscriptionResource),
    Route("GET", "/subscriptions/{subscription_id}/invoices", list_subscription_invoices, InvoicePage),
]
