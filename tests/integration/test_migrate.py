"""migrate() against PostgreSQL: idempotent, safe from two processes at once, strict about history."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from payments_common.migrate import Migration, MigrationError, load_migrations, migrate

COMPONENT = "it_component"


def own_migrations(first_sql: str = "CREATE TABLE widget (id int PRIMARY KEY)") -> list[Migration]:
    return [
        Migration(COMPONENT, 1, "widget", first_sql),
        Migration(COMPONENT, 2, "widget_name", "ALTER TABLE widget ADD COLUMN name text"),
    ]


async def applied_versions(dsn: str, schema: str) -> list[tuple[str, int]]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            f'SELECT component, version FROM "{schema}".schema_migrations ORDER BY component, version'
        )
    finally:
        await conn.close()
    return [(r["component"], r["version"]) for r in rows]


async def test_second_run_applies_nothing(database_dsn: str, fresh_schema: str) -> None:
    migrations = load_migrations("payments_common") + own_migrations()

    first = await migrate(database_dsn, fresh_schema, migrations)
    second = await migrate(database_dsn, fresh_schema, migrations)

    assert first == migrations
    assert second == []
    assert await applied_versions(database_dsn, fresh_schema) == sorted((m.component, m.version) for m in migrations)
    conn = await asyncpg.connect(database_dsn)
    try:
        tables = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = $1", fresh_schema)
    finally:
        await conn.close()
    # applied inside the schema, not wherever the connection's search_path pointed
    assert {r["tablename"] for r in tables} == {"schema_migrations", "outbox", "inbox", "widget"}


async def test_concurrent_runs_on_a_fresh_schema_apply_each_migration_once(
    database_dsn: str, fresh_schema: str
) -> None:
    migrations = load_migrations("payments_common") + own_migrations()

    results = await asyncio.wait_for(
        asyncio.gather(*(migrate(database_dsn, fresh_schema, migrations) for _ in range(2))), 30
    )

    # both succeeded; between them every migration was applied exactly once
    assert sorted(len(r) for r in results) == [0, len(migrations)]
    assert await applied_versions(database_dsn, fresh_schema) == sorted((m.component, m.version) for m in migrations)


async def test_changed_checksum_is_refused(database_dsn: str, fresh_schema: str) -> None:
    await migrate(database_dsn, fresh_schema, own_migrations()[:1])
    edited = own_migrations("CREATE TABLE widget (id bigint PRIMARY KEY)")

    with pytest.raises(MigrationError, match="changed after it was applied"):
        await migrate(database_dsn, fresh_schema, edited)

    # nothing after the edited migration was applied
    assert await applied_versions(database_dsn, fresh_schema) == [(COMPONENT, 1)]
    # and the failed run released the schema's lock: the unchanged history still migrates
    assert await asyncio.wait_for(migrate(database_dsn, fresh_schema, own_migrations()), 10) == own_migrations()[1:]
