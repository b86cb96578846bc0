"""Payment links on the real PostgreSQL: a link and its order made in one transaction, scoped to its
merchant, reference ids unique per merchant; edits and cancellation only while created; a created link
past its expire_by reads expired; the link paid (and `payment_link.paid` recorded once) in the transaction
that marks its order paid, by the same payment events any order gets; the callback URL signed with the
merchant's key secret so that Razorpay's SDK verifies it."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import razorpay
from pydantic import SecretStr

from order_svc.checkout import service as checkout
from order_svc.checkout.domain import order_page_signature
from order_svc.deps import Deps
from order_svc.merchant_events.domain import event_id
from order_svc.merchants import service as merchants
from order_svc.merchants.sealing import Sealer, new_sealing_key, parse_sealing_keys
from order_svc.merchants.signing import KeySecrets
from order_svc.orders.repository import OrderRepository
from order_svc.payment_links import service
from order_svc.payment_links.schemas import CreatePaymentLink, EditPaymentLink, PaymentLinkListQuery
from order_svc.payments.service import apply_payment_event
from payments_common import events, ids
from payments_common.config import ApiKey
from payments_common.errors import ApiError
from payments_common.events import MerchantEvent, PaymentSnapshot
from payments_common.timeutil import utcnow

from .conftest import migrated_schema

pytestmark = pytest.mark.integration

MERCHANT = "rzp_test_links"
SECRET = "links-key-secret-0123456789abcdef"
CHECKOUT = "https://pay.example.com"


@pytest.fixture
async def deps(database_dsn: str) -> AsyncIterator[Deps]:
    async with migrated_schema(database_dsn, "payments_common", "order_svc", size=4) as (_, pool):
        sealer = Sealer(parse_sealing_keys(new_sealing_key()))
        await merchants.seed(pool, {MERCHANT: ApiKey(MERCHANT, SecretStr(SECRET))}, sealer)
        yield Deps(pool=pool, payments=None, key_secrets=KeySecrets(pool, sealer), checkout_url=CHECKOUT)  # type: ignore[arg-type]


def create(**fields: Any) -> CreatePaymentLink:
    return CreatePaymentLink.model_validate({"amount": 1500, "currency": "INR", **fields})


def success(order_id: str, version: int = 2) -> events.PaymentEvent:
    created = utcnow()
    snapshot = PaymentSnapshot(
        id=ids.new_id(ids.PAYMENT),
        orderId=order_id,
        merchantId=MERCHANT,
        amount=1500,
        currency="INR",
        status="SUCCESS",
        version=version,
        createdAt=created,
        updatedAt=created + timedelta(seconds=1),
        gatewayPaymentId="gw_1",
        signature="s",
        method={"type": "upi", "vpa": "success@razorpay"},
    )
    return events.PaymentEvent(type="payment.succeeded", payment=snapshot)


async def link_events(deps: Deps, order_id: str) -> list[MerchantEvent]:
    rows = await deps.pool.fetch(
        """SELECT payload FROM outbox WHERE aggregate_id = $1 AND event_type = 'merchant.event'
            AND routing_key LIKE 'merchant.payment_link.%' ORDER BY created_at, id""",
        order_id,
    )
    return [MerchantEvent.model_validate(row["payload"]) for row in rows]


async def test_a_link_is_made_with_its_order_and_scoped_to_its_merchant(deps: Deps) -> None:
    link = await service.create(
        deps,
        MERCHANT,
        create(description="Invoice 7", reference_id="INV-7", customer={"name": "Asha", "email": "asha@example.com"}),
        CHECKOUT,
        None,
    )
    assert link.id.startswith("plink_") and link.status == "created" and link.amount_paid == 0
    assert link.short_url.startswith(CHECKOUT + "/l/") and len(link.short_url) == len(CHECKOUT) + 3 + 43
    row = await deps.pool.fetchrow("SELECT order_id FROM payment_links WHERE id = $1", link.id)
    order = await deps.pool.fetchrow(
        "SELECT amount, receipt, customer_email FROM orders WHERE id = $1", row["order_id"]
    )
    assert (order["amount"], order["receipt"], order["customer_email"]) == (1500, "INV-7", "asha@example.com")
    assert (await service.fetch(deps, MERCHANT, link.id)).id == link.id
    with pytest.raises(ApiError) as missing:
        await service.fetch(deps, "another_merchant", link.id)
    assert missing.value.status == 404
    with pytest.raises(ApiError) as taken:
        await service.create(deps, MERCHANT, create(reference_id="INV-7"), CHECKOUT, None)
    assert (taken.value.status, taken.value.field) == (400, "reference_id")
    # another merchant may use the same reference id
    await service.create(deps, "another_merchant", create(reference_id="INV-7"), CHECKOUT, None)
    listed = await service.list_links(deps, MERCHANT, PaymentLinkListQuery(reference_id="INV-7"))
    assert [found.id for found in listed] == [link.id]


async def test_edit_and_cancel_only_while_created(deps: Deps) -> None:
    link = await service.create(deps, MERCHANT, create(notes={"a": "1"}), CHECKOUT, None)
    later = int(time.time()) + 7200
    edited = await service.edit(
        deps, MERCHANT, link.id, EditPaymentLink.model_validate({"notes": {"b": "2"}, "expire_by": later})
    )
    assert (edited.notes, edited.expire_by, edited.status) == ({"b": "2"}, later, "created")
    cancelled = await service.cancel(deps, MERCHANT, link.id)
    assert cancelled.status == "cancelled" and cancelled.cancelled_at > 0
    [event] = await link_events(
        deps, (await deps.pool.fetchval("SELECT order_id FROM payment_links WHERE id = $1", link.id))
    )
    assert (event.event, event.id) == ("payment_link.cancelled", event_id(link.id, "payment_link.cancelled"))
    for refused, change in (
        (service.cancel(deps, MERCHANT, link.id), "cancelled"),
        (service.edit(deps, MERCHANT, link.id, EditPaymentLink.model_validate({"notes": {}})), "edited"),
    ):
        with pytest.raises(ApiError) as error:
            await refused
        assert error.value.status == 400
        assert error.value.description == f"a payment link that is cancelled cannot be {change}"


async def test_a_created_link_past_its_expire_by_reads_expired_and_cannot_be_paid(deps: Deps) -> None:
    link = await service.create(deps, MERCHANT, create(expire_by=int(time.time()) + 3600), CHECKOUT, None)
    await deps.pool.execute("UPDATE payment_links SET expire_by = now() - interval '1 second' WHERE id = $1", link.id)
    expired = await service.fetch(deps, MERCHANT, link.id)
    assert expired.status == "expired" and expired.expired_at == expired.expire_by
    page = await checkout.link_page(deps, link.short_url.rsplit("/", 1)[1])
    assert page is not None and page.status == "expired"
    with pytest.raises(ApiError) as refused:
        await checkout.pay(deps, page, {"method": "upi", "vpa": "success@razorpay"}, None)
    assert refused.value.status == 409
    with pytest.raises(ApiError):
        await service.cancel(deps, MERCHANT, link.id)


async def test_the_link_is_paid_with_its_order_once_and_its_callback_verifies(deps: Deps) -> None:
    link = await service.create(
        deps, MERCHANT, create(reference_id="R-1", callback_url="https://shop.example.com/done?cart=9"), CHECKOUT, None
    )
    order_id = await deps.pool.fetchval("SELECT order_id FROM payment_links WHERE id = $1", link.id)
    paid = success(order_id)
    await apply_payment_event(deps, "m-1", paid)
    await apply_payment_event(
        deps, "m-2", success(order_id, version=3)
    )  # another success: the link stays paid by the first
    entity = await service.fetch(deps, MERCHANT, link.id)
    assert (entity.status, entity.amount_paid) == ("paid", 1500)
    assert entity.payments is not None and entity.payments[0].payment_id == paid.payment.id
    [event] = await link_events(deps, order_id)
    assert event.event == "payment_link.paid" and event.contains == ["payment_link", "order", "payment"]
    assert event.payload["payment_link"]["entity"]["status"] == "paid"
    assert event.payload["payment"]["entity"]["id"] == paid.payment.id

    page = await checkout.link_page(deps, link.short_url.rsplit("/", 1)[1])
    assert page is not None and page.status == "paid"
    target = await checkout.callback(deps, page, paid.payment.id)
    assert target is not None and target.startswith("https://shop.example.com/done?")
    query = dict(parse_qsl(urlsplit(target).query))
    assert query["cart"] == "9"
    utility = razorpay.Client(auth=(MERCHANT, SECRET)).utility
    assert utility.verify_payment_link_signature(
        {
            "razorpay_payment_id": query["razorpay_payment_id"],
            "payment_link_id": query["razorpay_payment_link_id"],
            "payment_link_reference_id": query["razorpay_payment_link_reference_id"],
            "payment_link_status": query["razorpay_payment_link_status"],
            "razorpay_signature": query["razorpay_signature"],
        }
    )
    assert (query["razorpay_payment_link_id"], query["razorpay_payment_link_status"]) == (link.id, "paid")
    with pytest.raises(ApiError) as refused:
        await checkout.pay(deps, page, {"method": "upi", "vpa": "success@razorpay"}, None)
    assert refused.value.status == 409
    with pytest.raises(ApiError):
        await service.cancel(deps, MERCHANT, link.id)


async def test_an_orders_page_opens_with_a_signature_of_an_active_key_of_its_merchant(deps: Deps) -> None:
    assert deps.key_secrets is not None
    merchant = await merchants.create_merchant(deps.pool, "Acme", None)
    key = await merchants.create_key(deps.pool, merchant.id, deps.key_secrets.sealer)
    other = await merchants.create_merchant(deps.pool, "Other", None)
    other_key = await merchants.create_key(deps.pool, other.id, deps.key_secrets.sealer)
    order_id = ids.new_id(ids.ORDER)
    async with deps.pool.acquire() as conn:
        await OrderRepository(conn).insert(order_id, merchant.id, 4200, "INR", None, None)
    signature = order_page_signature(key.secret, order_id)
    page = await checkout.order_page(deps, order_id, key.key.key_id, signature)
    assert page is not None and (page.merchant_id, page.merchant_name, page.status) == (merchant.id, "Acme", "created")
    assert page.href("/payments/x").startswith(f"/checkout/orders/{order_id}/payments/x?key_id=")
    # another merchant's key, even signing rightly, does not open this merchant's order
    foreign = order_page_signature(other_key.secret, order_id)
    assert await checkout.order_page(deps, order_id, other_key.key.key_id, foreign) is None
    assert await checkout.order_page(deps, order_id, key.key.key_id, "0" * 64) is None
    await merchants.revoke_key(deps.pool, key.key.key_id)
    assert await checkout.order_page(deps, order_id, key.key.key_id, signature) is None
