"""What subscriptions emit: their merchant events (`subscription.*`), recorded in the outbox in the
transaction of the change they report, to `orders.events` where merchant-webhooks takes every one."""

from __future__ import annotations

from datetime import datetime

from order_svc.lists.repository import ListRepository
from order_svc.merchant_events.domain import event_id
from order_svc.payments.repository import PaymentViewRepository
from order_svc.subscriptions.domain import Subscription, billing_of
from order_svc.subscriptions.repository import SubscriptionRepository
from order_svc.v1.payments.repository import PaymentDetailsRepository
from order_svc.v1.payments.schemas import PaymentEntity
from order_svc.v1.subscriptions.schemas import SubscriptionEntity
from payments_common import outbox
from payments_common.events import MERCHANT_EVENT_KEY_PREFIX, MERCHANT_EVENT_TYPE, MerchantEvent, MerchantEventName
from payments_common.logging import get_logger
from payments_common.topology import ORDER_EVENTS_EXCHANGE
from payments_common.uow import UnitOfWork

log = get_logger(__name__)


async def auth_order(uow: UnitOfWork, sub_id: str) -> str | None:
    """The order the customer pays to authenticate the subscription: cycle 1's."""
    value = await uow.conn.fetchval(
        "SELECT order_id FROM subscription_invoices WHERE subscription_id = $1 AND cycle = 1", sub_id
    )
    return None if value is None else str(value)


async def entity_of(uow: UnitOfWork, sub: Subscription) -> SubscriptionEntity:
    """The subscription as /v1 shows it, read in the caller's transaction."""
    repo = uow.repo(SubscriptionRepository)
    plan = await repo.plan(sub.plan_id, sub.merchant_id)
    if plan is None:
        raise LookupError(f"the plan of {sub.id} is missing")
    return SubscriptionEntity.of(sub, billing_of(sub, plan), await repo.now_of(sub.id), await auth_order(uow, sub.id))


async def subscription_event(
    uow: UnitOfWork,
    sub_id: str,
    name: MerchantEventName,
    *,
    at: datetime,
    key: str | None = None,
    payment_id: str | None = None,
) -> None:
    """The event `name` of the subscription as the change left it (with the payment, for a charge). `key`
    tells apart the events of one name (each cycle's charge, each failure): the event's id is fixed by it."""
    sub = await uow.repo(SubscriptionRepository).subscription_by_id(sub_id)
    if sub is None:
        raise LookupError(f"subscription {sub_id} is not in the table it was just written to")
    payload = {"subscription": {"entity": (await entity_of(uow, sub)).model_dump(mode="json")}}
    if payment_id is not None:
        view = await uow.repo(PaymentViewRepository).get(payment_id)
        if view is not None:
            refunds = await uow.repo(ListRepository).refunds_of([payment_id])
            details = await uow.repo(PaymentDetailsRepository).of([payment_id])
            entity = PaymentEntity.of(view, refunds, details.get(payment_id))
            payload["payment"] = {"entity": entity.model_dump(mode="json")}
    event = MerchantEvent(
        id=event_id(key or sub_id, name),
        merchant_id=sub.merchant_id,
        event=name,
        contains=list(payload),
        payload=payload,
        created_at=int(at.timestamp()),
    )
    uow.emit(
        outbox.event(
            event,
            aggregate_type="subscription",
            aggregate_id=sub_id,
            event_type=MERCHANT_EVENT_TYPE,
            exchange=ORDER_EVENTS_EXCHANGE,
            routing_key=MERCHANT_EVENT_KEY_PREFIX + event.event,
        )
    )
    log.info("merchant_event.recorded", merchant_event=name, event_id=event.id, subscription_id=sub_id)
