"""/v1 refunds' use cases, over the native refunds' (`order_svc.refunds.service`): the same refund, decided
by payment-svc the same way; /v1 adds the merchant's receipt and the speed asked for."""

from __future__ import annotations

import uuid

from pydantic import ValidationError

from order_svc.deps import Deps
from order_svc.lists.domain import Page
from order_svc.lists.repository import ListRepository
from order_svc.payments.repository import PaymentViewRepository
from order_svc.refunds.service import create_refund, get_refund
from order_svc.v1.refunds.repository import RefundDetailsRepository
from order_svc.v1.refunds.schemas import CreateRefundV1, RefundEntity
from payments_common import ids
from payments_common.errors import not_found
from payments_common.http import validation_error
from payments_common.uow import ReadSnapshot, UnitOfWork


async def create(
    deps: Deps,
    merchant_id: str,
    payment_id: str,
    cmd: CreateRefundV1,
    correlation_id: str | None,
    request_id: uuid.UUID | None,
) -> RefundEntity:
    try:
        native = cmd.native()
    except ValidationError as exc:
        raise validation_error(exc) from None

    async def details(uow: UnitOfWork, refund_id: str) -> None:
        await uow.repo(RefundDetailsRepository).insert(refund_id, cmd.receipt, cmd.speed)

    snapshot = await create_refund(deps, merchant_id, payment_id, native, correlation_id, request_id, details)
    return await fetch(deps, merchant_id, snapshot.id)


async def fetch(deps: Deps, merchant_id: str, refund_id: str, payment_id: str | None = None) -> RefundEntity:
    refund = await get_refund(deps, merchant_id, refund_id)
    if payment_id is not None and refund.payment_id != payment_id:
        raise not_found("refund")
    async with ReadSnapshot(deps.pool) as snapshot:
        details = await snapshot.repo(RefundDetailsRepository).of([refund.id])
    return RefundEntity.of(refund, details.get(refund.id))


async def list_refunds(deps: Deps, merchant_id: str, page: Page, payment_id: str | None = None) -> list[RefundEntity]:
    async with ReadSnapshot(deps.pool) as snapshot:
        if payment_id is not None:
            known = ids.is_valid(ids.PAYMENT, payment_id) and await snapshot.repo(
                PaymentViewRepository
            ).merchant_payment(payment_id, merchant_id)
            if not known:
                raise not_found("payment")
        refunds = await snapshot.repo(ListRepository).refunds(merchant_id, page, payment_id=payment_id, extra=0)
        details = await snapshot.repo(RefundDetailsRepository).of([refund.id for refund in refunds])
    return [RefundEntity.of(refund, details.get(refund.id)) for refund in refunds]
