"""Random sequences of attempts and gateway reports applied by the real code on the real PostgreSQL.

Attempts are started by `payment_svc.attempts.service.initiate_payment` (with a stand-in gateway that answers
at once); reports are applied by `payment_svc.attempts.settlement.apply_report`, either through
`apply_webhook` (inbox, locks, then apply_report; a repeated event id is absorbed by the inbox) or,
as the reconciler does, directly under the order and payment row locks. After every step the
database must keep the invariants of the pure model (tests/unit/test_state_machine_properties.py):
an attempt leaves INITIATED at most once and never moves after, one SUCCESS at most per order, a
SUCCESS for the wrong amount or currency ends FAILED, PAID (`paid_payment_id`) iff exactly one SUCCESS.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from payment_svc.attempts.domain import (
    AMOUNT_MISMATCH,
    CURRENCY_MISMATCH,
    TERMINAL,
    PaymentStatus,
    ReportedOutcome,
    Source,
)
from payment_svc.attempts.repository import PaymentRepository
from payment_svc.attempts.service import WEBHOOK_CONSUMER, Deps, InitiatePayment, apply_webhook, initiate_payment
from payment_svc.attempts.settlement import apply_report
from payment_svc.gateway.client import GatewayPayment
from payments_common import ids
from payments_common.errors import ApiError
from payments_common.events import WebhookEnvelope, WebhookPayload
from payments_common.signatures import payment_signature
from payments_common.timeutil import utcnow
from payments_common.uow import UnitOfWork

from .conftest import migrated_schema

pytestmark = pytest.mark.integration

SECRET = b"settlement-properties-signing-secret"
S = PaymentStatus
SAME = "same"
CURRENCIES = ["INR", "USD", "EUR"]


class InstantGateway:
    """Stands in for `GatewayClient.create_payment`: a gateway payment, signed, at once."""

    async def create_payment(self, payment_id: str, order_id: str, *_: Any, **__: Any) -> GatewayPayment:
        gateway_id = ids.new_id(ids.GATEWAY_PAYMENT)
        return GatewayPayment(id=gateway_id, signature=payment_signature(SECRET, order_id, gateway_id))


@dataclass(frozen=True)
class Start:
    pass


@dataclass(frozen=True)
class Deliver:
    attempt: int  # index into the order's attempts, modulo how many there are
    status: PaymentStatus
    amount: int | str | None
    currency: str | None
    event: int  # small numbers, so that the same event id comes again
    via_webhook: bool


steps = st.lists(
    st.one_of(
        st.just(Start()),
        st.builds(
            Deliver,
            attempt=st.integers(0, 3),
            status=st.sampled_from([S.SUCCESS, S.FAILED]),
            amount=st.one_of(st.none(), st.just(SAME), st.integers(1, 10**6)),
            currency=st.one_of(st.none(), st.just(SAME), st.sampled_from(CURRENCIES)),
            event=st.integers(0, 5),
            via_webhook=st.booleans(),
        ),
    ),
    min_size=1,
    max_size=12,
)


@dataclass
class Run:
    deps: Deps
    order_id: str
    amount: int
    currency: str
    attempts: list[str] = field(default_factory=list)
    gateway_ids: dict[str, str] = field(default_factory=dict)
    # every status seen per attempt, after each step
    seen: dict[str, list[str]] = field(default_factory=dict)


@contextlib.asynccontextmanager
async def payment_schema(dsn: str) -> AsyncIterator[asyncpg.Pool]:
    async with migrated_schema(dsn, "payments_common", "payment_svc") as (_, pool):
        yield pool


@pytest.fixture(scope="module")
async def pool(database_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    async with payment_schema(database_dsn) as pool:
        yield pool


async def _start(run: Run) -> None:
    cmd = InitiatePayment(
        order_id=run.order_id, merchant_id="m_1", amount=run.amount, currency=run.currency, method=None
    )
    try:
        payment = await initiate_payment(run.deps, cmd)
    except ApiError as refused:
        assert refused.status == 409
        statuses = await _statuses(run)
        # refused exactly when the order is paid or an attempt is in flight
        assert S.SUCCESS.value in statuses.values() or S.INITIATED.value in statuses.values()
        return
    assert payment.gateway_payment_id is not None
    run.attempts.append(payment.id)
    run.gateway_ids[payment.id] = payment.gateway_payment_id


async def _deliver(run: Run, step: Deliver) -> None:
    payment_id = run.attempts[step.attempt % len(run.attempts)]
    amount = run.amount if step.amount == SAME else step.amount
    currency = run.currency if step.currency == SAME else step.currency
    assert amount is None or isinstance(amount, int)
    before = (await _statuses(run))[payment_id]
    event_id = f"evt_{run.order_id}_{step.event}"
    absorbed = False
    if step.via_webhook:
        # an event id this run used before (for any attempt) is absorbed by the inbox: a no-op
        absorbed = await _claimed(run, event_id)
        payload = WebhookPayload(
            orderId=run.order_id,
            paymentId=payment_id,
            gatewayPaymentId=run.gateway_ids[payment_id],
            signature=payment_signature(SECRET, run.order_id, run.gateway_ids[payment_id]),
            status=step.status.value,
            amount=amount,
            currency=currency,
        )
        envelope = WebhookEnvelope(eventId=event_id, receivedAt=utcnow(), data=payload)
        await apply_webhook(run.deps, event_id, envelope, None)
        assert await _claimed(run, event_id)
    else:
        async with UnitOfWork(run.deps.pool) as uow:
            repo = PaymentRepository(uow.conn)
            await repo.lock_existing_order(run.order_id)
            payment = await repo.get(payment_id, for_update=True)
            assert payment is not None
            reported = ReportedOutcome(step.status, amount, currency)
            await apply_report(uow, payment, reported, source=Source.RECONCILIATION, event_id=None)

    row = await run.deps.pool.fetchrow("SELECT status, error_code FROM payments WHERE id = $1", payment_id)
    if before != S.INITIATED.value or absorbed:
        assert row["status"] == before
        return
    wrong_amount = amount is not None and amount != run.amount
    wrong_currency = currency is not None and currency != run.currency
    if step.status is S.SUCCESS and (wrong_amount or wrong_currency):
        assert row["status"] == S.FAILED.value
        assert row["error_code"] == (AMOUNT_MISMATCH if wrong_amount else CURRENCY_MISMATCH)
    else:
        assert row["status"] == step.status.value


async def _claimed(run: Run, event_id: str) -> bool:
    found = await run.deps.pool.fetchval(
        "SELECT 1 FROM inbox WHERE consumer = $1 AND message_id = $2", WEBHOOK_CONSUMER, event_id
    )
    return found is not None


async def _statuses(run: Run) -> dict[str, str]:
    rows = await run.deps.pool.fetch("SELECT id, status FROM payments WHERE order_id = $1", run.order_id)
    return {row["id"]: row["status"] for row in rows}


async def _check_invariants(run: Run) -> None:
    statuses = await _statuses(run)
    assert set(statuses) == set(run.attempts)
    for payment_id, status in statuses.items():
        history = run.seen.setdefault(payment_id, [])
        history.append(status)
        moves = [b for a, b in itertools.pairwise(history) if a != b]
        assert len(moves) <= 1, f"{payment_id} moved more than once: {history}"
        assert all(move in {s.value for s in TERMINAL} for move in moves)
    values = list(statuses.values())
    assert values.count(S.INITIATED.value) <= 1
    assert values.count(S.SUCCESS.value) <= 1
    settled = await run.deps.pool.fetch(
        """SELECT payment_id, count(*) AS n FROM payment_events
            WHERE kind = 'settled' AND payment_id = ANY($1::text[]) GROUP BY payment_id""",
        run.attempts,
    )
    assert all(row["n"] == 1 for row in settled)
    assert {row["payment_id"] for row in settled} == {p for p, s in statuses.items() if s != S.INITIATED.value}
    paid = await run.deps.pool.fetchval("SELECT paid_payment_id FROM order_payments WHERE order_id = $1", run.order_id)
    successes = [p for p, s in statuses.items() if s == S.SUCCESS.value]
    assert (paid is not None) == (len(successes) == 1)
    if successes:
        assert paid == successes[0]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(program=steps, amount=st.integers(1, 10**6), currency=st.sampled_from(CURRENCIES))
async def test_any_report_sequence_keeps_the_invariants_in_the_database(
    pool: asyncpg.Pool, program: list[Start | Deliver], amount: int, currency: str
) -> None:
    deps = Deps(pool=pool, gateway=InstantGateway(), signing_secret=SECRET)  # type: ignore[arg-type]
    run = Run(deps=deps, order_id=ids.new_id(ids.ORDER), amount=amount, currency=currency)
    await _start(run)
    await _check_invariants(run)
    for step in program:
        if isinstance(step, Start):
            await _start(run)
        else:
            await _deliver(run, step)
        await _check_invariants(run)
