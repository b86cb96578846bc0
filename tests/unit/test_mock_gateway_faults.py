"""Which faults a payment gets: the per-run spec, the per-payment vpa tokens, the random draw."""

from __future__ import annotations

import random

import pytest

from mock_gateway.delivery.faults import Fault, canonical, draw_faults, parse_fault_rates, requested_faults


def upi(vpa: str) -> dict[str, str]:
    return {"type": "upi", "vpa": vpa}


# --- MOCK_GATEWAY_FAULTS ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "rates"),
    [
        ("", {}),
        ("  ", {}),
        ("duplicate=0.3", {Fault.DUPLICATE: 0.3}),
        (
            "duplicate=0.3,reorder=0.2,delay=0.1,timeout=0.1,late_success=0.05",
            {
                Fault.DUPLICATE: 0.3,
                Fault.REORDER: 0.2,
                Fault.DELAY: 0.1,
                Fault.TIMEOUT: 0.1,
                Fault.LATE_SUCCESS: 0.05,
            },
        ),
        (" late-success = 1 , delay=0 ,", {Fault.LATE_SUCCESS: 1.0, Fault.DELAY: 0.0}),
    ],
)
def test_valid_fault_specs(raw: str, rates: dict[Fault, float]) -> None:
    assert parse_fault_rates(raw) == rates


@pytest.mark.parametrize(
    ("raw", "complaint"),
    [
        ("duplicate", "not name=probability"),
        ("explode=0.5", "not name=probability"),
        ("=0.5", "not name=probability"),
        ("duplicate=often", "'often' is not a number"),
        ("duplicate=", "'' is not a number"),
        ("duplicate=1.5", "within [0, 1]"),
        ("delay=-0.1", "within [0, 1]"),
        ("delay=nan", "within [0, 1]"),
        ("delay=0.1,delay=0.2", "given twice"),
        ("late_success=0.1,late-success=0.2", "given twice"),
    ],
)
def test_invalid_fault_specs_say_what_is_wrong(raw: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint.replace("[", r"\[").replace("]", r"\]")):
        parse_fault_rates(raw)


# --- per-payment tokens -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("vpa", "faults"),
    [
        ("success@razorpay", set()),
        ("pending@razorpay", set()),
        ("success.duplicate@razorpay", {Fault.DUPLICATE}),
        ("failure.late-success.reorder@razorpay", {Fault.LATE_SUCCESS, Fault.REORDER}),
        ("failure.late_success@razorpay", {Fault.LATE_SUCCESS}),
        ("success.timeout.delay@razorpay", {Fault.TIMEOUT, Fault.DELAY}),
        ("SUCCESS.Duplicate@RazorPay", {Fault.DUPLICATE}),
        ("success.bogus.duplicate.x@razorpay", {Fault.DUPLICATE}),
        # without the outcome word, every token is read as a fault
        ("duplicate@razorpay", {Fault.DUPLICATE}),
        # a real vpa is never a test value
        ("success.duplicate@okbank", set()),
    ],
)
def test_requested_faults(vpa: str, faults: set[Fault]) -> None:
    assert requested_faults(upi(vpa)) == faults


@pytest.mark.parametrize("method", [None, {}, {"type": "card"}, {"type": "upi", "vpa": 7}])
def test_no_vpa_requests_no_fault(method: dict[str, object] | None) -> None:
    assert requested_faults(method) == frozenset()


# --- the per-run draw ---------------------------------------------------------------------------


def test_no_rates_draw_nothing() -> None:
    assert draw_faults({}, random.Random(1)) == frozenset()


def test_certain_and_impossible_rates() -> None:
    rng = random.Random(1)
    rates = {Fault.DUPLICATE: 1.0, Fault.DELAY: 0.0}
    assert all(draw_faults(rates, rng) == {Fault.DUPLICATE} for _ in range(200))


def test_a_seed_replays_the_draw() -> None:
    rates = parse_fault_rates("duplicate=0.5,reorder=0.5,timeout=0.5")
    first, second = random.Random(42), random.Random(42)
    assert [draw_faults(rates, first) for _ in range(50)] == [draw_faults(rates, second) for _ in range(50)]


def test_each_fault_is_drawn_about_as_often_as_its_rate() -> None:
    rng = random.Random(3)
    rates = {Fault.DUPLICATE: 0.3, Fault.TIMEOUT: 0.8}
    draws = [draw_faults(rates, rng) for _ in range(4000)]
    assert 0.27 < sum(Fault.DUPLICATE in d for d in draws) / len(draws) < 0.33
    assert 0.77 < sum(Fault.TIMEOUT in d for d in draws) / len(draws) < 0.83
    assert not any(Fault.REORDER in d for d in draws)


def test_canonical_names_are_in_declaration_order() -> None:
    assert canonical(frozenset({Fault.LATE_SUCCESS, Fault.DUPLICATE, Fault.DELAY})) == [
        "duplicate",
        "delay",
        "late_success",
    ]
