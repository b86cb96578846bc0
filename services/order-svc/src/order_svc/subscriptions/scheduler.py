"""The durable scheduler: a loop inside order-svc that invoices each subscription's cycles as they start
and charges them with the subscription's token, retries failed charges on the schedule, and settles each
invoice from the outcome of its charge.

Every step is one transaction that starts by locking the subscription it works on with `FOR UPDATE SKIP
LOCKED`, so any number of order-svc replicas run it at once without waiting for each other or doing a step
twice; all its state is in the tables, so a process killed anywhere leaves nothing a restart does not
pick up:
- a cycle's invoice is unique per (subscription, cycle), inserted in the step that moves `next_cycle` on;
- a charge is sent with a request id fixed by (invoice, attempt) while the subscription is locked, and
  recorded in that same transaction: a crash between the two leaves the invoice `due`, and the charge sent
  again carries the same request id, which payment-svc answers with the attempt it made the first time;
- a charge is settled from order-svc's own view of its attempt (kept from payment-svc's events), not from
  a message of its own, so a settlement missed while the scheduler was down is found on its next pass.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from order_svc.deps import Deps
from order_svc.payments.repository import PaymentViewRepository
from order_svc.payments.schemas import InitiatePayment
from order_svc.payments.service import initiate_payment
from order_svc.subscriptions import domain
from order_svc.subscriptions.domain import (
    Invoice,
    Subscription,
    SubscriptionStatus,
    billing_of,
    charge_failed,
    charge_request_id,
    charge_succeeded,
    cycles_to_invoice,
    expired,
    token_of,
)
from order_svc.subscriptions.messages import subscription_event
from order_svc.subscriptions.repository import SubscriptionRepository
from order_svc.subscriptions.service import end, issue_cycle
from payments_common.errors import ApiError
from payments_common.events import PaymentSnapshot
from payments_common.logging import bound, get_logger
from payments_common.uow import UnitOfWork

log = get_logger(__name__)
S = SubscriptionStatus
CANCELS_AT_CYCLE_END = frozenset({S.ACTIVE, S.PENDING, S.HALTED, S.PAUSED})


class TokenMethod(BaseModel):
    """A charge of a saved payment method: the gateway's token, handed to it as the payment's method."""

    type: Literal["token"] = "token"
    token: str


# sends an invoice's `attempt`-th charge and answers payment-svc's attempt
Charge = Callable[[Deps, Subscription, Invoice, int], Awaitable[PaymentSnapshot]]


async def send_charge(deps: Deps, sub: Subscription, invoice: Invoice, attempt: int) -> PaymentSnapshot:
    """The native initiate of the invoice's order, with the token as its method (built, not validated: the
    client's methods are what `InitiatePayment` checks, and a token never comes from a client)."""
    if sub.token is None:
        raise RuntimeError(f"{sub.id} has no token to charge")
    # the native initiate takes a client's methods only; its `method_dict` dumps whatever model it holds
    token = TokenMethod(token=sub.token)
    cmd = InitiatePayment.model_construct(orderId=invoice.order_id, method=token)  # type: ignore[arg-type]
    return await initiate_payment(deps, sub.merchant_id, cmd, None, charge_request_id(invoice.id, attempt))


class Step(enum.Enum):
    IDLE = "idle"
    DONE = "done"
    # a charge could not be sent (payment-svc unreachable): left due, tried again on the next pass
    STALLED = "stalled"


class Scheduler:
    def __init__(
        self, deps: Deps, retry_days: Sequence[int], charge: Charge = send_charge, wake: asyncio.Event | None = None
    ) -> None:
        self._deps = deps
        self._retry_days = tuple(retry_days)
        self._charge = charge
        self.wake = wake if wake is not None else asyncio.Event()

    async def run_once(self, max_steps: int = 10_000) -> int:
        """Settle what settled, then invoice and charge what is due, until nothing is left; the steps taken."""
        steps = 0
        while steps < max_steps and await self.settle_one():
            steps += 1
        while steps < max_steps:
            step = await self.advance_one()
            if step is not Step.DONE:
                break
            steps += 1
        return steps

    async def run_forever(self, interval: float) -> None:
        """A pass every `interval` seconds, or at once when `wake` is set (a test clock advanced)."""
        while True:
            try:
                await self.run_once()
            except Exception:
                # a pass that failed leaves everything as it was: the next one starts over
                log.exception("subscription_scheduler.pass_failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), interval)
            self.wake.clear()

    async def settle_one(self) -> bool:
        """One invoice whose charge settled: the invoice paid, or its charge retried later, and the
        subscription moved with it; False when none is waiting."""
        async with UnitOfWork(self._deps.pool) as uow:
            repo = uow.repo(SubscriptionRepository)
            claimed = await repo.claim_settled()
            if claimed is None:
                return False
            sub, invoice, settled, now = claimed
            with bound(subscription_id=sub.id, invoice_id=invoice.id, cycle=invoice.cycle):
                if settled == "SUCCESS":
                    await self._paid(uow, sub, invoice, now)
                else:
                    await self._failed(uow, sub, invoice, now)
        return True

    async def _paid(self, uow: UnitOfWork, sub: Subscription, invoice: Invoice, now: datetime) -> None:
        repo = uow.repo(SubscriptionRepository)
        views = await uow.repo(PaymentViewRepository).of_order(invoice.order_id)
        paid = next(view for view in views if view.status == "SUCCESS")
        outcome = charge_succeeded(sub.status, invoice.cycle, sub.total_count)
        await repo.update_invoice(invoice.id, status="paid", paid_at=now, payment_id=paid.id, next_attempt_at=None)
        changes: dict[str, object] = {"status": outcome.status, "paid_count": sub.paid_count + 1}
        if sub.token is None and paid.gateway_payment_id is not None:
            changes["token"] = token_of(paid.gateway_payment_id)
        if outcome.status is S.COMPLETED:
            changes["ended_at"] = now
        await repo.update_subscription(sub.id, **changes)
        for name in outcome.events:
            key = f"{sub.id}/{invoice.id}/{invoice.attempts}" if name != domain.CHARGED else invoice.id
            await subscription_event(uow, sub.id, name, at=now, key=key, payment_id=paid.id)
        log.info("subscription.charged", status=outcome.status.value, payment_id=paid.id)

    async def _failed(self, uow: UnitOfWork, sub: Subscription, invoice: Invoice, now: datetime) -> None:
        repo = uow.repo(SubscriptionRepository)
        outcome = charge_failed(sub.status, invoice.attempts, now, self._retry_days)
        if outcome.retry_at is None:
            await repo.update_invoice(invoice.id, status="unpaid", next_attempt_at=None)
        else:
            await repo.update_invoice(invoice.id, status="due", next_attempt_at=outcome.retry_at)
        if outcome.status is not sub.status:
            await repo.update_subscription(sub.id, status=outcome.status)
        for name in outcome.events:
            key = f"{sub.id}/{invoice.id}/{invoice.attempts}"
            await subscription_event(uow, sub.id, name, at=now, key=key, payment_id=invoice.payment_id)
        log.info("subscription.charge_failed", attempts=invoice.attempts, status=outcome.status.value)

    async def advance_one(self) -> Step:
        """One thing time asks of one subscription: expire it, cancel it at its cycle's end, invoice its
        next cycle, or charge an invoice that is due."""
        async with UnitOfWork(self._deps.pool) as uow:
            repo = uow.repo(SubscriptionRepository)
            claimed = await repo.claim_due()
            if claimed is None:
                return Step.IDLE
            sub, now = claimed
            with bound(subscription_id=sub.id):
                if expired(sub.status, sub.expire_by, now):
                    await end(uow, sub, S.EXPIRED, now)
                    log.info("subscription.expired")
                    return Step.DONE
                if sub.cancel_at_cycle_end and sub.next_charge_at <= now and sub.status in CANCELS_AT_CYCLE_END:
                    await end(uow, sub, S.CANCELLED, sub.next_charge_at)
                    await subscription_event(uow, sub.id, domain.CANCELLED, at=now)
                    return Step.DONE
                if sub.status is S.ACTIVE and sub.next_cycle <= sub.total_count and sub.next_charge_at <= now:
                    await self._invoice_next(uow, sub, now)
                    return Step.DONE
                invoice = await repo.due_invoice(sub.id, now)
                if invoice is None:
                    return Step.IDLE
                return await self._charge_due(uow, sub, invoice)

    async def _invoice_next(self, uow: UnitOfWork, sub: Subscription, now: datetime) -> None:
        repo = uow.repo(SubscriptionRepository)
        plan = await repo.plan(sub.plan_id, sub.merchant_id)
        assert plan is not None
        billing = billing_of(sub, plan)
        cycle = cycles_to_invoice(billing, sub.next_cycle, now, catch_up=sub.catch_up)[0]
        if cycle > sub.next_cycle:
            log.info("subscription.cycles_skipped", skipped=list(range(sub.next_cycle, cycle)))
        # the row as the invoice's created_at reads it: the subscription's own time
        invoice = await issue_cycle(uow, _at(sub, now), plan, cycle)
        await repo.update_subscription(sub.id, next_cycle=cycle + 1, next_charge_at=billing.cycle_start(cycle + 1))
        log.info("subscription.cycle_invoiced", cycle=cycle, invoice_id=invoice.id, order_id=invoice.order_id)

    async def _charge_due(self, uow: UnitOfWork, sub: Subscription, invoice: Invoice) -> Step:
        attempt = invoice.attempts + 1
        try:
            payment = await self._charge(self._deps, sub, invoice, attempt)
        except ApiError as exc:
            log.warning("subscription.charge_not_sent", invoice_id=invoice.id, code=exc.code, status=exc.status)
            if exc.status == 503:
                # payment-svc unreachable: left due, sent again (same request id) on the next pass
                return Step.STALLED
            # refused (the gateway's 502, a 4xx): a failed charge, retried on the schedule like a decline
            failed = replace(invoice, attempts=attempt)
            await uow.repo(SubscriptionRepository).update_invoice(invoice.id, attempts=attempt)
            await self._failed(uow, sub, failed, await uow.repo(SubscriptionRepository).now_of(sub.id))
            return Step.DONE
        await uow.repo(SubscriptionRepository).update_invoice(
            invoice.id, status="charging", attempts=attempt, payment_id=payment.id, next_attempt_at=None
        )
        log.info("subscription.charge_sent", invoice_id=invoice.id, attempt=attempt, payment_id=payment.id)
        return Step.DONE


def _at(sub: Subscription, now: datetime) -> Subscription:
    return replace(sub, updated_at=now)
