"""The order state machine: an order is moved only by its attempts' outcomes, and the repository's
UPDATE takes its allowed from-states from the machine, never from literals of its own."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from order_svc.orders.domain import TRANSITIONS, OrderStatus, can_transition, moves_from
from order_svc.orders.repository import OrderRepository
from order_svc.payments.domain import PaymentStatus, order_moves_to

S = OrderStatus
ALLOWED = {(S.CREATED, S.PAID), (S.FAILED, S.PAID), (S.CREATED, S.FAILED)}


@pytest.mark.parametrize(("current", "target"), list(itertools.product(S, S)))
def test_every_transition_is_allowed_or_refused_as_the_contract_says(current: S, target: S) -> None:
    # a SUCCESS pays a CREATED or FAILED order; a FAILED attempt fails only a CREATED one; PAID is final
    assert can_transition(current, target) is ((current, target) in ALLOWED)


def test_a_paid_order_never_moves_again() -> None:
    assert not any(can_transition(S.PAID, target) for target in S)


def test_nothing_moves_an_order_back_to_created() -> None:
    assert S.CREATED not in TRANSITIONS
    assert moves_from(S.CREATED) == []


@pytest.mark.parametrize("target", list(S))
def test_the_sql_guard_lists_exactly_the_allowed_from_states(target: S) -> None:
    assert set(moves_from(target)) == {current for current in S if can_transition(current, target)}


@pytest.mark.parametrize(
    ("payment", "order"),
    [(PaymentStatus.INITIATED, None), (PaymentStatus.SUCCESS, S.PAID), (PaymentStatus.FAILED, S.FAILED)],
)
def test_an_attempts_outcome_names_where_it_takes_the_order(payment: PaymentStatus, order: S | None) -> None:
    assert order_moves_to(payment) is order


class RecordingConnection:
    def __init__(self, result: str) -> None:
        self.result = result
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    async def execute(self, sql: str, *args: Any) -> str:
        self.calls.append((sql, args))
        return self.result


@pytest.mark.parametrize("target", [S.PAID, S.FAILED])
async def test_the_repository_update_is_guarded_by_the_machine(target: S) -> None:
    conn = RecordingConnection("UPDATE 1")
    assert await OrderRepository(conn).move("order_1", target) is True  # type: ignore[arg-type]
    [(sql, args)] = conn.calls
    assert "status = ANY($3::text[])" in sql and "'" not in sql, "no status literal in the SQL"
    assert args == ("order_1", target.value, moves_from(target))
    refused = RecordingConnection("UPDATE 0")
    assert await OrderRepository(refused).move("order_1", target) is False  # type: ignore[arg-type]
