"""Pooled connections are released without asyncpg's reset query (`payments_common.db.PooledConnection`), so
nothing may leave session state on one: no session-level advisory lock, no plain SET, no LISTEN, no cursor
WITH HOLD. Transaction-scoped forms (`pg_advisory_xact_lock`, `SET LOCAL`) end with the transaction. The
two session-level users have connections of their own: migrations and the outbox relay's listener."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# (file, what it may do on its own, unpooled connection)
OWN_CONNECTIONS = {
    ROOT / "shared" / "src" / "payments_common" / "migrate.py": "pg_advisory_lock",
}
SESSION_STATE = [
    re.compile(r"pg_(try_)?advisory_lock(_shared)?\s*\(", re.IGNORECASE),
    re.compile(r"""["']\s*SET\s+(?!LOCAL\b)(SESSION\s+)?[a-z_]+\s*(=|TO\b)""", re.IGNORECASE),
    re.compile(r"""["']\s*LISTEN\s""", re.IGNORECASE),
    re.compile(r"WITH\s+HOLD", re.IGNORECASE),
    re.compile(r"set_config\s*\([^)]*false\s*\)", re.IGNORECASE),
]


def offending(text: str) -> list[str]:
    return [match.group(0) for pattern in SESSION_STATE for match in pattern.finditer(text)]


def _sources() -> list[Path]:
    roots = [ROOT / "shared" / "src", *sorted((ROOT / "services").glob("*/src"))]
    return [path for root in roots for path in sorted(root.rglob("*.py"))]


def test_no_service_code_leaves_session_state_on_a_pooled_connection() -> None:
    found = {}
    for path in _sources():
        hits = [hit for hit in offending(path.read_text(encoding="utf-8")) if OWN_CONNECTIONS.get(path, "") not in hit]
        if hits:
            found[str(path.relative_to(ROOT))] = hits
    assert found == {}


def test_the_check_catches_session_state() -> None:
    assert offending('await conn.execute("SELECT pg_advisory_lock($1)", key)')
    assert offending("await conn.execute(\"SET statement_timeout = '5s'\")")
    assert offending('await conn.execute("SET SESSION search_path TO x")')
    assert offending('await conn.execute("LISTEN outbox_orders")')
    assert offending("DECLARE c CURSOR WITH HOLD FOR SELECT 1")
    assert offending("SELECT set_config('x.y', '1', false)")
    assert not offending('await conn.execute("SELECT pg_advisory_xact_lock($1, hashtext($2))", 1, "o")')
    assert not offending('await conn.execute("SET LOCAL search_path TO x")')
    assert not offending('"UPDATE orders SET status = $2 WHERE id = $1"')
    assert not offending("SELECT set_config('x.y', '1', true)")
