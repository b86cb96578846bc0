"""The native plans', subscriptions' and invoices' part of order-svc's OpenAPI document (`order_svc.openapi`
merges it)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel

from order_svc.lists.openapi import PAGE
from order_svc.native import openapi as native
from order_svc.native.openapi import Doc, Key
from order_svc.subscriptions.http import ROUTES
from order_svc.subscriptions.schemas import CancelSubscription, CreatePlan, CreateSubscription
from payments_common import openapi

# the request body of each route that takes one (pause and resume take none, or `{}`)
REQUESTS: Mapping[Key, type[BaseModel]] = {
    ("POST", "/plans"): CreatePlan,
    ("POST", "/subscriptions"): CreateSubscription,
    ("POST", "/subscriptions/{subscription_id}/cancel"): CancelSubscription,
}
_QUERY = "a query parameter breaks a rule (`field` names it), or a forged cursor"
_NO_PLAN = "no such plan for this merchant"
_NO_SUBSCRIPTION = "no such subscription for this merchant"
_REFUSED = "`SUBSCRIPTION_NOT_CHANGEABLE`: the subscription's status does not allow it (nothing changes)"
_CHANGE = {400: "the body is not an empty object", 404: _NO_SUBSCRIPTION, 409: _REFUSED}
_PLAN_ID = openapi.query_parameter("planId", "only the subscriptions of this plan", {"type": "string", "maxLength": 64})
_CYCLES = PAGE[:2]  # limit and cursor: a subscription's invoices are not filtered by time
DOCS: Mapping[Key, Doc] = {
    ("POST", "/plans"): Doc(
        "createPlan",
        "Create a plan: an item billed every `interval` `period`s",
        {400: "invalid input: not JSON, not an object, or a field breaks a rule (`field` names it)"},
    ),
    ("GET", "/plans"): Doc("listPlans", "The merchant's plans, newest first, a page at a time", {400: _QUERY}, PAGE),
    ("GET", "/plans/{plan_id}"): Doc("getPlan", "A plan", {404: _NO_PLAN}),
    ("POST", "/subscriptions"): Doc(
        "createSubscription",
        "Subscribe to a plan: CREATED, with cycle 1's invoice and order (`authOrderId`), whose payment "
        "authenticates the subscription and keeps the token its next cycles are charged with",
        {
            400: "invalid input (`field` names it): not JSON, not an object, a field that breaks a rule, a "
            "`planId` or `testClock` that is not the merchant's, `startAt` in the past or `expireBy` not in the "
            "future, or a cycle's amount over the limit (`quantity`)",
        },
    ),
    ("GET", "/subscriptions"): Doc(
        "listSubscriptions",
        "The merchant's subscriptions, newest first, a page at a time",
        {400: _QUERY},
        [*PAGE, _PLAN_ID],
    ),
    ("GET", "/subscriptions/{subscription_id}"): Doc("getSubscription", "A subscription", {404: _NO_SUBSCRIPTION}),
    ("POST", "/subscriptions/{subscription_id}/cancel"): Doc(
        "cancelSubscription",
        "Cancel a subscription now (CANCELLED), or with `cancelAtCycleEnd` when its current cycle ends",
        {**_CHANGE, 400: "invalid input: not JSON, not an object, or `cancelAtCycleEnd` not a boolean"},
    ),
    ("POST", "/subscriptions/{subscription_id}/pause"): Doc(
        "pauseSubscription",
        "Pause an ACTIVE subscription: the cycles that start while it is PAUSED are not charged",
        _CHANGE,
    ),
    ("POST", "/subscriptions/{subscription_id}/resume"): Doc(
        "resumeSubscription", "Resume a PAUSED subscription: ACTIVE again from the next cycle to start", _CHANGE
    ),
    ("GET", "/subscriptions/{subscription_id}/invoices"): Doc(
        "listSubscriptionInvoices",
        "The subscription's invoices, one per cycle, latest cycle first, a page at a time",
        {400: _QUERY, 404: _NO_SUBSCRIPTION},
        _CYCLES,
    ),
}


def paths(ref: Callable[[type[BaseModel]], openapi.Ref], error: openapi.Ref) -> dict[str, Any]:
    return native.paths(ref, error, ROUTES, REQUESTS, DOCS)
