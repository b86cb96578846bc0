"""The delivery worker on the real PostgreSQL, against real receivers on 127.0.0.1: retries under the same
event id, a hanging endpoint beside a healthy one, signing through a rotation, disabling a failing endpoint
once, two workers sharing the work, and the egress rules at connect time (DNS rebinding, redirects)."""

from __future__ import annotations

import asyncio
import signal
import statistics
import sys
import time
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import asyncpg
import pytest
import razorpay
import standardwebhooks

from merchant_webhooks.deliveries.domain import RetryPolicy
from merchant_webhooks.deliveries.service import anyone_subscribed
from merchant_webhooks.egress.domain import EgressRules
from merchant_webhooks.egress.resolver import VettedResolver
from merchant_webhooks.endpoints.repository import EndpointRecord
from merchant_webhooks.endpoints.service import EndpointDeps, create_endpoint, rotate_secret
from payments_common.db import create_pool
from payments_common.events import WEBHOOK_ENDPOINT_DISABLED_TYPE, WebhookEndpointDisabled
from payments_common.merchant_webhooks import EndpointCreate

from .conftest import migrated_schema
from .helpers import eventually
from .webhook_receivers import (
    LOCAL,
    MapResolver,
    deliver_event,
    fail_then_ok,
    hang,
    merchant_event,
    receiver,
    running,
    status,
    worker,
)


@pytest.fixture
async def pool(database_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    async with migrated_schema(database_dsn, "payments_common", "merchant_webhooks", size=8) as (_, found):
        yield found


async def endpoint(
    pool: asyncpg.Pool,
    merchant: str,
    url: str,
    events: list[str] | None = None,
    *,
    rules: EgressRules = LOCAL,
    resolver: VettedResolver | None = None,
    overlap: float = 3600,
) -> EndpointRecord:
    deps = EndpointDeps(pool, rules, resolver or VettedResolver(rules), overlap)
    return await create_endpoint(deps, merchant, EndpointCreate(url=url, events=events or ["*"]))


async def attempts(pool: asyncpg.Pool, endpoint_id: str) -> list[asyncpg.Record]:
    return await pool.fetch(
        """SELECT d.id, d.status, a.n, a.status_code, a.error FROM deliveries d
             JOIN attempts a ON a.delivery_id = d.id WHERE d.endpoint_id = $1 ORDER BY d.id, a.n""",
        endpoint_id,
    )


async def test_a_receiver_failing_three_times_then_succeeding_is_delivered_once_with_four_attempts(
    pool: asyncpg.Pool,
) -> None:
    async with receiver() as server:
        server.scripts["/flaky"] = fail_then_ok(3)
        flaky = await endpoint(pool, "merch_a", server.url("/flaky"))
        event = merchant_event("merch_a")
        await deliver_event(pool, event)
        async with running(*worker(pool)):
            await eventually(lambda: len(server.at("/flaky")) == 4, 10, "four attempts")
            await asyncio.sleep(0.5)  # room for a fifth, which must not come
        assert [r.headers["webhook-id"] for r in server.at("/flaky")] == [event.id] * 4
        assert len({r.body for r in server.at("/flaky")}) == 1
        logged = await attempts(pool, flaky.id)
        assert [(row["n"], row["status_code"]) for row in logged] == [(1, 500), (2, 500), (3, 500), (4, 200)]
        assert logged[0]["error"] == "answered 500" and logged[3]["error"] is None
        assert {row["status"] for row in logged} == {"delivered"}


async def test_a_hanging_endpoint_of_one_merchant_does_not_hold_back_another_merchants_deliveries(
    pool: asyncpg.Pool,
) -> None:
    """B's latency (event stored -> B's receiver has it) with and without A's endpoint hanging, in one run."""
    rounds = 40

    async with receiver() as server:

        async def b_latencies() -> list[float]:
            found = []
            for _ in range(rounds):
                before = len(server.at("/b"))
                start = time.monotonic()
                await deliver_event(pool, merchant_event("merch_b"))
                await deliver_event(pool, merchant_event("merch_a"))
                await eventually(lambda before=before: len(server.at("/b")) > before, 10, "B's delivery")
                found.append(server.at("/b")[-1].at - start)
            return found

        await endpoint(pool, "merch_b", server.url("/b"))
        a = await endpoint(pool, "merch_a", server.url("/a"))
        # an attempt times out after 1 s in this run, so that A's hanging attempts end and retry within it
        async with running(*worker(pool, per_endpoint=2, max_in_flight=16, timeout_seconds=1.0)):
            calm = await b_latencies()
            server.scripts["/a"] = hang(30)
            hanging = await b_latencies()
        hung = await pool.fetchval(
            """SELECT count(*) FROM attempts a JOIN deliveries d ON d.id = a.delivery_id
                WHERE d.endpoint_id = $1 AND a.error LIKE 'no answer%'""",
            a.id,
        )

    def ms(values: list[float], q: int) -> float:
        return statistics.quantiles(values, n=100, method="inclusive")[q - 1] * 1000

    print(
        f"\nmerchant B's delivery latency over {rounds} events (ms): without A hanging p50 {ms(calm, 50):.1f} "
        f"p99 {ms(calm, 99):.1f}; with A's endpoint hanging p50 {ms(hanging, 50):.1f} p99 {ms(hanging, 99):.1f} "
        f"({hung} of A's attempts timed out meanwhile)"
    )
    assert hung > 0, "A's endpoint was meant to hang"
    # a sanity bound only, far above what it takes: B never waits out one of A's attempt timeouts in line
    assert max(hanging) < 5.0


async def test_during_a_rotation_both_secrets_sign_and_after_the_overlap_only_the_new_one(
    pool: asyncpg.Pool,
) -> None:
    async with receiver() as server:
        first = await endpoint(pool, "merch_a", server.url("/rot"))
        deps = EndpointDeps(pool, LOCAL, VettedResolver(LOCAL), 3600)
        rotated = await rotate_secret(deps, "merch_a", first.id)
        async with running(*worker(pool)):
            await deliver_event(pool, merchant_event("merch_a"))
            await eventually(lambda: len(server.at("/rot")) == 1, 5, "the delivery")
            [during] = server.at("/rot")
            assert len(during.headers["webhook-signature"].split(" ")) == 2
            for secret in (first.secret, rotated.secret):
                standardwebhooks.Webhook(secret).verify(during.body, during.headers)
            assert razorpay.Utility().verify_webhook_signature(
                during.body.decode(), during.headers["X-Razorpay-Signature"], rotated.secret
            )

            # the overlap over: only the new secret signs
            await pool.execute(
                "UPDATE endpoints SET previous_secret_expires_at = now() - interval '1 second' WHERE id = $1",
                first.id,
            )
            await deliver_event(pool, merchant_event("merch_a"))
            await eventually(lambda: len(server.at("/rot")) == 2, 5, "the second delivery")
        after = server.at("/rot")[1]
        assert len(after.headers["webhook-signature"].split(" ")) == 1
        standardwebhooks.Webhook(rotated.secret).verify(after.body, after.headers)
        with pytest.raises(standardwebhooks.WebhookVerificationError):
            standardwebhooks.Webhook(first.secret).verify(after.body, after.headers)


async def test_an_endpoint_failing_past_the_limit_is_disabled_with_one_message_to_its_merchant(
    pool: asyncpg.Pool,
) -> None:
    policy = RetryPolicy(retry_for_seconds=60, base_seconds=0.02, max_delay_seconds=0.05, disable_after_seconds=0.5)
    async with receiver() as server:
        server.scripts["/down"] = status(503)
        down = await endpoint(pool, "merch_a", server.url("/down"))
        healthy = await endpoint(pool, "merch_a", server.url("/up"))
        for _ in range(5):
            await deliver_event(pool, merchant_event("merch_a"))
        async with running(*worker(pool, policy=policy)):

            async def disabled() -> bool:
                return await pool.fetchval("SELECT status FROM endpoints WHERE id = $1", down.id) == "disabled"

            await eventually(disabled, 10, "the failing endpoint disabled")
            calls = len(server.at("/down"))
            await asyncio.sleep(0.5)
            assert len(server.at("/down")) == calls, "a disabled endpoint is called no more"
        assert len(server.at("/up")) == 5
        rows = await pool.fetch("SELECT event_type, routing_key, payload FROM outbox")
        assert [(r["event_type"], r["routing_key"]) for r in rows] == [(WEBHOOK_ENDPOINT_DISABLED_TYPE,) * 2]
        message = WebhookEndpointDisabled.model_validate(rows[0]["payload"])
        assert (message.endpoint_id, message.merchant_id, message.url) == (down.id, "merch_a", down.url)
        assert message.last_error == "answered 503" and message.failing_since < message.disabled_at
        state = await pool.fetchrow("SELECT status, disabled_reason FROM endpoints WHERE id = $1", healthy.id)
        assert tuple(state) == ("enabled", None)


async def test_two_workers_never_send_the_same_delivery_at_once_and_together_send_each_once(
    database_dsn: str,
) -> None:
    async with migrated_schema(database_dsn, "payments_common", "merchant_webhooks", size=8) as (schema, pool):
        other_pool = await create_pool(database_dsn, schema, 8)
        try:
            async with receiver() as server:
                for n in range(4):
                    server.scripts[f"/e{n}"] = hang(0.01)
                    await endpoint(pool, "merch_a", server.url(f"/e{n}"))
                for _ in range(50):
                    await deliver_event(pool, merchant_event("merch_a"))
                async with running(*worker(pool)), running(*worker(other_pool)):
                    await eventually(lambda: len(server.received) >= 200, 30, "every delivery")
                    await asyncio.sleep(0.3)  # room for a duplicate, which must not come
        finally:
            await other_pool.close()
        sent = [(r.path, r.headers["webhook-id"]) for r in server.received]
        assert len(sent) == 200 and len(set(sent)) == 200
        assert await pool.fetchval("SELECT count(*) FROM attempts") == 200
        assert await pool.fetchval("SELECT count(*) FROM deliveries WHERE status = 'delivered'") == 200


async def test_a_name_that_resolves_to_a_private_address_at_connect_time_is_never_connected_to(
    pool: asyncpg.Pool,
) -> None:
    """DNS rebinding: public when registered, loopback when delivered; the attempt fails without a call."""
    async with receiver() as server:
        assert server.server is not None
        names = MapResolver({"rebind.example.com": "93.184.216.34"})
        rules = EgressRules(allowed_http_hosts=frozenset({"rebind.example.com"}))
        # over plain http to reach the local server: the name is on the http list but not a loopback host
        hook = await endpoint(
            pool,
            "merch_a",
            f"http://rebind.example.com:{server.server.port}/rebound",
            rules=rules,
            resolver=VettedResolver(rules, names),
        )
        names.table["rebind.example.com"] = "169.254.169.254"
        await deliver_event(pool, merchant_event("merch_a"))
        async with running(*worker(pool, rules=rules, resolver=names)):

            async def refused() -> bool:
                return any(row["error"] for row in await attempts(pool, hook.id))

            await eventually(refused, 5, "a refused attempt")
        [first, *_] = await attempts(pool, hook.id)
        assert first["status_code"] is None and "link-local" in first["error"]
        assert server.received == []


async def test_a_redirect_is_a_failed_attempt_and_never_followed(pool: asyncpg.Pool) -> None:
    async with receiver() as server, receiver() as target:
        server.scripts["/moved"] = status(302, {"Location": "http://169.254.169.254/latest/meta-data/"})
        server.scripts["/moved-local"] = status(307, {"Location": target.url("/secret")})
        moved = await endpoint(pool, "merch_a", server.url("/moved"))
        local = await endpoint(pool, "merch_a", server.url("/moved-local"))
        await deliver_event(pool, merchant_event("merch_a"))
        async with running(*worker(pool)):
            await eventually(lambda: len(server.at("/moved")) >= 2 and len(server.at("/moved-local")) >= 2, 10)
        for hook, code in ((moved, 302), (local, 307)):
            first = (await attempts(pool, hook.id))[0]
            assert (first["status_code"], first["error"]) == (code, f"redirect ({code}) not followed")
        assert target.received == []


async def test_retries_stop_after_the_retry_period_and_the_delivery_is_given_up(pool: asyncpg.Pool) -> None:
    policy = RetryPolicy(retry_for_seconds=0.4, base_seconds=0.05, max_delay_seconds=0.1, disable_after_seconds=3600)
    async with receiver() as server:
        server.scripts["/never"] = status(500)
        hook = await endpoint(pool, "merch_a", server.url("/never"))
        await deliver_event(pool, merchant_event("merch_a"))
        async with running(*worker(pool, policy=policy)):

            async def given_up() -> bool:
                return await pool.fetchval("SELECT status FROM deliveries WHERE endpoint_id = $1", hook.id) == "failed"

            await eventually(given_up, 10, "the delivery given up")
            calls = len(server.at("/never"))
            await asyncio.sleep(0.3)
            assert len(server.at("/never")) == calls
        row = await pool.fetchrow(
            "SELECT next_attempt_at, series_started_at FROM deliveries WHERE endpoint_id = $1", hook.id
        )
        assert row["next_attempt_at"] is None
        last = await pool.fetchval(
            "SELECT max(at) FROM attempts a JOIN deliveries d ON d.id = a.delivery_id WHERE d.endpoint_id = $1", hook.id
        )
        assert last <= row["series_started_at"] + timedelta(seconds=0.4) + timedelta(seconds=1)
        assert calls >= 2


async def test_a_worker_killed_mid_run_loses_nothing(database_dsn: str) -> None:
    """SIGKILL while attempts are in flight: after a restart every event reaches the receiver, repeats only
    under the same event id, and every delivery ends delivered."""
    script = Path(__file__).with_name("webhook_worker_process.py")
    async with migrated_schema(database_dsn, "payments_common", "merchant_webhooks") as (schema, pool):
        async with receiver() as server:
            server.scripts["/k"] = hang(0.02)
            await endpoint(pool, "merch_a", server.url("/k"))
            events = [merchant_event("merch_a") for _ in range(300)]
            for event in events:
                await deliver_event(pool, event)

            async def start() -> asyncio.subprocess.Process:
                process = await asyncio.create_subprocess_exec(
                    sys.executable, str(script), database_dsn, schema, stdout=asyncio.subprocess.PIPE
                )
                assert process.stdout is not None
                assert b"worker started" in await asyncio.wait_for(process.stdout.readline(), 30)
                return process

            first = await start()
            try:
                await eventually(lambda: len(server.received) >= 60, 30, "the first worker under way")
            finally:
                first.send_signal(signal.SIGKILL)
                await first.wait()
            killed_at = len(server.received)
            second = await start()
            try:

                async def all_delivered() -> bool:
                    done = await pool.fetchval("SELECT count(*) FROM deliveries WHERE status = 'delivered'")
                    return bool(done == len(events))

                await eventually(all_delivered, 90, "every delivery delivered after the restart")
            finally:
                second.send_signal(signal.SIGKILL)
                await second.wait()
        ids = [r.headers["webhook-id"] for r in server.received]
        assert set(ids) == {event.id for event in events}
        print(
            f"\nkilled after {killed_at} requests; {len(ids)} requests for {len(events)} events "
            f"({len(ids) - len(set(ids))} repeats, each under its event's id)"
        )
        assert killed_at < len(events)


async def test_an_event_is_taken_only_when_an_enabled_endpoint_of_its_merchant_subscribes_to_it(
    pool: asyncpg.Pool,
) -> None:
    """The consumer drops, without a transaction, the events nobody can receive: the check must see an
    endpoint subscribed by name or by "*", and only the merchant's own, enabled ones."""
    merchant = f"merch_{uuid.uuid4().hex[:14]}"
    captured = merchant_event(merchant, "payment.captured")
    assert not await anyone_subscribed(pool, captured)
    await endpoint(pool, f"merch_{uuid.uuid4().hex[:14]}", "http://127.0.0.1:9/other", ["payment.captured"])
    named = await endpoint(pool, merchant, "http://127.0.0.1:9/named", ["order.paid"])
    assert not await anyone_subscribed(pool, captured)
    assert await anyone_subscribed(pool, merchant_event(merchant, "order.paid"))
    await pool.execute("UPDATE endpoints SET status = 'disabled' WHERE id = $1", named.id)
    assert not await anyone_subscribed(pool, merchant_event(merchant, "order.paid"))
    await endpoint(pool, merchant, "http://127.0.0.1:9/all", ["*"])
    assert await anyone_subscribed(pool, captured)
    assert await anyone_subscribed(pool, merchant_event(merchant, "order.paid"))
