"""The mock gateway's tokens over HTTP on the real PostgreSQL: a captured payment charged again by its
token, server to server, settled by the usual signed webhook; a token switched to decline by a test, then
back; a token of no captured payment declined."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from .helpers import eventually
from .test_mock_gateway_http import (
    StubReceiver,
    assert_properly_signed,
    create,
    gateway,
    gateway_schema,
    read,
    receiver,
    tables,
    upi,
)

pytestmark = pytest.mark.integration

__all__ = ["gateway", "gateway_schema", "receiver", "tables"]


def token_of(gateway_payment_id: str) -> dict[str, Any]:
    return {"type": "token", "token": "token_" + gateway_payment_id.removeprefix("gw_")}


async def _settled(client: TestClient[Any, Any], receiver: StubReceiver, method: dict[str, Any]) -> dict[str, Any]:
    created = await create(client, method)
    await eventually(lambda: any(r.json()["gatewayPaymentId"] == created["id"] for r in receiver.received))
    [delivery] = [r for r in receiver.received if r.json()["gatewayPaymentId"] == created["id"]]
    assert_properly_signed(delivery)
    report: dict[str, Any] = delivery.json()
    return report


async def test_a_token_charges_the_captured_payment_again_until_switched_to_decline(
    gateway: TestClient[Any, Any], receiver: StubReceiver
) -> None:
    saved = await _settled(gateway, receiver, upi("success@razorpay"))
    assert (await read(gateway, saved["gatewayPaymentId"]))["status"] == "captured"
    token = token_of(saved["gatewayPaymentId"])

    charged = await _settled(gateway, receiver, token)
    assert charged["status"] == "SUCCESS"
    # only the method's type is kept and reported, never the token
    assert charged["method"] == {"type": "token"}

    switched = await gateway.put(f"/v1/test/tokens/{token['token']}", json={"declines": True})
    assert switched.status == 200
    declined = await _settled(gateway, receiver, token)
    assert (declined["status"], declined["errorCode"]) == ("FAILED", "TOKEN_DECLINED")

    await gateway.put(f"/v1/test/tokens/{token['token']}", json={"declines": False})
    again = await _settled(gateway, receiver, token)
    assert again["status"] == "SUCCESS"


async def test_a_token_of_no_captured_payment_is_declined(
    gateway: TestClient[Any, Any], receiver: StubReceiver
) -> None:
    failed = await _settled(gateway, receiver, upi("failure@razorpay"))
    for token in (token_of(failed["gatewayPaymentId"]), token_of("gw_00000000-0000-0000-0000-000000000000")):
        report = await _settled(gateway, receiver, token)
        assert (report["status"], report["errorCode"]) == ("FAILED", "TOKEN_INVALID")


async def test_the_switch_takes_only_tokens(gateway: TestClient[Any, Any]) -> None:
    assert (await gateway.put("/v1/test/tokens/gw_123", json={"declines": True})).status == 404
    assert (await gateway.put("/v1/test/tokens/token_123", json={"declines": "yes"})).status == 400
