"""The statement counter reads PostgreSQL's log lines as the server writes them, both protocols' forms."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.statements import count, per_lifecycle

LOG = """\
2026-12-07 03:25:01.100 UTC [101] LOG:  statement: BEGIN;
2026-12-07 03:25:01.101 UTC [101] LOG:  execute <unnamed>: INSERT INTO inbox (consumer, message_id)
	VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING 1
2026-12-07 03:25:01.101 UTC [101] DETAIL:  parameters: $1 = 'x', $2 = 'y'
2026-12-07 03:25:01.102 UTC [101] LOG:  execute __asyncpg_stmt_2a__: SELECT 1
2026-12-07 03:25:01.103 UTC [101] LOG:  statement: COMMIT;
2026-12-07 03:25:01.104 UTC [202] LOG:  execute <unnamed>: SELECT 2
2026-12-07 03:25:01.105 UTC [202] LOG:  statement: ROLLBACK
2026-12-07 03:25:01.106 UTC [303] LOG:  statement: SELECT 3
2026-12-07 03:25:01.107 UTC [101] LOG:  duration: 0.1 ms
2026-12-07 03:25:01.108 UTC [101] ERROR:  duplicate key value violates unique constraint
"""


def test_statements_and_transaction_ends_are_counted_per_service() -> None:
    counts = count(LOG.splitlines(), {101: "orders", 202: "payments"})
    assert counts == {
        "orders": {"statements": 4, "transactions": 1},
        "payments": {"statements": 2, "transactions": 1},
    }  # pid 303 is no backend of the run's database: not counted


def test_per_lifecycle_divides_and_rounds() -> None:
    counts = count(LOG.splitlines(), {101: "orders"})
    assert per_lifecycle(counts, 3) == {"orders": {"statements": 1.33, "transactions": 0.33}}
