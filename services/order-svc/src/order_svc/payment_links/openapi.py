"""The native payment links' part of order-svc's OpenAPI document (`order_svc.openapi` merges it; /v1's
routes are documented with the rest of /v1, `v1/openapi.py`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel

from order_svc.native import openapi as native
from order_svc.native.openapi import Doc, Key
from order_svc.payment_links.http import NATIVE_ROUTES
from order_svc.payment_links.schemas import NewPaymentLink
from payments_common import openapi

# the request body of each route that takes one
REQUESTS: Mapping[Key, type[BaseModel]] = {("POST", "/payment-links"): NewPaymentLink}
_NO_LINK = "no such payment link for this merchant"
DOCS: Mapping[Key, Doc] = {
    ("POST", "/payment-links"): Doc(
        "createPaymentLink",
        "Create a payment link, CREATED, with its order and the hosted checkout page (`shortUrl`) to send the "
        "customer to",
        {
            400: "invalid input (`field` names it): not JSON, not an object, a field that breaks a rule, "
            "`expireBy` not in the future, or a `referenceId` another of the merchant's links has",
        },
    ),
    ("GET", "/payment-links/{payment_link_id}"): Doc(
        "getPaymentLink", "A payment link; a CREATED one past its `expireBy` reads EXPIRED", {404: _NO_LINK}
    ),
    ("POST", "/payment-links/{payment_link_id}/cancel"): Doc(
        "cancelPaymentLink",
        "Cancel a CREATED payment link: it can no longer be paid",
        {
            404: _NO_LINK,
            409: "`PAYMENT_LINK_NOT_EDITABLE`: the link is PAID, EXPIRED or CANCELLED already (nothing changes)",
        },
    ),
}


def paths(ref: Callable[[type[BaseModel]], openapi.Ref], error: openapi.Ref) -> dict[str, Any]:
    return native.paths(ref, error, NATIVE_ROUTES, REQUESTS, DOCS)
