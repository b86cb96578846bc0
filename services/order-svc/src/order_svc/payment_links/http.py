"""Payment links' views: /v1's create, fetch, list, edit and cancel (the SDK's `client.payment_link.*`), and
the native API's create, fetch and cancel beside them, calling the same use cases."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel

from order_svc.access.http import merchant_of
from order_svc.deps import DEPS
from order_svc.idempotency.http import REQUEST_ID
from order_svc.native.http import native_errors
from order_svc.payment_links import service
from order_svc.payment_links.domain import LINK_NOT_EDITABLE
from order_svc.payment_links.schemas import (
    CreatePaymentLink,
    EditPaymentLink,
    NewPaymentLink,
    PaymentLinkCollection,
    PaymentLinkEntity,
    PaymentLinkListQuery,
    PaymentLinkResource,
)
from order_svc.v1.http import parse_query
from payments_common.http import parse_model, read_json_object
from payments_common.openapi import Route, model_response


async def post_payment_link(request: web.Request) -> web.Response:
    """Create a payment link, with its order and its short_url"""
    cmd = parse_model(CreatePaymentLink, await read_json_object(request))
    deps = request.app[DEPS]
    link = await service.create(deps, merchant_of(request), cmd, deps.checkout_url, request.get(REQUEST_ID))
    return model_response(link)


async def get_payment_link(request: web.Request) -> web.Response:
    """A payment link; a created one past its expire_by reads expired"""
    link = await service.fetch(request.app[DEPS], merchant_of(request), request.match_info["payment_link_id"])
    return model_response(link)


async def get_payment_links(request: web.Request) -> web.Response:
    """The merchant's payment links, newest first (count, skip, reference_id)"""
    query = parse_query(PaymentLinkListQuery, request)
    links = await service.list_links(request.app[DEPS], merchant_of(request), query)
    return model_response(PaymentLinkCollection(payment_links=links))


async def patch_payment_link(request: web.Request) -> web.Response:
    """Edit a created payment link's reference_id, expire_by or notes"""
    cmd = parse_model(EditPaymentLink, await read_json_object(request))
    link = await service.edit(request.app[DEPS], merchant_of(request), request.match_info["payment_link_id"], cmd)
    return model_response(link)


async def post_cancel(request: web.Request) -> web.Response:
    """Cancel a created payment link: it can no longer be paid"""
    link = await service.cancel(request.app[DEPS], merchant_of(request), request.match_info["payment_link_id"])
    return model_response(link)


# --- the native API


# the fields the use cases name as /v1's request does, as the native request names them
_FIELDS = {"reference_id": "referenceId", "expire_by": "expireBy", "callback_url": "callbackUrl"}
# a link that is no longer `created` refuses to change: Razorpay's 400 on /v1, a conflict (409) here
_CONFLICTS = frozenset({LINK_NOT_EDITABLE})


async def create_link(request: web.Request) -> web.Response:
    cmd = parse_model(NewPaymentLink, await read_json_object(request)).command()
    deps = request.app[DEPS]
    with native_errors(_FIELDS):
        link = await service.create(deps, merchant_of(request), cmd, deps.checkout_url, request.get(REQUEST_ID))
    return model_response(PaymentLinkResource.of(link), status=201)


async def get_link(request: web.Request) -> web.Response:
    link = await service.fetch(request.app[DEPS], merchant_of(request), request.match_info["payment_link_id"])
    return model_response(PaymentLinkResource.of(link))


async def cancel_link(request: web.Request) -> web.Response:
    with native_errors(_FIELDS, _CONFLICTS):
        link = await service.cancel(request.app[DEPS], merchant_of(request), request.match_info["payment_link_id"])
    return model_response(PaymentLinkResource.of(link))


NATIVE_ROUTES = [
    Route("POST", "/payment-links", create_link, PaymentLinkResource, status=201),
    Route("GET", "/payment-links/{payment_link_id}", get_link, PaymentLinkResource),
    Route("POST", "/payment-links/{payment_link_id}/cancel", cancel_link, PaymentLinkResource),
]

# /v1's
ROUTES = [
    Route("POST", "/v1/payment_links", post_payment_link, PaymentLinkEntity),
    Route("GET", "/v1/payment_links", get_payment_links, PaymentLinkCollection),
    Route("GET", "/v1/payment_links/{payment_link_id}", get_payment_link, PaymentLinkEntity),
    Route("PATCH", "/v1/payment_links/{payment_link_id}", patch_payment_link, PaymentLinkEntity),
    Route("POST", "/v1/payment_links/{payment_link_id}/cancel", post_cancel, PaymentLinkEntity),
]
# the request body of each route that takes one
REQUESTS: dict[tuple[str, str], type[BaseModel]] = {
    ("POST", "/v1/payment_links"): CreatePaymentLink,
    ("PATCH", "/v1/payment_links/{payment_link_id}"): EditPaymentLink,
}
