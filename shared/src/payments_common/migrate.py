"""Versioned SQL migrations, one schema per service.

Files are `NNNN_name.sql` in a package's `migrations` folder; a package is a component, so a
service's schema holds the common library's tables (outbox, inbox) and its own, each versioned apart.
Each applies in its own transaction and is recorded with a checksum; an applied file that changed
afterwards is an error.
A session-level advisory lock per schema makes two migrating processes take turns, so running it
twice, or from two processes at once, is safe.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources

import asyncpg

from payments_common.db import connect, ensure_database

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    component: str
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


class MigrationError(RuntimeError):
    pass


def load_migrations(package: str) -> list[Migration]:
    folder = resources.files(package) / "migrations"
    found: list[Migration] = []
    for entry in folder.iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(package, int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"{package}: two migrations share a version")
    return found


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


async def migrate(dsn: str, schema: str, migrations: list[Migration]) -> list[Migration]:
    """Apply what is missing; return the migrations applied by this call."""
    await ensure_database(dsn)
    conn: asyncpg.Connection = await connect(dsn)
    applied_now: list[Migration] = []
    try:
        await conn.execute("SELECT pg_advisory_lock(hashtext($1))", f"migrate:{schema}")
        try:
            await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {_quote(schema)}")
            table = f"{_quote(schema)}.schema_migrations"
            await conn.execute(
                f"""CREATE TABLE IF NOT EXISTS {table} (
                        component text NOT NULL,
                        version integer NOT NULL,
                        name text NOT NULL,
                        checksum text NOT NULL,
                        applied_at timestamptz NOT NULL DEFAULT now(),
                        PRIMARY KEY (component, version))"""
            )
            done = {
                (r["component"], r["version"]): r["checksum"]
                for r in await conn.fetch(f"SELECT component, version, checksum FROM {table}")
            }
            for migration in migrations:
                key = (migration.component, migration.version)
                if key in done:
                    if done[key] != migration.checksum:
                        raise MigrationError(
                            f"{schema}: migration {migration.component} "
                            f"{migration.version:04d}_{migration.name} changed after it "
                            "was applied; add a new migration instead"
                        )
                    continue
                async with conn.transaction():
                    await conn.execute(f"SET LOCAL search_path TO {_quote(schema)}")
                    await conn.execute(migration.sql)
                    await conn.execute(
                        f"INSERT INTO {table} (component, version, name, checksum) VALUES ($1, $2, $3, $4)",
                        migration.component,
                        migration.version,
                        migration.name,
                        migration.checksum,
                    )
                applied_now.append(migration)
        finally:
            await conn.execute("SELECT pg_advisory_unlock(hashtext($1))", f"migrate:{schema}")
    finally:
        await conn.close()
    return applied_now
