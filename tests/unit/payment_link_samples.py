"""Payment links' routes (/v1's and the native ones) and the hosted checkout pages as `test_order_svc_answers`
drives them: what each is asked, and the use cases stubbed to answer from sample rows (a paid link and a paid
order, so every page answers its documented 200: the page's state, and the payment received with no callback
to go to)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from order_svc.checkout import service as checkout
from order_svc.checkout.service import Page
from order_svc.orders.domain import Order, OrderStatus
from order_svc.payment_links import service
from order_svc.payment_links.domain import PaymentLink
from order_svc.payment_links.schemas import PaymentLinkEntity
from order_svc.payments.domain import PaymentView
from payments_common import ids

AT = datetime(2027, 1, 15, 10, 0, tzinfo=UTC)
LINK_ID = "plink_ABCDEFGHIJ1234"
TOKEN = "T" * 43
SIGNED = "?key_id=rzp_a&signature=" + "ab" * 32
ORDER = Order(ids.new_id(ids.ORDER), "rzp_a", 2500, "INR", OrderStatus.PAID, "R-1", None, AT, AT)
PAYMENT = PaymentView(
    ids.new_id(ids.PAYMENT), ORDER.id, "SUCCESS", 2500, "INR", "gw_1", None, None, None, 2, AT, AT, None
)
LINK = PaymentLink(
    id=LINK_ID,
    merchant_id="rzp_a",
    order_id=ORDER.id,
    token=TOKEN,
    short_url=f"http://127.0.0.1:8080/l/{TOKEN}",
    description="Invoice 7",
    customer_name="Asha",
    customer_email=None,
    customer_contact=None,
    expire_by=None,
    reference_id="R-1",
    callback_url=None,
    callback_method=None,
    notes={"a": "1"},
    status="paid",
    paid_payment_id=PAYMENT.id,
    cancelled_at=None,
    created_at=AT,
    updated_at=AT,
)


def _returning(value: Any) -> Callable[..., Awaitable[Any]]:
    async def use_case(*_: Any, **__: Any) -> Any:
        return value

    return use_case


def calls() -> dict[tuple[str, str], tuple[str, dict[str, Any] | None]]:
    link, page = f"/v1/payment_links/{LINK_ID}", f"/l/{TOKEN}"
    return {
        ("POST", "/v1/payment_links"): ("/v1/payment_links", {"amount": 2500, "currency": "INR"}),
        ("GET", "/v1/payment_links"): ("/v1/payment_links?count=5", None),
        ("GET", "/v1/payment_links/{payment_link_id}"): (link, None),
        ("PATCH", "/v1/payment_links/{payment_link_id}"): (link, {"notes": {"b": "2"}}),
        ("POST", "/v1/payment_links/{payment_link_id}/cancel"): (f"{link}/cancel", None),
        ("POST", "/payment-links"): ("/payment-links", {"amount": 2500, "currency": "INR"}),
        ("GET", "/payment-links/{payment_link_id}"): (f"/payment-links/{LINK_ID}", None),
        ("POST", "/payment-links/{payment_link_id}/cancel"): (f"/payment-links/{LINK_ID}/cancel", None),
        ("GET", "/l/{token}"): (page, None),
        ("POST", "/l/{token}"): (page, None),
        ("GET", "/l/{token}/payments/{payment_id}"): (f"{page}/payments/{PAYMENT.id}", None),
        ("GET", "/checkout/orders/{order_id}"): (f"/checkout/orders/{ORDER.id}{SIGNED}", None),
        ("POST", "/checkout/orders/{order_id}"): (f"/checkout/orders/{ORDER.id}{SIGNED}", None),
        ("GET", "/checkout/orders/{order_id}/payments/{payment_id}"): (
            f"/checkout/orders/{ORDER.id}/payments/{PAYMENT.id}{SIGNED}",
            None,
        ),
    }


def stub(monkeypatch: pytest.MonkeyPatch) -> None:
    entity = PaymentLinkEntity.of(LINK, ORDER, [PAYMENT], LINK.short_url, AT)
    for name in ("create", "fetch", "edit", "cancel"):
        monkeypatch.setattr(service, name, _returning(entity))
    monkeypatch.setattr(service, "list_links", _returning([entity]))
    link_page = Page(f"/l/{TOKEN}", "", TOKEN, "rzp_a", "Shop", ORDER, "Invoice 7", [PAYMENT], "paid", LINK)
    order_page = Page(
        f"/checkout/orders/{ORDER.id}", SIGNED, f"order:{ORDER.id}", "rzp_a", "Shop", ORDER, None, [PAYMENT], "paid"
    )
    monkeypatch.setattr(checkout, "link_page", _returning(link_page))
    monkeypatch.setattr(checkout, "order_page", _returning(order_page))
    monkeypatch.setattr(checkout, "callback", _returning(None))
