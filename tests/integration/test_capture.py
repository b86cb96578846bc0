"""Authorise, then capture: payment-svc's capture and the reconciler's void of a manually captured payment,
against the real PostgreSQL and the real mock gateway (its webhooks land in a stub receiver and are
applied here by hand, as the consumer would).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from payment_svc.attempts.capture import CapturePayment, capture_payment
from payment_svc.attempts.domain import AUTHORIZATION_EXPIRED, NOT_CAPTURABLE, PaymentStatus
from payment_svc.attempts.repository import Payment
from payment_svc.attempts.service import InitiatePayment, apply_webhook, initiate_payment
from payments_common import ids
from payments_common.errors import ApiError

from .helpers import eventually
from .test_reconciler import SUCCESS, World, running_world

pytestmark = pytest.mark.integration

AMOUNT = 1500


@pytest.fixture
async def gateway_world(database_dsn: str) -> AsyncIterator[tuple[World, TestClient[Any, Any]]]:
    async with running_world(database_dsn) as (world, gateway, _):
        yield world, gateway


async def _initiated(world: World) -> Payment:
    return await initiate_payment(
        world.deps,
        InitiatePayment(
            order_id=ids.new_id(ids.ORDER),
            merchant_id="m_1",
            amount=AMOUNT,
            currency="INR",
            method=SUCCESS,
            manual_capture=True,
        ),
    )


async def _authorized(world: World) -> Payment:
    """A manual capture's payment, its AUTHORIZED webhook applied as the consumer applies it."""
    payment = await _initiated(world)
    await eventually(lambda: bool(world.webhooks_for(payment.id)), within=10, what="the authorisation's webhook")
    [webhook] = world.webhooks_for(payment.id)
    assert webhook.data.status == "AUTHORIZED"
    await apply_webhook(world.deps, webhook.eventId, webhook, None)
    authorized = await world.payment(payment.id)
    assert authorized.status is PaymentStatus.AUTHORIZED
    return authorized


def _capture(payment: Payment, amount: int = AMOUNT, currency: str = "INR") -> CapturePayment:
    return CapturePayment(payment_id=payment.id, merchant_id="m_1", amount=amount, currency=currency)


async def _paid_by(world: World, payment: Payment) -> str | None:
    value = await world.pool.fetchval(
        "SELECT paid_payment_id FROM order_payments WHERE order_id = $1", payment.order_id
    )
    return None if value is None else str(value)


async def test_an_authorisation_holds_the_money_and_does_not_pay_the_order(
    gateway_world: tuple[World, TestClient[Any, Any]],
) -> None:
    world, _ = gateway_world
    payment = await _authorized(world)

    assert payment.manual_capture
    assert await world.gateway_status(payment.id) == "authorized"
    assert await _paid_by(world, payment) is None
    assert await world.outbox_types(payment.id) == ["payment.initiated", "payment.authorized"]
    # the order's open attempt: no other one may start while it waits for its capture
    with pytest.raises(ApiError) as refused:
        await initiate_payment(
            world.deps,
            InitiatePayment(
                order_id=payment.order_id, merchant_id="m_1", amount=AMOUNT, currency="INR", method=SUCCESS
            ),
        )
    assert refused.value.status == 409


async def test_a_capture_settles_success_at_the_gateway_and_pays_the_order_once(
    gateway_world: tuple[World, TestClient[Any, Any]],
) -> None:
    world, _ = gateway_world
    payment = await _authorized(world)

    captured = await capture_payment(world.deps, _capture(payment))

    assert (captured.status, captured.settled_by) == (PaymentStatus.SUCCESS, "api")
    assert await world.gateway_status(payment.id) == "captured"
    assert await _paid_by(world, payment) == payment.id
    assert await world.outbox_types(payment.id) == ["payment.initiated", "payment.authorized", "payment.succeeded"]

    # again: a 400 that changes nothing
    with pytest.raises(ApiError) as twice:
        await capture_payment(world.deps, _capture(payment))
    assert (twice.value.status, twice.value.code) == (400, NOT_CAPTURABLE)
    assert await world.outbox_types(payment.id) == ["payment.initiated", "payment.authorized", "payment.succeeded"]
    assert (await world.payment(payment.id)).version == captured.version


@pytest.mark.parametrize(("amount", "currency", "field"), [(AMOUNT - 1, "INR", "amount"), (AMOUNT, "USD", "currency")])
async def test_a_capture_of_another_amount_or_currency_is_refused_and_changes_nothing(
    gateway_world: tuple[World, TestClient[Any, Any]], amount: int, currency: str, field: str
) -> None:
    world, _ = gateway_world
    payment = await _authorized(world)

    with pytest.raises(ApiError) as refused:
        await capture_payment(world.deps, _capture(payment, amount, currency))

    assert (refused.value.status, refused.value.code, refused.value.field) == (400, NOT_CAPTURABLE, field)
    assert (await world.payment(payment.id)).status is PaymentStatus.AUTHORIZED
    assert await world.gateway_status(payment.id) == "authorized"


async def test_a_capture_of_an_unauthorised_or_another_merchant_s_payment_is_refused(
    gateway_world: tuple[World, TestClient[Any, Any]],
) -> None:
    world, _ = gateway_world
    payment = await _initiated(world)  # its webhook is not applied: still INITIATED here
    with pytest.raises(ApiError) as early:
        await capture_payment(world.deps, _capture(payment))
    assert (early.value.status, early.value.code) == (400, NOT_CAPTURABLE)
    other = CapturePayment(payment_id=payment.id, merchant_id="m_2", amount=AMOUNT, currency="INR")
    with pytest.raises(ApiError) as foreign:
        await capture_payment(world.deps, other)
    assert foreign.value.status == 404


async def test_an_authorisation_nobody_captured_in_time_is_voided_and_fails(
    gateway_world: tuple[World, TestClient[Any, Any]],
) -> None:
    world, _ = gateway_world
    payment = await _authorized(world)

    young = await world.reconciler(void_after_seconds=3600).run_once()
    assert young.voided == []
    report = await world.reconciler(void_after_seconds=0).run_once()

    assert [(v["paymentId"], v["status"], v["errorCode"]) for v in report.voided] == [
        (payment.id, "FAILED", AUTHORIZATION_EXPIRED)
    ]
    voided = await world.payment(payment.id)
    assert (voided.status, voided.error_code, voided.settled_by) == (
        PaymentStatus.FAILED,
        AUTHORIZATION_EXPIRED,
        "expiry",
    )
    assert await world.gateway_status(payment.id) == "voided"
    assert await _paid_by(world, payment) is None
    assert (await world.outbox_types(payment.id))[-1] == "payment.failed"
    # a capture now is refused, and the gateway's record stays voided
    with pytest.raises(ApiError) as late:
        await capture_payment(world.deps, _capture(payment))
    assert late.value.status == 400
    assert await world.gateway_status(payment.id) == "voided"
    # the authorisation's webhook delivered again after the void is no anomaly
    [webhook] = world.webhooks_for(payment.id)
    await apply_webhook(world.deps, "again-" + webhook.eventId, webhook, None)
    assert await world.pool.fetchval("SELECT count(*) FROM anomalies WHERE payment_id = $1", payment.id) == 0


async def test_an_authorisation_whose_webhook_was_lost_is_reconciled_to_authorized(
    gateway_world: tuple[World, TestClient[Any, Any]],
) -> None:
    world, _ = gateway_world
    payment = await _initiated(world)

    async def authorised_at_gateway() -> bool:
        return await world.gateway_status(payment.id) == "authorized"

    await eventually(authorised_at_gateway, within=10, what="the gateway's authorisation")
    await world.reconciler().run_once()

    reconciled = await world.payment(payment.id)
    assert (reconciled.status, reconciled.settled_by) == (PaymentStatus.AUTHORIZED, "reconciliation")
    assert await _paid_by(world, payment) is None


async def test_the_gateway_captures_and_voids_idempotently_and_never_both(
    gateway_world: tuple[World, TestClient[Any, Any]],
) -> None:
    world, gateway = gateway_world
    captured, voided = await _authorized(world), await _authorized(world)
    capture_path = f"/v1/payments/{captured.gateway_payment_id}/capture"
    void_path = f"/v1/payments/{voided.gateway_payment_id}/void"
    body = {"amount": AMOUNT, "currency": "INR"}

    for _ in range(2):
        answer = await gateway.post(capture_path, json=body)
        assert answer.status == 200 and (await answer.json())["status"] == "captured"
        answer = await gateway.post(void_path, json={"errorCode": "VOIDED"})
        assert answer.status == 200 and (await answer.json())["status"] == "voided"
    assert (await gateway.post(f"/v1/payments/{captured.gateway_payment_id}/void", json={})).status == 409
    assert (await gateway.post(f"/v1/payments/{voided.gateway_payment_id}/capture", json=body)).status == 409
    other = {"amount": AMOUNT + 1, "currency": "INR"}
    assert (await gateway.post(capture_path, json=other)).status == 409


async def test_a_capture_racing_the_void_settles_exactly_one_way(
    gateway_world: tuple[World, TestClient[Any, Any]],
) -> None:
    world, _ = gateway_world
    outcomes: dict[PaymentStatus, int] = {PaymentStatus.SUCCESS: 0, PaymentStatus.FAILED: 0}
    for _ in range(20):
        payment = await _authorized(world)
        capture, _void = await asyncio.gather(
            capture_payment(world.deps, _capture(payment)),
            world.reconciler(void_after_seconds=0).run_once(),
            return_exceptions=True,
        )
        final = await world.payment(payment.id)
        assert final.status in outcomes
        outcomes[final.status] += 1
        gateway = await world.gateway_status(payment.id)
        if final.status is PaymentStatus.SUCCESS:
            # the capture won: it answered the payment, the void found it captured
            assert isinstance(capture, Payment) and capture.status is PaymentStatus.SUCCESS
            assert gateway == "captured"
            assert await _paid_by(world, payment) == payment.id
        else:
            assert isinstance(capture, ApiError) and capture.status == 400
            assert (gateway, final.error_code) == ("voided", AUTHORIZATION_EXPIRED)
            assert await _paid_by(world, payment) is None
        kinds = [kind for kind, _ in await world.trail(payment.id)]
        assert kinds.count("settled") == 2, kinds  # authorised, then captured or voided: once
        events = await world.outbox_types(payment.id)
        assert events.count("payment.succeeded") + events.count("payment.failed") == 1, events
        assert await world.pool.fetchval("SELECT count(*) FROM anomalies WHERE payment_id = $1", payment.id) == 0
    assert sum(outcomes.values()) == 20
