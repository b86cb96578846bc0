"""The checkout page's use cases: read a link's page by its token, start a payment on it through the very
path `POST /payments/initiate` takes (`payments.service.initiate_payment`), read its outcome, and make the
signed callback URL once the link is paid."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import ValidationError

from order_svc.checkout.domain import method_of, with_query
from order_svc.deps import Deps
from order_svc.merchants.repository import MerchantRepository
from order_svc.merchants.signing import NoSigningSecret
from order_svc.orders.domain import Order
from order_svc.orders.repository import OrderRepository
from order_svc.payment_links.domain import LINK_NOT_PAYABLE, PaymentLink, Status, callback_query, status_at
from order_svc.payment_links.repository import PaymentLinkRepository
from order_svc.payments.domain import PaymentView
from order_svc.payments.repository import PaymentViewRepository
from order_svc.payments.schemas import InitiatePayment
from order_svc.payments.service import initiate_payment
from payments_common.errors import ApiError
from payments_common.http import validation_error
from payments_common.logging import get_logger
from payments_common.uow import ReadSnapshot, UnitOfWork

log = get_logger(__name__)

PAYMENT_IN_PROGRESS = "PAYMENT_IN_PROGRESS"


@dataclass(frozen=True, slots=True)
class LinkPage:
    """What a link's page shows, read in one snapshot."""

    link: PaymentLink
    order: Order
    merchant_name: str
    # the order's attempts, oldest first
    attempts: list[PaymentView]
    status: Status

    def attempt(self, payment_id: str) -> PaymentView | None:
        return next((view for view in self.attempts if view.id == payment_id), None)

    def in_flight(self) -> PaymentView | None:
        return next((view for view in self.attempts if view.status == "INITIATED"), None)


async def link_page(deps: Deps, token: str) -> LinkPage | None:
    async with ReadSnapshot(deps.pool) as snapshot:
        link = await snapshot.repo(PaymentLinkRepository).by_token(token)
        if link is None:
            return None
        order = await snapshot.repo(OrderRepository).get(link.order_id, link.merchant_id)
        merchant = await snapshot.repo(MerchantRepository).get(link.merchant_id)
        attempts = await snapshot.repo(PaymentViewRepository).of_order(link.order_id)
    if order is None:
        raise LookupError(f"payment link {link.id} has no order {link.order_id}")
    name = merchant.name if merchant is not None else link.merchant_id
    return LinkPage(link, order, name, attempts, status_at(link, datetime.now(UTC)))


async def pay(deps: Deps, page: LinkPage, form: Mapping[str, str], correlation_id: str | None) -> str:
    """Start a payment of the link's order with the method the form describes; its id. Refused (ApiError)
    when the link is not payable now, while another of its payments is in flight, or for a method the
    native rules refuse. The card's number and CVV go on to payment-svc and nowhere else.

    The link's row stays locked until the attempt is in the view, so of two forms posted at once (a double
    click, two tabs) the second finds the first's attempt in flight and starts nothing."""
    try:
        cmd = InitiatePayment.model_validate({"orderId": page.order.id, "method": method_of(form)})
    except ValidationError as exc:
        raise validation_error(exc) from None
    async with UnitOfWork(deps.pool) as uow:
        link = await uow.repo(PaymentLinkRepository).lock(page.link.id, page.link.merchant_id)
        status = status_at(link, datetime.now(UTC)) if link is not None else "cancelled"
        if status != "created":
            raise ApiError(409, LINK_NOT_PAYABLE, f"this payment link is {status}")
        attempts = await uow.repo(PaymentViewRepository).of_order(page.order.id)
        if any(view.status == "INITIATED" for view in attempts):
            raise ApiError(409, PAYMENT_IN_PROGRESS, "a payment of this link is in progress: wait for its outcome")
        payment = await initiate_payment(deps, page.link.merchant_id, cmd, correlation_id)
    log.info("checkout.payment_started", payment_link_id=page.link.id, payment_id=payment.id)
    return payment.id


async def callback(deps: Deps, page: LinkPage, payment_id: str) -> str | None:
    """Where the customer goes back to once the link is paid by `payment_id`: its callback_url with the
    signed parameters; None without a callback_url, or when the merchant has no key to sign them with."""
    if page.link.callback_url is None:
        return None
    try:
        secret = await deps.signing_secret(page.link.merchant_id)
    except NoSigningSecret as error:
        log.error("checkout.callback_unsigned", payment_link_id=page.link.id, reason=str(error))
        return None
    return with_query(page.link.callback_url, callback_query(page.link, payment_id, secret))
