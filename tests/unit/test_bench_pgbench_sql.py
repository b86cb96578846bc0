"""`benchmarks/lifecycle.pgbench.sql` still issues what the services issue: its tables and columns are
found in the services' SQL (searched recursively, whatever module holds it) and their migrations."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.pgbench_sql import SCHEMA_OWNERS, problems, statements

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = (ROOT / "benchmarks" / "lifecycle.pgbench.sql").read_text()


def _texts(directory: Path, pattern: str) -> dict[str, str]:
    return {str(path): path.read_text(encoding="utf-8") for path in sorted(directory.rglob(pattern))}


def _inputs() -> tuple[dict[str, dict[str, str]], dict[str, list[str]]]:
    shared = ROOT / "shared" / "src"
    sources, migrations = {}, {}
    for schema, owner in SCHEMA_OWNERS.items():
        sources[schema] = {**_texts(ROOT / owner / "src", "*.py"), **_texts(shared, "*.py")}
        migrations[schema] = [*_texts(ROOT / owner / "src", "*.sql").values(), *_texts(shared, "*.sql").values()]
    return sources, migrations


def test_the_script_matches_the_services() -> None:
    sources, migrations = _inputs()
    assert problems(SCRIPT, sources, migrations) == []


def test_the_script_covers_a_lifecycle() -> None:
    text = "\n".join(statements(SCRIPT))
    for needle in (
        "INSERT INTO orders.orders",
        "INSERT INTO payments.payments",
        "INSERT INTO payments.inbox",
        "INSERT INTO payments.outbox",
        "INSERT INTO orders.outbox",
        "UPDATE orders.orders",
        "INSERT INTO gateway.deliveries",
        "INSERT INTO gateway.delivery_attempts",
    ):
        assert needle in text


def test_a_renamed_column_is_caught() -> None:
    sources, migrations = _inputs()
    renamed = {
        schema: [text.replace("customer_name", "customer_full_name") for text in texts]
        for schema, texts in migrations.items()
    }
    found = problems(SCRIPT, sources, renamed)
    assert "orders.orders: customer_name is not one of its columns" in found


def test_a_column_the_services_do_not_name_is_caught() -> None:
    sources, migrations = _inputs()
    without = {
        schema: {name: text.replace("customer_name", "customer_label") for name, text in files.items()}
        for schema, files in sources.items()
    }
    found = problems(SCRIPT, without, migrations)
    assert found and all("customer_name" in problem for problem in found)


def test_an_unknown_table_is_caught() -> None:
    sources, migrations = _inputs()
    found = problems("UPDATE payments.ledger SET amount = 1;\n", sources, migrations)
    assert found == ["payments.ledger: no such table in the migrations"]


def test_a_statement_the_services_do_not_issue_is_caught() -> None:
    sources, migrations = _inputs()
    found = problems("UPDATE gateway.delivery_attempts SET error = 'x';\n", sources, migrations)
    assert found == ["UPDATE gateway.delivery_attempts: the services issue no such statement"]
