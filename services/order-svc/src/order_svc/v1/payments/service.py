"""/v1 payments' use cases, over the native payments' (`order_svc.payments.service`): the attempt is the
same attempt, started through payment-svc the same way; /v1 adds the customer's email and contact, the
merchant's notes and the checkout signature."""

from __future__ import annotations

import uuid

from pydantic import ValidationError

from order_svc.deps import Deps
from order_svc.lists.domain import Page
from order_svc.lists.repository import ListRepository
from order_svc.orders.repository import OrderRepository
from order_svc.payments.domain import PaymentView
from order_svc.payments.repository import PaymentViewRepository
from order_svc.payments.schemas import InitiatePayment
from order_svc.payments.service import capture_payment, initiate_payment
from order_svc.v1.domain import checkout_signature, signable
from order_svc.v1.payments.repository import PaymentDetailsRepository
from order_svc.v1.payments.schemas import (
    NATIVE_FIELDS,
    CapturePaymentV1,
    CheckoutResponse,
    CreatePaymentJson,
    PaymentCreated,
    PaymentEntity,
)
from payments_common import ids
from payments_common.errors import bad_request, not_found
from payments_common.http import validation_error
from payments_common.uow import ReadSnapshot, SingleRead, UnitOfWork


def _initiation(cmd: CreatePaymentJson) -> InitiatePayment:
    """The native request, validated by the native rules (Luhn, expiry, CVV, known wallets and banks),
    its errors named by the /v1 fields."""
    try:
        return InitiatePayment.model_validate({"orderId": cmd.order_id, "method": cmd.native_method()})
    except ValidationError as exc:
        error = validation_error(exc)
        field = NATIVE_FIELDS.get(error.field or "", error.field)
        message = error.description.split(": ", 1)[-1]
        raise bad_request(f"{field}: {message}" if field else message, field) from None


async def create_json(
    deps: Deps, merchant_id: str, cmd: CreatePaymentJson, correlation_id: str | None, request_id: uuid.UUID | None
) -> PaymentCreated:
    initiation = _initiation(cmd)
    if not ids.is_valid(ids.ORDER, cmd.order_id):
        raise not_found("order")
    async with SingleRead(deps.pool) as read:
        order = await read.repo(OrderRepository).get(cmd.order_id, merchant_id)
    if order is None:
        raise not_found("order")
    if cmd.amount != order.amount:
        raise bad_request(f"amount: must be the order's amount, {order.amount}", "amount")
    if cmd.currency != order.currency:
        raise bad_request(f"currency: must be the order's currency, {order.currency}", "currency")
    payment = await initiate_payment(deps, merchant_id, initiation, correlation_id, request_id)
    async with UnitOfWork(deps.pool) as uow:
        await uow.repo(PaymentDetailsRepository).insert(payment.id, cmd.email, cmd.contact, cmd.notes)
    return PaymentCreated(
        razorpay_payment_id=payment.id,
        razorpay_order_id=payment.orderId,
        next=[{"action": "poll", "url": f"/v1/payments/{payment.id}/checkout"}],
    )


def _check_id(payment_id: str) -> None:
    if not ids.is_valid(ids.PAYMENT, payment_id):
        raise not_found("payment")


async def _view(snapshot: ReadSnapshot, merchant_id: str, payment_id: str) -> PaymentView:
    view = await snapshot.repo(PaymentViewRepository).merchant_payment(payment_id, merchant_id)
    if view is None:
        raise not_found("payment")
    return view


async def entities(snapshot: ReadSnapshot, views: list[PaymentView]) -> list[PaymentEntity]:
    """The payments as /v1 shows them, with their refunds and details read in the same snapshot."""
    payment_ids = [view.id for view in views]
    refunds = await snapshot.repo(ListRepository).refunds_of(payment_ids)
    details = await snapshot.repo(PaymentDetailsRepository).of(payment_ids)
    return [PaymentEntity.of(view, refunds, details.get(view.id)) for view in views]


async def fetch(deps: Deps, merchant_id: str, payment_id: str) -> PaymentEntity:
    _check_id(payment_id)
    async with ReadSnapshot(deps.pool) as snapshot:
        view = await _view(snapshot, merchant_id, payment_id)
        return (await entities(snapshot, [view]))[0]


async def _merchant_order(snapshot: ReadSnapshot, merchant_id: str, order_id: str) -> bool:
    return (
        ids.is_valid(ids.ORDER, order_id)
        and await snapshot.repo(OrderRepository).get(order_id, merchant_id) is not None
    )


async def list_payments(deps: Deps, merchant_id: str, page: Page, order_id: str | None = None) -> list[PaymentEntity]:
    async with ReadSnapshot(deps.pool) as snapshot:
        if order_id is not None and not await _merchant_order(snapshot, merchant_id, order_id):
            raise not_found("order")
        views = await snapshot.repo(ListRepository).payments(merchant_id, page, order_id=order_id, extra=0)
        return await entities(snapshot, views)


async def edit_notes(deps: Deps, merchant_id: str, payment_id: str, notes: dict[str, str]) -> PaymentEntity:
    _check_id(payment_id)
    async with UnitOfWork(deps.pool) as uow:
        if await uow.repo(PaymentViewRepository).merchant_payment(payment_id, merchant_id) is None:
            raise not_found("payment")
        await uow.repo(PaymentDetailsRepository).set_notes(payment_id, notes)
    return await fetch(deps, merchant_id, payment_id)


async def capture(
    deps: Deps, merchant_id: str, payment_id: str, cmd: CapturePaymentV1, correlation_id: str | None
) -> PaymentEntity:
    """`payment.capture`: the native capture (`order_svc.payments.service.capture_payment`), answered as /v1."""
    _check_id(payment_id)
    await capture_payment(deps, merchant_id, payment_id, cmd.amount, cmd.currency, correlation_id)
    return await fetch(deps, merchant_id, payment_id)


async def checkout(deps: Deps, merchant_id: str, key_secret: str, payment_id: str) -> CheckoutResponse:
    """The checkout response of an authorised (or captured) payment; before that, or for a failed one, a 400
    that says so (the merchant polls while it is `created`)."""
    _check_id(payment_id)
    async with SingleRead(deps.pool) as read:
        view = await _view(read, merchant_id, payment_id)
    if not signable(view):
        state = "failed" if view.status == "FAILED" else "not authorised yet"
        raise bad_request(f"the payment is {state}: it has no checkout signature")
    return CheckoutResponse(
        razorpay_payment_id=view.id,
        razorpay_order_id=view.order_id,
        razorpay_signature=checkout_signature(key_secret, view.order_id, view.id),
    )
