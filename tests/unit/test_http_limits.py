"""Input limits every service's HTTP server has (payments_common.http.base_app): body size, chunked
bodies included, header size and count, JSON nesting, slow and truncated requests.

The server here is a real aiohttp server on a local port, run as `web.run_app` runs the services
(handlers are not cancelled when the client goes away), and the clients are raw sockets, so that
requests no well-behaved client library would send can be sent.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import AsyncIterator, MutableMapping
from typing import Any

import orjson
import pytest
from aiohttp import web
from aiohttp.http_exceptions import LineTooLong
from hypothesis import given, settings
from hypothesis import strategies as st

from payments_common import http
from payments_common.http import HttpLimits, base_app, json_nesting_exceeds, json_response, read_json_object
from payments_common.service import MalformedRequestFilter, load_settings

MAX_BODY = 1000


# ---------------------------------------------------------------------------------------------
# JSON nesting
# ---------------------------------------------------------------------------------------------


def depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((depth(v) for v in value), default=0)
    return 0


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}"\\ab,:'),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(alphabet='[]{}"\\a'), children),
    max_leaves=60,
)


@settings(max_examples=400, deadline=None)
@given(json_values, st.integers(min_value=1, max_value=12))
def test_nesting_check_agrees_with_the_parsed_depth(value: Any, limit: int) -> None:
    # strings full of brackets, quotes and backslashes must not count as nesting
    raw = json.dumps(value).encode()
    assert json_nesting_exceeds(raw, limit) == (depth(orjson.loads(raw)) > limit)


@pytest.mark.parametrize(
    ("raw", "limit", "exceeds"),
    [
        (b"[" * 32 + b"]" * 32, 32, False),
        (b"[" * 33 + b"]" * 33, 32, True),
        (b'{"a":' * 33 + b"1" + b"}" * 33, 32, True),
        (b'{"a":' * 32 + b"1" + b"}" * 32, 32, False),
        (b'["' + b"[" * 100 + b'"]', 32, False),  # brackets inside a string
        (b'["\\"' + b"[" * 100 + b'"]', 32, False),  # after an escaped quote, still inside the string
        (b"[" * 1000, 32, False),  # never closed: malformed, left for the parser to refuse
        (b"[]" * 1000, 32, False),  # many, but shallow
    ],
)
def test_nesting_examples(raw: bytes, limit: int, exceeds: bool) -> None:
    assert json_nesting_exceeds(raw, limit) is exceeds


def test_the_highest_configurable_limit_works() -> None:
    assert json_nesting_exceeds(b"[" * 256 + b"]" * 256, 256) is False
    assert json_nesting_exceeds(b"[" * 257 + b"]" * 257, 256) is True
    with pytest.raises(ValueError):
        HttpLimits(MAX_JSON_DEPTH=257)


def test_strings_full_of_escapes_and_brackets_do_not_count() -> None:
    # thousands of strings holding escaped quotes, backslashes and brackets, inside 32 and 33 levels
    hostile = json.dumps(['\\"[{' * 3, '\\\\"]}', "[[[[", '"'] * 1500).encode()
    assert json_nesting_exceeds(b"[" * 31 + hostile + b"]" * 31, 32) is False
    assert json_nesting_exceeds(b"[" * 32 + hostile + b"]" * 32, 32) is True


# ---------------------------------------------------------------------------------------------
# a real server, raw clients
# ---------------------------------------------------------------------------------------------


async def echo(request: web.Request) -> web.Response:
    data = await read_json_object(request)
    return json_response({"keys": sorted(data)})


@pytest.fixture
async def port() -> AsyncIterator[int]:
    app = base_app(max_body_bytes=MAX_BODY, limits=HttpLimits(REQUEST_READ_TIMEOUT_SECONDS=0.5, MAX_JSON_DEPTH=8))
    app.router.add_post("/echo", echo)
    runner = web.AppRunner(app, access_log=None, handler_cancellation=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield runner.addresses[0][1]
    finally:
        await runner.cleanup()


HEAD = b"POST /echo HTTP/1.1\r\nHost: test\r\n"


async def exchange(port: int, *parts: bytes, pause: float = 0.0, then: str = "read") -> bytes:
    """Send `parts` (`pause` apart), then read the answer to the end, or half-close first, or hang up."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for part in parts:
            writer.write(part)
            await writer.drain()
            await asyncio.sleep(pause)
        if then == "hang_up":
            return b""
        if then == "half_close":
            writer.write_eof()
        return await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()


def status_of(response: bytes) -> int:
    return int(response.split(b" ", 2)[1])


def json_of(response: bytes) -> Any:
    return orjson.loads(response.partition(b"\r\n\r\n")[2])


async def still_serving(port: int) -> None:
    response = await exchange(port, HEAD + b'Connection: close\r\nContent-Length: 8\r\n\r\n{"a": 1}')
    assert status_of(response) == 200
    assert json_of(response) == {"keys": ["a"]}


async def test_a_header_over_the_limit_is_a_400_not_a_500(port: int) -> None:
    response = await exchange(port, HEAD + b"X-Big: " + b"a" * 9000 + b"\r\nContent-Length: 2\r\n\r\n{}")
    assert status_of(response) == 400
    await still_serving(port)


async def test_a_request_line_over_the_limit_is_a_400(port: int) -> None:
    response = await exchange(
        port, b"POST /echo?" + b"q" * 9000 + b" HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\n{}"
    )
    assert status_of(response) == 400
    await still_serving(port)


async def test_more_headers_than_the_limit_is_a_400(port: int) -> None:
    many = b"".join(b"X-H%d: v\r\n" % n for n in range(http.MAX_HEADER_COUNT + 1))
    response = await exchange(port, HEAD + many + b"Content-Length: 2\r\n\r\n{}")
    assert status_of(response) == 400
    fewer = b"".join(b"X-H%d: v\r\n" % n for n in range(http.MAX_HEADER_COUNT - 4))
    response = await exchange(port, HEAD + fewer + b"Connection: close\r\nContent-Length: 2\r\n\r\n{}")
    assert status_of(response) == 200


async def test_a_chunked_body_over_the_limit_is_a_413(port: int) -> None:
    chunk = b"a" * (MAX_BODY + 1)
    response = await exchange(
        port,
        HEAD + b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        b"%x\r\n%s\r\n0\r\n\r\n" % (len(chunk), chunk),
    )
    assert status_of(response) == 413
    assert json_of(response)["error"]["code"] == "PAYLOAD_TOO_LARGE"


async def test_a_chunked_body_within_the_limit_is_read(port: int) -> None:
    response = await exchange(
        port,
        HEAD + b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        b'4\r\n{"b"\r\n',
        b"3\r\n:2}\r\n0\r\n\r\n",
    )
    assert status_of(response) == 200
    assert json_of(response) == {"keys": ["b"]}


async def test_json_nested_past_the_limit_is_a_400(port: int) -> None:
    body = b'{"a":' * 9 + b"1" + b"}" * 9
    response = await exchange(port, HEAD + b"Connection: close\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
    assert status_of(response) == 400
    assert json_of(response)["error"]["code"] == "BAD_REQUEST_ERROR"
    assert "deeper than 8" in json_of(response)["error"]["description"]
    body = b'{"a":' * 8 + b"1" + b"}" * 8
    response = await exchange(port, HEAD + b"Connection: close\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
    assert status_of(response) == 200


async def test_a_body_arriving_too_slowly_is_a_408_and_the_connection_closes(
    port: int, captured_logs: list[MutableMapping[str, Any]]
) -> None:
    # 10 bytes announced, one every 0.2 s: the 0.5 s deadline passes first
    response = await exchange(port, HEAD + b"Content-Length: 10\r\n\r\n", *[b" "] * 10, pause=0.2)
    assert status_of(response) == 408
    assert json_of(response)["error"]["code"] == "REQUEST_TIMEOUT"
    assert b"\r\nConnection: close\r\n" in response
    assert [e["event"] for e in captured_logs if e["log_level"] in ("error", "critical")] == []
    await still_serving(port)


@pytest.mark.parametrize("then", ["hang_up", "half_close"])
async def test_a_body_cut_short_is_no_500_and_no_stack_trace(
    port: int, captured_logs: list[MutableMapping[str, Any]], then: str
) -> None:
    response = await exchange(port, HEAD + b'Content-Length: 100\r\n\r\n{"a":', then=then)
    await asyncio.sleep(0.2)
    assert b" 500 " not in response
    assert response == b"" or status_of(response) == 400
    assert [e["event"] for e in captured_logs] == ["http.body_incomplete"]
    assert "exc_info" not in captured_logs[0]
    assert captured_logs[0]["log_level"] == "info"
    await still_serving(port)


async def test_a_malformed_chunk_is_a_400(port: int) -> None:
    response = await exchange(port, HEAD + b"Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n")
    assert status_of(response) == 400
    await still_serving(port)


async def test_headers_arriving_too_slowly_are_cut_off(monkeypatch: pytest.MonkeyPatch) -> None:
    # the head's deadline is the keep-alive timer, armed at connect: shortened here to keep the test short
    monkeypatch.setattr(http, "HEAD_AND_IDLE_TIMEOUT_SECONDS", 0.5)
    app = base_app(max_body_bytes=MAX_BODY, limits=HttpLimits())
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", runner.addresses[0][1])
        started = asyncio.get_running_loop().time()
        try:
            writer.write(b"GET /health HTTP/1.1\r\n")
            for n in range(40):
                await asyncio.sleep(0.1)
                if reader.at_eof() or writer.is_closing():
                    break
                writer.write(b"X-Slow-%d: v\r\n" % n)
            closed_after = asyncio.get_running_loop().time() - started
            assert await asyncio.wait_for(reader.read(), 5) == b""
        finally:
            writer.close()
    finally:
        await runner.cleanup()
    assert closed_after < 3.0, "the connection was still open after the head's deadline"


def test_server_options_carry_the_limits() -> None:
    options = HttpLimits(MAX_HEADER_BYTES=4096).handler_args()
    assert options["max_line_size"] == options["max_field_size"] == 4096
    assert options["max_headers"] == http.MAX_HEADER_COUNT
    # above the 15 s for which aiohttp clients reuse an idle connection
    assert options["keepalive_timeout"] > 15


# ---------------------------------------------------------------------------------------------
# settings and logs
# ---------------------------------------------------------------------------------------------


def test_limits_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_HEADER_BYTES", "4096")
    monkeypatch.setenv("MAX_JSON_DEPTH", "5")
    monkeypatch.setenv("REQUEST_READ_TIMEOUT_SECONDS", "2.5")
    app = base_app(max_body_bytes=MAX_BODY)
    assert app[http.HTTP_LIMITS] == HttpLimits(
        MAX_HEADER_BYTES=4096, MAX_JSON_DEPTH=5, REQUEST_READ_TIMEOUT_SECONDS=2.5
    )


@pytest.mark.parametrize(("name", "value"), [("MAX_JSON_DEPTH", "0"), ("REQUEST_READ_TIMEOUT_SECONDS", "soon")])
def test_a_malformed_limit_stops_the_service_naming_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as stopped:
        load_settings("test-svc", HttpLimits)
    assert stopped.value.code == 2
    assert f"test-svc: {name}:" in capsys.readouterr().err


def test_a_refused_request_head_is_logged_as_one_line_without_its_bytes() -> None:
    secretish = b"Basic c2VjcmV0LWtleTpzZWNyZXQtdmFsdWU=" * 300
    try:
        raise LineTooLong(secretish[:100], 8190)
    except LineTooLong:
        record = logging.getLogger("aiohttp.server").makeRecord(
            "aiohttp.server", logging.ERROR, __file__, 1, "Error handling request from %s", ("1.2.3.4",), None
        )
        record.exc_info = sys.exc_info()
    assert MalformedRequestFilter().filter(record) is True
    assert record.exc_info is None
    assert record.levelno == logging.INFO
    assert record.getMessage() == "http.malformed_request LineTooLong"


def test_other_aiohttp_errors_keep_their_traceback() -> None:
    try:
        raise RuntimeError("a bug")
    except RuntimeError:
        record = logging.getLogger("aiohttp.server").makeRecord(
            "aiohttp.server", logging.ERROR, __file__, 1, "Unhandled exception", (), None
        )
        record.exc_info = sys.exc_info()
    assert MalformedRequestFilter().filter(record) is True
    assert record.exc_info is not None
    assert record.levelno == logging.ERROR
