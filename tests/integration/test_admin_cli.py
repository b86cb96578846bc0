"""`payments-admin` as an operator runs it: the installed console script, against the real broker and a
database of its own, configured through `AMQP_URL` and `DATABASE_URL`."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import orjson
import pytest
from aio_pika.abc import AbstractChannel, AbstractRobustConnection
from yarl import URL

from payment_svc.attempts.repository import PaymentRepository
from payments_common import ids
from payments_common.broker import Publisher
from payments_common.db import connect, ensure_database
from payments_common.migrate import load_migrations, migrate
from payments_common.topology import QueueSpec
from payments_tools.admin.console import load_settings
from payments_tools.admin.reports import OUTBOX_SCHEMAS

from .conftest import DEFAULT_AMQP_URL, BrokerNames, _admin_url, _quote
from .helpers import eventually, get_message
from .test_dlq import REASONS, consuming, failing, ready, ready_is

ADMIN = Path(sys.executable).parent / "payments-admin"
AMQP_URL = os.environ.get("AMQP_URL") or DEFAULT_AMQP_URL


@dataclass(frozen=True, slots=True)
class Run:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return orjson.loads(self.stdout)


async def admin(*args: str, database_url: str, amqp_url: str = AMQP_URL, cwd: Path) -> Run:
    env = {**os.environ, "AMQP_URL": amqp_url, "DATABASE_URL": database_url}
    process = await asyncio.create_subprocess_exec(
        str(ADMIN), *args, env=env, cwd=cwd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return Run(process.returncode, stdout.decode(), stderr.decode())


@pytest.fixture
async def system_database() -> AsyncIterator[str]:
    """A database of its own whose service schemas hold the common library's tables (the outbox)."""
    name = f"payments_it_admin_{uuid.uuid4().hex[:12]}"
    dsn = str(_admin_url().with_path(f"/{name}"))
    assert await ensure_database(dsn)
    for schema in OUTBOX_SCHEMAS:
        await migrate(dsn, schema, load_migrations("payments_common"))
    yield dsn
    conn = await asyncpg.connect(str(_admin_url()))
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {_quote(name)} WITH (FORCE)")
    finally:
        await conn.close()


@pytest.fixture
async def dead_lettered(
    amqp_connection: AbstractRobustConnection, publisher: Publisher, names: BrokerNames
) -> QueueSpec:
    spec = names.spec(retry_delays_ms=(50,))
    async with consuming(amqp_connection, spec, failing, publisher):
        for message_id in REASONS:
            await publisher.publish(spec.bindings[0][0], "payment.failed", b'{"n": 1}', message_id=message_id)
        await eventually(lambda: ready_is(amqp_connection, spec.dlq, len(REASONS)), 5.0, "all dead-lettered")
    return spec


async def test_dlq_list_show_requeue_and_purge_as_json(
    amqp_connection: AbstractRobustConnection,
    channel: AbstractChannel,
    dead_lettered: QueueSpec,
    system_database: str,
    tmp_path: Path,
) -> None:
    spec = dead_lettered

    async def run(*args: str) -> Run:
        return await admin(*args, database_url=system_database, cwd=tmp_path)

    listed = await run("dlq", "list", "--queue", spec.name, "--json")
    assert (listed.code, listed.stderr) == (0, "")
    listing = listed.json()
    assert listing["queues"] == [
        {"queue": spec.dlq, "origin_queue": spec.name, "exists": True, "messages": 4, "scanned": 4}
    ]
    assert [(g["origin_queue"], g["reason"], g["count"]) for g in listing["groups"]] == [
        (spec.name, "MALFORMED_EVENT", 1),
        (spec.name, "ORDER_MISMATCH", 2),
        (spec.name, "RETRIES_EXHAUSTED:UNKNOWN_PAYMENT", 1),
    ]
    assert all(g["oldest_age_seconds"] >= 0 for g in listing["groups"])
    assert (listing["messages"], listing["truncated"]) == (None, False)
    with_messages = (await run("dlq", "list", "--queue", f"{spec.name}.dlq", "--messages", "--json")).json()
    assert sorted(m["id"] for m in with_messages["messages"]) == sorted(REASONS)
    assert {"id", "origin_queue", "reason", "attempts", "age_seconds", "requeue_count", "headers"} <= set(
        with_messages["messages"][0]
    )

    shown = await run("dlq", "show", "evt_unknown", "--queue", spec.name, "--json")
    [message] = shown.json()["messages"]
    assert (message["reason"], message["body"], message["body_encoding"]) == (
        "RETRIES_EXHAUSTED:UNKNOWN_PAYMENT",
        {"n": 1},
        "json",
    )

    dry = (await run("dlq", "requeue", "evt_unknown", "--queue", spec.name, "--dry-run", "--json")).json()
    assert (dry["dry_run"], [(m["id"], m["status"]) for m in dry["messages"]]) == (
        True,
        [("evt_unknown", "would_requeue")],
    )
    requeued = await run("dlq", "requeue", "evt_unknown", "--queue", spec.name, "--json")
    assert requeued.code == 0
    assert [(m["id"], m["origin_queue"], m["status"]) for m in requeued.json()["messages"]] == [
        ("evt_unknown", spec.name, "requeued")
    ]
    back = await get_message(await channel.get_queue(spec.name))
    assert (back.message_id, dict(back.headers or {})["requeue-count"]) == ("evt_unknown", 1)

    refused = await run("dlq", "purge", "--all", "--queue", spec.name)
    assert refused.code == 2
    assert "--yes" in refused.stderr
    assert refused.stdout == ""
    assert await ready(amqp_connection, spec.dlq) == 3

    purged = await run("dlq", "purge", "--reason", "ORDER_MISMATCH", "--queue", spec.name, "--yes", "--json")
    assert purged.code == 0
    assert sorted(m["id"] for m in purged.json()["messages"]) == ["evt_mismatch_1", "evt_mismatch_2"]
    await eventually(lambda: ready_is(amqp_connection, spec.dlq, 1), 3.0, "one left")

    missing = await run("dlq", "requeue", "evt_gone", "--queue", spec.name, "--json")
    assert missing.code == 1
    assert missing.json()["missing_ids"] == ["evt_gone"]


async def test_dlq_list_as_a_table(dead_lettered: QueueSpec, system_database: str, tmp_path: Path) -> None:
    listed = await admin("dlq", "list", "--queue", dead_lettered.name, database_url=system_database, cwd=tmp_path)

    assert listed.code == 0
    lines = listed.stdout.splitlines()
    header = next(line for line in lines if line.startswith("ORIGIN QUEUE"))
    row = next(line for line in lines if "ORDER_MISMATCH" in line)
    # the count is right-aligned under its header
    end = header.index("COUNT") + len("COUNT")
    assert row[end - 2 : end] == " 2"


async def test_outbox_status_per_service_schema(system_database: str, tmp_path: Path) -> None:
    conn = await asyncpg.connect(system_database)
    try:
        insert = """INSERT INTO {}.outbox (id, aggregate_type, aggregate_id, event_type, exchange, routing_key,
                                          payload, created_at, published_at, attempts, last_error)
                    VALUES ($1, 'payment', 'pay_1', 'payment.succeeded', 'payments.events', 'payment.succeeded',
                            '{{}}', now() - make_interval(secs => $2), $3, $4, $5)"""
        for schema, age, published, attempts, error in [
            ("payments", 30.0, None, 0, None),
            ("payments", 90.0, None, 3, "PublishError: broker did not ack"),
            ("payments", 5.0, True, 1, "PublishError: timed out"),
            ("orders", 10.0, True, 0, None),
        ]:
            await conn.execute(
                insert.format(schema),
                uuid.uuid4(),
                age,
                None if published is None else await conn.fetchval("SELECT now()"),
                attempts,
                error,
            )
    finally:
        await conn.close()

    status = await admin("outbox", "status", "--json", database_url=system_database, cwd=tmp_path)

    assert (status.code, status.stderr) == (0, "")
    schemas = {s["schema"]: s for s in status.json()["schemas"]}
    assert set(schemas) == {"orders", "payments", "merchant_webhooks"}
    assert (schemas["merchant_webhooks"]["exists"], schemas["merchant_webhooks"]["unpublished"]) == (True, 0)
    payments = schemas["payments"]
    assert (payments["exists"], payments["unpublished"], payments["retrying"], payments["published_last_minute"]) == (
        True,
        2,
        1,
        1,
    )
    assert 89 <= payments["oldest_unpublished_age_seconds"] < 120
    [failing_row] = payments["retrying_rows"]
    assert (failing_row["attempts"], failing_row["last_error"]) == (3, "PublishError: broker did not ack")
    orders = schemas["orders"]
    assert (orders["unpublished"], orders["oldest_unpublished_age_seconds"], orders["published_last_minute"]) == (
        0,
        None,
        1,
    )
    table = await admin("outbox", "status", database_url=system_database, cwd=tmp_path)
    assert table.code == 0
    assert "PublishError: broker did not ack" in table.stdout


async def test_an_unreachable_broker_or_database_is_one_line_without_the_password(
    system_database: str, tmp_path: Path
) -> None:
    secret = "s3cret-pw-do-not-print"
    closed_port = f"amqp://guest:{secret}@127.0.0.1:1/"
    broker_down = await admin("dlq", "list", database_url=system_database, amqp_url=closed_port, cwd=tmp_path)
    database_down = await admin(
        "outbox",
        "status",
        database_url=str(URL(system_database).with_port(1).with_user("postgres").with_password(secret)),
        cwd=tmp_path,
    )

    for run, what in ((broker_down, "RabbitMQ"), (database_down, "PostgreSQL")):
        assert run.code == 1
        assert run.stdout == ""
        assert len(run.stderr.strip().splitlines()) == 1, run.stderr
        assert run.stderr.startswith(f"payments-admin: cannot reach {what}")
        assert secret not in run.stderr
        assert "Traceback" not in run.stderr


async def test_an_unknown_queue_is_a_usage_error(system_database: str, tmp_path: Path) -> None:
    run = await admin("dlq", "list", "--queue", "it.nowhere", database_url=system_database, cwd=tmp_path)

    assert run.code == 2
    assert "no dead-letter queue 'it.nowhere.dlq'" in run.stderr


def test_settings_come_from_the_environment_then_dot_env_then_defaults(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("DATABASE_URL=postgresql://from-file/db\nAMQP_URL=amqp://from-file/\n")

    from_env = load_settings({"AMQP_URL": "amqp://from-env/"}, env_file)
    assert (from_env.amqp_url, from_env.database_url) == ("amqp://from-env/", "postgresql://from-file/db")
    defaults = load_settings({}, tmp_path / "missing.env")
    assert defaults.amqp_url.startswith("amqp://guest:guest@127.0.0.1:5672")
    assert defaults.database_url.startswith("postgresql://postgres@127.0.0.1:5432/")


# --- reconcile and anomalies: payment-svc's own code run by the console ------------------------------


async def _with_payment_tables(dsn: str) -> None:
    await migrate(dsn, "payments", [*load_migrations("payments_common"), *load_migrations("payment_svc")])


async def test_anomalies_list_shows_open_anomalies_as_json(system_database: str, tmp_path: Path) -> None:
    await _with_payment_tables(system_database)
    conn = await connect(system_database, "payments")
    try:
        repo = PaymentRepository(conn)
        order = await repo.lock_order(ids.new_id(ids.ORDER), "m_1", 1500, "INR")
        payment = await repo.insert(ids.new_id(ids.PAYMENT), order, None)
        await repo.record_anomaly(payment, "SUCCESS_AFTER_FAILED", "webhook", "evt_late", {"reported": "SUCCESS"})
    finally:
        await conn.close()

    run = await admin("anomalies", "list", "--json", database_url=system_database, cwd=tmp_path)

    assert run.code == 0, run.stderr
    [anomaly] = run.json()["anomalies"]
    assert (anomaly["paymentId"], anomaly["orderId"], anomaly["kind"], anomaly["eventId"]) == (
        payment.id,
        payment.order_id,
        "SUCCESS_AFTER_FAILED",
        "evt_late",
    )
    readable = await admin("anomalies", "list", database_url=system_database, cwd=tmp_path)
    assert readable.code == 0 and "SUCCESS_AFTER_FAILED" in readable.stdout and payment.id in readable.stdout


async def test_reconcile_needs_payment_svc_settings_and_names_what_is_missing(
    system_database: str, tmp_path: Path
) -> None:
    await _with_payment_tables(system_database)
    secret = "do-not-print-this-signing-secret"

    missing = await admin("reconcile", "--json", database_url=system_database, cwd=tmp_path)
    assert missing.code == 2
    assert "PAYMENT_SIGNING_SECRET" in missing.stderr

    (tmp_path / ".env").write_text(f"PAYMENT_SIGNING_SECRET={secret}\nMOCK_GATEWAY_URL=http://127.0.0.1:9\n")
    run = await admin("reconcile", "--older-than", "0", "--json", database_url=system_database, cwd=tmp_path)
    assert run.code == 0, run.stderr
    report = run.json()
    assert (report["checked"], report["settled"], report["errors"]) == (0, [], [])
    assert secret not in run.stdout + run.stderr
