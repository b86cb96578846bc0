"""The checkout pages' use cases: read a link's page by its token, or an order's by the URL its merchant
signed, start a payment on it through the very path `POST /payments/initiate` takes
(`payments.service.initiate_payment`), read its outcome, and make a link's signed callback URL once paid."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode

from pydantic import ValidationError

from order_svc.checkout.domain import ORDER_PATH, method_of, order_page_signed, with_query
from order_svc.checkout.repository import CheckoutRepository
from order_svc.deps import Deps
from order_svc.merchants.repository import MerchantRepository
from order_svc.merchants.signing import NoSigningSecret
from order_svc.orders.domain import Order, OrderStatus
from order_svc.orders.repository import OrderRepository
from order_svc.payment_links.domain import (
    LINK_NOT_PAYABLE,
    SHORT_PATH,
    PaymentLink,
    Status,
    callback_query,
    status_at,
)
from order_svc.payment_links.repository import PaymentLinkRepository
from order_svc.payments.domain import PaymentView
from order_svc.payments.repository import PaymentViewRepository
from order_svc.payments.schemas import InitiatePayment
from order_svc.payments.service import initiate_payment
from payments_common import ids
from payments_common.errors import ApiError
from payments_common.http import validation_error
from payments_common.logging import get_logger
from payments_common.uow import ReadSnapshot, UnitOfWork

log = get_logger(__name__)

PAYMENT_IN_PROGRESS = "PAYMENT_IN_PROGRESS"


@dataclass(frozen=True, slots=True)
class Page:
    """What a checkout page shows, read in one snapshot: a payment link's, or an order's."""

    # the page's path (its forms post there, its links lead back to it) and the query it keeps
    base: str
    query: str
    # what the page's CSRF tokens are bound to
    subject: str
    merchant_id: str
    merchant_name: str
    order: Order
    description: str | None
    # the order's attempts, oldest first
    attempts: list[PaymentView]
    status: Status
    link: PaymentLink | None = None

    def href(self, suffix: str = "") -> str:
        return f"{self.base}{suffix}{self.query}"

    def attempt(self, payment_id: str) -> PaymentView | None:
        return next((view for view in self.attempts if view.id == payment_id), None)

    def in_flight(self) -> PaymentView | None:
        return next((view for view in self.attempts if view.status == "INITIATED"), None)

    def paid_by(self, payment_id: str) -> bool:
        if self.link is not None:
            return self.status == "paid" and self.link.paid_payment_id == payment_id
        attempt = self.attempt(payment_id)
        return self.status == "paid" and attempt is not None and attempt.status in ("SUCCESS", "AUTHORIZED")


async def _merchant_name(snapshot: ReadSnapshot, merchant_id: str) -> str:
    merchant = await snapshot.repo(MerchantRepository).get(merchant_id)
    return merchant.name if merchant is not None else merchant_id


async def link_page(deps: Deps, token: str) -> Page | None:
    async with ReadSnapshot(deps.pool) as snapshot:
        link = await snapshot.repo(PaymentLinkRepository).by_token(token)
        if link is None:
            return None
        order = await snapshot.repo(OrderRepository).get(link.order_id, link.merchant_id)
        name = await _merchant_name(snapshot, link.merchant_id)
        attempts = await snapshot.repo(PaymentViewRepository).of_order(link.order_id)
    if order is None:
        raise LookupError(f"payment link {link.id} has no order {link.order_id}")
    status = status_at(link, datetime.now(UTC))
    base = f"{SHORT_PATH}{token}"
    return Page(base, "", token, link.merchant_id, name, order, link.description, attempts, status, link)


async def order_page(deps: Deps, order_id: str, key_id: str, signature: str) -> Page | None:
    """The page of an order the merchant signed the URL of (`domain.order_page_signature`, with the secret
    of one of its keys not revoked); None for a URL it did not sign, or an order not its own."""
    if not ids.is_valid(ids.ORDER, order_id) or not key_id or not signature or deps.key_secrets is None:
        return None
    try:
        merchant_id, secret = await deps.key_secrets.key_secret(key_id)
    except NoSigningSecret:
        return None
    if not order_page_signed(secret, order_id, signature):
        return None
    async with ReadSnapshot(deps.pool) as snapshot:
        order = await snapshot.repo(OrderRepository).get(order_id, merchant_id)
        if order is None:
            return None
        name = await _merchant_name(snapshot, merchant_id)
        attempts = await snapshot.repo(PaymentViewRepository).of_order(order_id)
    status: Status = "paid" if order.status == OrderStatus.PAID else "created"
    query = "?" + urlencode({"key_id": key_id, "signature": signature})
    return Page(f"{ORDER_PATH}{order_id}", query, f"order:{order_id}", merchant_id, name, order, None, attempts, status)


async def pay(deps: Deps, page: Page, form: Mapping[str, str], correlation_id: str | None) -> str:
    """Start a payment of the page's order with the method the form describes; its id. Refused (ApiError)
    when a link is not payable now, while another of its payments is in flight, or for a method the
    native rules refuse. The card's number and CVV go on to payment-svc and nowhere else.

    The order stays held until the attempt is in the view, so of two forms posted at once (a double click,
    two tabs) the second finds the first's attempt in flight and starts nothing."""
    try:
        cmd = InitiatePayment.model_validate({"orderId": page.order.id, "method": method_of(form)})
    except ValidationError as exc:
        raise validation_error(exc) from None
    async with UnitOfWork(deps.pool) as uow:
        await uow.repo(CheckoutRepository).hold_order(page.order.id)
        if page.link is not None:
            link = await uow.repo(PaymentLinkRepository).get(page.link.id, page.merchant_id)
            status = status_at(link, datetime.now(UTC)) if link is not None else "cancelled"
            if status != "created":
                raise ApiError(409, LINK_NOT_PAYABLE, f"this payment link is {status}")
        attempts = await uow.repo(PaymentViewRepository).of_order(page.order.id)
        if any(view.status == "INITIATED" for view in attempts):
            raise ApiError(409, PAYMENT_IN_PROGRESS, "a payment is in progress: wait for its outcome")
        payment = await initiate_payment(deps, page.merchant_id, cmd, correlation_id)
    log.info("checkout.payment_started", order_id=page.order.id, payment_id=payment.id)
    return payment.id


async def callback(deps: Deps, page: Page, payment_id: str) -> str | None:
    """Where the customer goes back to once the link is paid by `payment_id`: its callback_url with the
    signed parameters; None for an order's page, without a callback_url, or when the merchant has no key to
    sign them with."""
    link = page.link
    if link is None or link.callback_url is None:
        return None
    try:
        secret = await deps.signing_secret(link.merchant_id)
    except NoSigningSecret as error:
        log.error("checkout.callback_unsigned", payment_link_id=link.id, reason=str(error))
        return None
    return with_query(link.callback_url, callback_query(link, payment_id, secret))
