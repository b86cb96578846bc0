"""Checking `lifecycle.pgbench.sql` against the services, so that it cannot drift from what they issue.

Pure: every function takes texts. For each statement of the script (bench-only ones aside), each
`INSERT INTO s.t`, `UPDATE s.t` and `FROM s.t` it makes must be made by the code of the service that
owns schema `s` (or the shared library), and each column of `t` the statement names must be a column
of `t` in that service's migrations and appear in that code near the same statement (or, for columns
an f-string splices in, anywhere in that code: a column list built from a model's fields).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

# schema -> the service directory whose code and migrations own it
SCHEMA_OWNERS = {"orders": "services/order-svc", "payments": "services/payment-svc", "gateway": "services/mock-gateway"}
WINDOW = 1200
_REFERENCE = re.compile(r"\b(INSERT INTO|UPDATE|FROM)\s+(orders|payments|gateway)\.(\w+)", re.IGNORECASE)
_CREATE = re.compile(r"CREATE TABLE (?:IF NOT EXISTS )?(\w+)\s*\((.*?)\n\);", re.IGNORECASE | re.DOTALL)
_ALTER = re.compile(r"ALTER TABLE (?:IF EXISTS )?(\w+)\s+(.*?);", re.IGNORECASE | re.DOTALL)
_ADD_COLUMN = re.compile(r"ADD COLUMN (?:IF NOT EXISTS )?(\w+)", re.IGNORECASE)
_NOT_COLUMNS = {"constraint", "primary", "unique", "check", "foreign", "exclude"}
# what a SELECT list may name that is a value, not a column (`SELECT true FROM …` asks whether a row exists)
_LITERALS = {"true", "false", "null"}


@dataclass(frozen=True, slots=True)
class Reference:
    verb: str  # INSERT INTO, UPDATE or FROM
    schema: str
    table: str


def statements(script: str) -> list[str]:
    """The script's SQL statements without comments, bench-only ones and BEGIN/COMMIT left out."""
    found = []
    for chunk in re.split(r";\s*\n|\\gset\s*\n", script):
        if "-- bench only" in chunk:
            continue
        sql = "\n".join(line.split("--", 1)[0] for line in chunk.splitlines()).strip()
        if sql and sql.upper() not in ("BEGIN", "COMMIT"):
            found.append(sql)
    return found


def references(sql: str) -> list[Reference]:
    return [Reference(m.group(1).upper(), m.group(2).lower(), m.group(3).lower()) for m in _REFERENCE.finditer(sql)]


def migration_columns(migrations: Iterable[str]) -> dict[str, set[str]]:
    """table -> its columns, from CREATE TABLE and ALTER TABLE … ADD COLUMN."""
    columns: dict[str, set[str]] = {}
    for text in migrations:
        text = re.sub(r"--[^\n]*", "", text)
        for table, body in _CREATE.findall(text):
            names = {line.strip().split()[0].lower() for line in body.split(",\n") if line.strip()}
            columns.setdefault(table.lower(), set()).update(n for n in names if n not in _NOT_COLUMNS)
        for table, body in _ALTER.findall(text):
            columns.setdefault(table.lower(), set()).update(c.lower() for c in _ADD_COLUMN.findall(body))
    return columns


def declared_columns(sql: str, ref: Reference) -> set[str]:
    """The columns a statement names for `ref` by position: an INSERT's column list, an UPDATE's SET
    targets, the plain names of a SELECT list."""
    name = rf"{ref.schema}\.{ref.table}\b"
    items: list[str] = []
    if ref.verb == "INSERT INTO" and (m := re.search(rf"INSERT INTO {name}\s*\(([^)]*)\)", sql, re.I)):
        items = m.group(1).split(",")
    elif ref.verb == "UPDATE" and (
        m := re.search(rf"UPDATE {name}(?:\s+\w+)?\s+SET\s+(.*?)(?:\bFROM\b|\bWHERE\b)", sql, re.I | re.S)
    ):
        items = [part.split("=", 1)[0] for part in re.split(r",(?![^(]*\))", m.group(1))]
    elif ref.verb == "FROM":
        selects = re.findall(rf"SELECT\s+((?:(?!SELECT).)*?)\s+FROM\s+{name}", sql, re.I | re.S)
        items = selects[0].split(",") if selects else []
    names = {item.strip().lower() for item in items if re.fullmatch(r"\s*[A-Za-z_]\w*\s*", item)}
    return names - _LITERALS


def _words(text: str) -> set[str]:
    return {w.lower() for w in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text)}


def problems(
    script: str, sources: Mapping[str, Mapping[str, str]], migrations: Mapping[str, Iterable[str]]
) -> list[str]:
    """What in the script the services no longer do. `sources`: schema -> {file name: text} of the
    owning service's and the shared library's code; `migrations`: schema -> the SQL of its migrations."""
    found: list[str] = []
    tables = {schema: migration_columns(texts) for schema, texts in migrations.items()}
    for sql in statements(script):
        words = _words(re.sub(r"'[^']*'", "", sql))
        for ref in references(sql):
            known = tables.get(ref.schema, {}).get(ref.table)
            if known is None:
                found.append(f"{ref.schema}.{ref.table}: no such table in the migrations")
                continue
            for column in sorted(declared_columns(sql, ref) - known):
                found.append(f"{ref.schema}.{ref.table}: {column} is not one of its columns")
            named = words & known
            pattern = re.compile(rf"\b{ref.verb}\s+{ref.table}\b", re.IGNORECASE)
            windows = [
                (text[max(0, m.start() - WINDOW // 2) : m.start() + WINDOW], text)
                for text in sources.get(ref.schema, {}).values()
                for m in pattern.finditer(text)
            ]
            if not windows:
                found.append(f"{ref.verb} {ref.schema}.{ref.table}: the services issue no such statement")
                continue
            missing = {c for c in named if not any(c in _words(window) for window, _ in windows)}
            spliced_in = any("{" in window for window, _ in windows)
            spliced = {c for c in missing if spliced_in and any(c in _words(f) for f in sources[ref.schema].values())}
            for column in sorted(missing - spliced):
                found.append(f"{ref.verb} {ref.schema}.{ref.table}: column {column} not in the services' statements")
    return found
