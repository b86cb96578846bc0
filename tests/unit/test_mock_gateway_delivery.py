"""Sending one webhook: signing, retrying under one event id, refusals, the retry window, and the
recorder that sees every try and may have an answer ignored (the timeout fault)."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from tenacity import wait_fixed, wait_none

from mock_gateway.delivery.sender import DeliveryResult, WebhookSender
from payments_common import ids
from payments_common.config import parse_webhook_secrets
from payments_common.signatures import verify_webhook

WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"mock-gateway-webhook-secret-32by").decode()
BODY = b'{"status":"SUCCESS"}'


@dataclass
class Receiver:
    statuses: list[int] = field(default_factory=list)
    seen: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        self.seen.append(({k.lower(): v for k, v in request.headers.items()}, await request.read()))
        return web.json_response({}, status=self.statuses.pop(0) if self.statuses else 200)


@dataclass
class Recorder:
    """Keeps every try; answers True (ignore the answer) for the first `fake` answered tries."""

    fake: int = 0
    tries: list[tuple[int | None, str | None]] = field(default_factory=list)

    async def __call__(self, status_code: int | None, error: str | None) -> bool:
        self.tries.append((status_code, error))
        if status_code is not None and self.fake > 0:
            self.fake -= 1
            return True
        return False


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, str]]:
    stub = Receiver()
    app = web.Application()
    app.router.add_post("/webhook/payment", stub.handle)
    server = TestServer(app)
    await server.start_server()
    try:
        yield stub, str(server.make_url("/webhook/payment"))
    finally:
        await server.close()


@pytest.fixture
async def sender(receiver: tuple[Receiver, str]) -> AsyncIterator[WebhookSender]:
    sender = WebhookSender(receiver[1], parse_webhook_secrets(WEBHOOK_SECRET)[0], timeout_seconds=2, wait=wait_none())
    await sender.open()
    yield sender
    await sender.close()


async def test_a_delivery_is_signed_under_its_event_id(sender: WebhookSender, receiver: tuple[Receiver, str]) -> None:
    stub, _ = receiver
    event_id = ids.new_id(ids.EVENT)
    recorder = Recorder()
    result = await sender.deliver(event_id, BODY, window_seconds=5, record=recorder, correlation_id="req-1")
    assert result is DeliveryResult.DELIVERED
    [(headers, body)] = stub.seen
    assert body == BODY
    assert verify_webhook(parse_webhook_secrets(WEBHOOK_SECRET), headers, body, 300) == event_id
    assert headers["x-request-id"] == "req-1"
    assert recorder.tries == [(200, None)]


async def test_retries_keep_the_event_id_and_record_each_answer(
    sender: WebhookSender, receiver: tuple[Receiver, str]
) -> None:
    stub, _ = receiver
    stub.statuses = [503, 500, 429, 408]
    recorder = Recorder()
    event_id = ids.new_id(ids.EVENT)
    assert await sender.deliver(event_id, BODY, window_seconds=5, record=recorder) is DeliveryResult.DELIVERED
    assert [verify_webhook(parse_webhook_secrets(WEBHOOK_SECRET), h, b, 300) for h, b in stub.seen] == [event_id] * 5
    assert recorder.tries == [(503, None), (500, None), (429, None), (408, None), (200, None)]


@pytest.mark.parametrize("status", [400, 401, 404, 422])
async def test_a_refusal_is_final(sender: WebhookSender, receiver: tuple[Receiver, str], status: int) -> None:
    stub, _ = receiver
    stub.statuses = [status]
    recorder = Recorder()
    assert await sender.deliver(ids.new_id(ids.EVENT), BODY, window_seconds=5, record=recorder) is (
        DeliveryResult.REFUSED
    )
    assert recorder.tries == [(status, None)]


async def test_an_ignored_answer_is_retried(sender: WebhookSender, receiver: tuple[Receiver, str]) -> None:
    stub, _ = receiver
    recorder = Recorder(fake=1)
    assert await sender.deliver(ids.new_id(ids.EVENT), BODY, window_seconds=5, record=recorder) is (
        DeliveryResult.DELIVERED
    )
    # the first 200 was really sent and answered, and recorded as such
    assert recorder.tries == [(200, None), (200, None)]
    assert len(stub.seen) == 2


async def test_an_ignored_refusal_is_retried_too(sender: WebhookSender, receiver: tuple[Receiver, str]) -> None:
    stub, _ = receiver
    stub.statuses = [400]
    recorder = Recorder(fake=1)
    assert await sender.deliver(ids.new_id(ids.EVENT), BODY, window_seconds=5, record=recorder) is (
        DeliveryResult.DELIVERED
    )
    assert recorder.tries == [(400, None), (200, None)]


async def test_an_unreachable_receiver_is_recorded_and_given_up_after_the_window() -> None:
    # a port nothing listens on: every try fails to connect
    with_nobody = TestServer(web.Application())
    await with_nobody.start_server()
    url = str(with_nobody.make_url("/webhook/payment"))
    await with_nobody.close()
    sender = WebhookSender(url, parse_webhook_secrets(WEBHOOK_SECRET)[0], timeout_seconds=1, wait=wait_fixed(0.05))
    await sender.open()
    try:
        recorder = Recorder()
        assert await sender.deliver(ids.new_id(ids.EVENT), BODY, window_seconds=0.3, record=recorder) is (
            DeliveryResult.GAVE_UP
        )
    finally:
        await sender.close()
    assert len(recorder.tries) >= 2
    assert all(status is None and error for status, error in recorder.tries)


async def test_no_try_once_the_window_is_over(sender: WebhookSender, receiver: tuple[Receiver, str]) -> None:
    stub, _ = receiver
    recorder = Recorder()
    assert await sender.deliver(ids.new_id(ids.EVENT), BODY, window_seconds=0, record=recorder) is (
        DeliveryResult.GAVE_UP
    )
    assert stub.seen == [] and recorder.tries == []


async def test_sending_before_open_is_a_programming_error() -> None:
    sender = WebhookSender("http://127.0.0.1:9/", b"k" * 32, timeout_seconds=1)
    with pytest.raises(RuntimeError, match="open"):
        await sender.deliver(ids.new_id(ids.EVENT), BODY, window_seconds=1)
