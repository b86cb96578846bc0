"""Liveness and readiness (payments_common.health), on the app base_app makes, with stand-in checks."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from payments_common import health, metrics, observability
from payments_common.health import CheckFailed, Readiness, broker_check, database_check, readiness
from payments_common.http import base_app


@pytest.fixture
async def app() -> web.Application:
    return base_app(max_body_bytes=1024)


@pytest.fixture
async def client(app: web.Application) -> AsyncIterator[TestClient[Any, Any]]:
    async with TestClient(TestServer(app)) as test_client:
        yield test_client


async def passes() -> None:
    return None


async def refuses() -> None:
    raise CheckFailed("broker connection closed")


async def hangs() -> None:
    await asyncio.sleep(60)


async def breaks() -> None:
    raise ConnectionRefusedError(111, "Connection refused")


async def test_health_is_unchanged(client: TestClient[Any, Any]) -> None:
    r = await client.get("/health")
    assert r.status == 200
    assert await r.json() == {"status": "ok"}


async def test_healthz_says_the_process_is_alive_whatever_the_checks(
    app: web.Application, client: TestClient[Any, Any]
) -> None:
    readiness(app).add("database", refuses)
    r = await client.get("/healthz")
    assert r.status == 200
    assert await r.json() == {"status": "ok"}


async def test_a_service_without_checks_is_ready(client: TestClient[Any, Any]) -> None:
    r = await client.get("/readyz")
    assert r.status == 200
    assert await r.json() == {"status": "ready", "checks": {}}
    assert r.headers["Cache-Control"] == "no-store"


async def test_ready_when_every_check_passes(app: web.Application, client: TestClient[Any, Any]) -> None:
    readiness(app).add("database", passes)
    readiness(app).add("broker", passes)
    r = await client.get("/readyz")
    body = await r.json()
    assert r.status == 200
    assert body["status"] == "ready"
    assert {name: check["ok"] for name, check in body["checks"].items()} == {"database": True, "broker": True}


async def test_a_failing_check_is_named_with_its_error(app: web.Application, client: TestClient[Any, Any]) -> None:
    readiness(app).add("database", breaks)
    readiness(app).add("migrations", passes)
    readiness(app).add("broker", refuses)
    r = await client.get("/readyz")
    body = await r.json()
    assert r.status == 503
    assert body["status"] == "unready"
    assert body["failing"] == ["database", "broker"]
    assert body["checks"]["database"]["ok"] is False
    assert body["checks"]["database"]["error"].startswith("ConnectionRefusedError")
    assert body["checks"]["broker"]["error"] == "broker connection closed"
    assert body["checks"]["migrations"]["ok"] is True


async def test_a_hung_check_gives_503_within_two_seconds(app: web.Application, client: TestClient[Any, Any]) -> None:
    readiness(app).add("database", hangs)
    start = time.monotonic()
    r = await client.get("/readyz")
    assert time.monotonic() - start < 2.0
    body = await r.json()
    assert r.status == 503
    assert body["failing"] == ["database"]
    assert "no answer within" in body["checks"]["database"]["error"]


async def test_the_readiness_gauges_follow_the_last_answer(app: web.Application, client: TestClient[Any, Any]) -> None:
    outcome = {"ok": False}

    async def flips() -> None:
        if not outcome["ok"]:
            raise CheckFailed("down")

    readiness(app).add("flips", flips)
    service = app[observability.SERVICE]
    assert (await client.get("/readyz")).status == 503
    assert metrics.value("service_ready", {"service": service}) == 0
    assert metrics.value("readiness_check", {"service": service, "check": "flips"}) == 0
    outcome["ok"] = True
    assert (await client.get("/readyz")).status == 200
    assert metrics.value("service_ready", {"service": service}) == 1
    assert metrics.value("readiness_check", {"service": service, "check": "flips"}) == 1


async def test_concurrent_probes_share_one_run() -> None:
    calls = 0

    async def slow() -> None:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.05)

    ready = Readiness()
    ready.add("slow", slow)
    results = await asyncio.gather(*(ready.run() for _ in range(10)))
    assert calls == 1
    assert all(result["slow"].ok for result in results)
    await ready.run()
    assert calls == 2


async def test_a_probe_that_gives_up_does_not_cancel_the_shared_run() -> None:
    finished = asyncio.Event()

    async def slow() -> None:
        await asyncio.sleep(0.05)
        finished.set()

    ready = Readiness()
    ready.add("slow", slow)
    impatient = asyncio.create_task(ready.run())
    await asyncio.sleep(0.01)
    impatient.cancel()
    result = await ready.run()
    assert result["slow"].ok
    assert finished.is_set()


def test_a_check_name_is_registered_once() -> None:
    ready = Readiness()
    ready.add("database", passes)
    with pytest.raises(ValueError, match="database"):
        ready.add("database", passes)


async def test_checks_before_start_up_say_so() -> None:
    def missing() -> Any:
        raise KeyError("deps")

    with pytest.raises(CheckFailed, match="no database pool yet"):
        await database_check(missing)()
    with pytest.raises(CheckFailed, match="no broker connection yet"):
        await broker_check(lambda: None)()


async def test_broker_check_names_closed_channels() -> None:
    connection: Any = SimpleNamespace(is_closed=False)
    channels: dict[str, Any] = {"consumer:a": SimpleNamespace(is_closed=False), "consumer:b": None}
    with pytest.raises(CheckFailed, match=r"channels closed: consumer:b"):
        await broker_check(lambda: connection, lambda: channels)()
    channels["consumer:b"] = SimpleNamespace(is_closed=False)
    await broker_check(lambda: connection, lambda: channels)()
    connection.is_closed = True
    with pytest.raises(CheckFailed, match="broker connection closed"):
        await broker_check(lambda: connection, lambda: channels)()


async def test_broker_check_reopens_the_publishers_channel() -> None:
    class Publisher:
        opened = 0

        async def open(self) -> None:
            self.opened += 1

    publisher = Publisher()
    connection: Any = SimpleNamespace(is_closed=False)
    await broker_check(lambda: connection, publisher_getter=lambda: publisher)()  # type: ignore[arg-type,return-value]
    assert publisher.opened == 1


def test_the_public_paths_are_the_observability_routes() -> None:
    assert {"/health", "/healthz", "/readyz", "/metrics"} == observability.PUBLIC_PATHS


def test_every_app_base_app_makes_has_its_own_registry() -> None:
    first, second = base_app(max_body_bytes=1024), base_app(max_body_bytes=1024)
    assert first[health.READINESS] is not second[health.READINESS]
