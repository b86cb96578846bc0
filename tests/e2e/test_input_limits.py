"""Hostile and broken requests against every running service: heads over the limits, bodies over the
limit (chunked too), JSON nested too deep, bodies that arrive too slowly or not at all, heads that
trickle in. Each is a clean 4xx or a closed connection, never a 5xx or a stack trace in the logs, and
the service keeps serving. The limits are the defaults (README, Configuration).
"""

from __future__ import annotations

import json
import os
import select
import socket
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from conftest import System
from yarl import URL

from payments_common.signatures import sign_webhook

# the defaults these tests are written against (payments_common.http)
MAX_HEADER_BYTES = 8190
MAX_HEADER_COUNT = 64
MAX_JSON_DEPTH = 32
READ_TIMEOUT = float(os.environ.get("REQUEST_READ_TIMEOUT_SECONDS", "10"))
HEAD_TIMEOUT = 20.0
MAX_BODY_BYTES = int(os.environ.get("MAX_BODY_BYTES", str(64 * 1024)))

SERVICES = ("order-svc", "webhook-gateway", "payment-svc", "mock-gateway")
# a POST route of each service, which reads a JSON body
POST_PATHS = {
    "order-svc": "/orders",
    "webhook-gateway": "/webhook/payment",
    "payment-svc": "/internal/payments",
    "mock-gateway": "/v1/payments",
}


def base_url(system: System, service: str) -> str:
    return {
        "order-svc": system.api_url,
        "webhook-gateway": system.webhook_url,
        "payment-svc": system.payment_svc_url,
        "mock-gateway": os.environ.get("MOCK_GATEWAY_URL", "http://127.0.0.1:8083").rstrip("/"),
    }[service]


def exchange(url: str, *parts: bytes, pause: float = 0.0, then: str = "read", timeout: float = 30.0) -> bytes:
    """Send `parts` over one raw connection (`pause` apart), then read the answer until the server
    closes, or hang up at once (`then="hang_up"`), or half-close first (`then="half_close"`)."""
    target = URL(url)
    with socket.create_connection((target.host or "127.0.0.1", target.port or 80), timeout=timeout) as sock:
        for part in parts:
            if select.select([sock], [], [], 0)[0]:
                break  # the server answered or hung up before the request was complete
            try:
                sock.sendall(part)
            except (BrokenPipeError, ConnectionResetError):
                break
            time.sleep(pause)
        if then == "hang_up":
            return b""
        if then == "half_close":
            sock.shutdown(socket.SHUT_WR)
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except ConnectionResetError:
            pass
        return received


def status_of(response: bytes) -> int:
    assert response.startswith(b"HTTP/1."), response[:200]
    return int(response.split(b" ", 2)[1])


def json_of(response: bytes) -> Any:
    return json.loads(response.partition(b"\r\n\r\n")[2])


def head(path: str, *extra: bytes) -> bytes:
    return b"POST " + path.encode() + b" HTTP/1.1\r\nHost: payments\r\nConnection: close\r\n" + b"".join(extra)


def healthy(system: System, service: str) -> bool:
    response = exchange(
        base_url(system, service), b"GET /health HTTP/1.1\r\nHost: payments\r\nConnection: close\r\n\r\n"
    )
    return status_of(response) == 200


class LogWatch:
    """The log lines the services write from now on (`.run/logs/<service>.log` under the stack)."""

    def __init__(self, run_dir: Path) -> None:
        self.files = {name: run_dir / "logs" / f"{name}.log" for name in SERVICES}
        self.offsets = {name: f.stat().st_size if f.exists() else None for name, f in self.files.items()}

    def new_lines(self) -> dict[str, list[str]]:
        lines: dict[str, list[str]] = {}
        for name, offset in self.offsets.items():
            if offset is None:
                continue
            with self.files[name].open("rb") as f:
                f.seek(offset)
                lines[name] = f.read().decode(errors="replace").splitlines()
        return lines

    def assert_no_stack_trace(self) -> None:
        watched = self.new_lines()
        assert watched, f"no service log under {next(iter(self.files.values())).parent}: nothing was checked"
        for name, lines in watched.items():
            bad = [
                line[:300]
                for line in lines
                if '"exception"' in line or "Traceback" in line or "http.unhandled_error" in line
            ]
            assert bad == [], f"{name} logged a stack trace: {bad}"


@pytest.fixture
def logs(system: System) -> Iterator[LogWatch]:
    watch = LogWatch(system.run_dir)
    yield watch
    # let the services finish writing what the last request caused
    time.sleep(0.3)
    watch.assert_no_stack_trace()


# ---------------------------------------------------------------------------------------------
# the request head
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("service", SERVICES)
def test_a_header_over_the_limit_is_a_400(system: System, logs: LogWatch, service: str) -> None:
    url = base_url(system, service)
    big = b"X-Padding: " + b"a" * (MAX_HEADER_BYTES + 10) + b"\r\n"
    response = exchange(url, head(POST_PATHS[service], big, b"Content-Length: 2\r\n\r\n{}"))
    assert status_of(response) == 400
    # the refusal does not quote the header back at length
    assert b"a" * 200 not in response
    assert healthy(system, service)


@pytest.mark.parametrize("service", SERVICES)
def test_more_headers_than_the_limit_is_a_400(system: System, logs: LogWatch, service: str) -> None:
    many = b"".join(b"X-Header-%d: v\r\n" % n for n in range(MAX_HEADER_COUNT + 1))
    response = exchange(base_url(system, service), head(POST_PATHS[service], many, b"Content-Length: 2\r\n\r\n{}"))
    assert status_of(response) == 400
    assert healthy(system, service)


# ---------------------------------------------------------------------------------------------
# the body
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("service", SERVICES)
def test_a_chunked_body_over_the_limit_is_a_413(system: System, logs: LogWatch, service: str) -> None:
    chunk = b"a" * 16_384
    chunks = [b"%x\r\n%s\r\n" % (len(chunk), chunk)] * (MAX_BODY_BYTES // len(chunk) + 2)
    response = exchange(
        base_url(system, service),
        head(POST_PATHS[service], b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"),
        *chunks,
        b"0\r\n\r\n",
    )
    assert status_of(response) == 413
    assert json_of(response)["error"]["code"] == "PAYLOAD_TOO_LARGE"
    assert healthy(system, service)


def test_json_nested_past_the_limit_is_a_400_on_the_client_api(system: System, logs: LogWatch) -> None:
    deep = '{"amount": 100, "currency": "INR", "notes": {"a": ' + "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH + "}}"
    r = system.api.post("/orders", content=deep.encode(), headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "BAD_REQUEST_ERROR"
    assert f"deeper than {MAX_JSON_DEPTH}" in r.json()["error"]["description"]


def test_json_nested_past_the_limit_is_a_400_on_a_signed_webhook(system: System, logs: LogWatch) -> None:
    # signed, so it passes the signature check and reaches the parser: a gateway gone wrong
    body = b'{"orderId": ' + b"[" * 2000 + b"]" * 2000 + b"}"
    headers = sign_webhook(system.webhook_key, f"evt_deep_{uuid.uuid4().hex}", body).as_dict()
    r = system.raw.post(
        f"{system.webhook_url}/webhook/payment", content=body, headers={**headers, "content-type": "application/json"}
    )
    assert r.status_code == 400
    assert r.json()["success"] is False
    assert r.json()["error"]["code"] == "BAD_REQUEST_ERROR"


@pytest.mark.parametrize("then", ["hang_up", "half_close"])
@pytest.mark.parametrize("service", SERVICES)
def test_a_body_cut_short_is_no_5xx_and_no_stack_trace(system: System, logs: LogWatch, service: str, then: str) -> None:
    response = exchange(
        base_url(system, service),
        head(POST_PATHS[service], b"Content-Type: application/json\r\nContent-Length: 200\r\n\r\n"),
        b'{"amount": 1',
        then=then,
    )
    if response:
        assert status_of(response) < 500
    time.sleep(0.2)
    assert healthy(system, service)


def test_slow_bodies_are_a_408_and_slow_heads_are_cut_off(system: System, logs: LogWatch) -> None:
    """All at once, since each waits out a deadline: a body (order-svc, webhook-gateway) sent a byte a
    second is answered 408 after the read timeout; a head sent a line a second is cut off after the head
    timeout with no answer at all."""

    def slow_body(service: str) -> tuple[bytes, float]:
        started = time.monotonic()
        response = exchange(
            base_url(system, service),
            head(POST_PATHS[service], b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"),
            *[b" "] * 100,
            pause=1.0,
        )
        return response, time.monotonic() - started

    def slow_head(service: str) -> tuple[bytes, float]:
        started = time.monotonic()
        lines = [b"X-Slow-%d: v\r\n" % n for n in range(60)]
        response = exchange(base_url(system, service), b"GET /health HTTP/1.1\r\n", *lines, pause=1.0)
        return response, time.monotonic() - started

    with ThreadPoolExecutor(max_workers=4) as pool:
        bodies = [pool.submit(slow_body, s) for s in ("order-svc", "webhook-gateway")]
        heads = [pool.submit(slow_head, s) for s in ("order-svc", "webhook-gateway")]
        for future in bodies:
            response, took = future.result()
            assert status_of(response) == 408
            assert json_of(response)["error"]["code"] == "REQUEST_TIMEOUT"
            assert took < READ_TIMEOUT + 5, f"answered after {took:.1f} s"
        for future in heads:
            response, took = future.result()
            assert response == b"", "a head that never finished was answered"
            assert took < HEAD_TIMEOUT + 5, f"connection held {took:.1f} s"
    assert healthy(system, "order-svc") and healthy(system, "webhook-gateway")
