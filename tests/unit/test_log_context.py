"""`payments_common.logging.bound`: keys bound inside a block, restored as they were after it, per task."""

from __future__ import annotations

import asyncio

import pytest
import structlog

from payments_common.logging import bind, bound


def context() -> dict[str, object]:
    return structlog.contextvars.get_contextvars()


@pytest.fixture(autouse=True)
def clean() -> None:
    structlog.contextvars.clear_contextvars()


def test_keys_are_bound_inside_and_restored_after() -> None:
    bind(service="order-svc", order_id="order_outer")
    with bound(order_id="order_inner", payment_id="pay_1"):
        assert context() == {"service": "order-svc", "order_id": "order_inner", "payment_id": "pay_1"}
        with bound(payment_id="pay_2"):
            assert context()["payment_id"] == "pay_2"
        assert context()["payment_id"] == "pay_1"
    assert context() == {"service": "order-svc", "order_id": "order_outer"}


def test_an_exception_leaves_the_context_as_it_was() -> None:
    with pytest.raises(RuntimeError), bound(event_id="evt_1"):
        raise RuntimeError("boom")
    assert "event_id" not in context()


async def test_concurrent_tasks_do_not_see_each_others_keys() -> None:
    seen: dict[str, object] = {}

    async def request(name: str) -> None:
        with bound(correlation_id=name):
            await asyncio.sleep(0.01)
            seen[name] = context()["correlation_id"]

    await asyncio.gather(request("req_a"), request("req_b"))
    assert seen == {"req_a": "req_a", "req_b": "req_b"}
    assert "correlation_id" not in context()
