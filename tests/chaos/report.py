"""The result table: one row per fault phase and a total, as text and as JSON."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from .invariants import Verdict

COLUMNS = (
    "fault",
    "payments in flight",
    "accepted",
    "applied",
    "lost",
    "applied twice",
    "time to settle",
    "gateway agrees",
    "checks",
)
# text columns are left-aligned, counts right-aligned
_LEFT = {"fault", "checks"}


@dataclass(frozen=True, slots=True)
class PhaseRow:
    fault: str
    # payment attempts the load started while the fault hit (one per order)
    payments: int
    # webhook events the webhook gateway accepted (2xx), and how many of them payment-svc applied
    accepted: int | None
    applied: int | None
    lost: int | None
    applied_twice: int
    # seconds from the end of the fault and the load until the system was quiet; None: it never was
    settle_seconds: float | None
    failed_checks: int
    checks_not_run: int
    problems: list[str] = field(default_factory=list)
    # not run: an earlier phase left the system unsettled
    skipped: bool = False
    # settled attempts held against the gateway's own record, and how many it agreed with; None when
    # the gateway's records were unknown (its disagreements are among the failed checks too)
    gateway_compared: int | None = None
    gateway_agreed: int | None = None

    @property
    def ok(self) -> bool:
        return (
            not self.skipped
            and self.settle_seconds is not None
            and not self.failed_checks
            and not self.lost
            and not self.applied_twice
        )

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


def phase_row(fault: str, payments: int, verdict: Verdict, settle_seconds: float | None) -> PhaseRow:
    lost = None if verdict.accepted is None else len(verdict.lost)
    problems = [str(v) for v in verdict.violations]
    problems += [f"lost: {event_id}" for event_id in verdict.lost]
    problems += [f"applied twice: {what}" for what in verdict.applied_twice]
    problems += [f"not run: {what}" for what in verdict.not_run]
    compared = verdict.gateway_compared
    agreed = None if compared is None else compared - verdict.gateway_disagreed
    return PhaseRow(
        fault=fault,
        payments=payments,
        accepted=verdict.accepted,
        applied=verdict.applied,
        lost=lost,
        applied_twice=len(verdict.applied_twice),
        settle_seconds=settle_seconds,
        failed_checks=len(verdict.violations),
        checks_not_run=len(verdict.not_run),
        problems=problems,
        gateway_compared=verdict.gateway_compared,
        gateway_agreed=agreed,
    )


def skipped_row(fault: str, why: str) -> PhaseRow:
    return PhaseRow(fault, 0, None, None, None, 0, None, 0, 0, problems=[f"skipped: {why}"], skipped=True)


def _count(value: int | None) -> str:
    return "n/a" if value is None else str(value)


def _gateway(row: PhaseRow) -> str:
    if row.gateway_compared is None or row.gateway_agreed is None:
        return "n/a"
    return f"{row.gateway_agreed}/{row.gateway_compared}"


def _checks(row: PhaseRow) -> str:
    parts = [f"{row.failed_checks} FAILED" if row.failed_checks else "ok"]
    if row.checks_not_run:
        parts.append(f"{row.checks_not_run} not run")
    return ", ".join(parts)


def cells(row: PhaseRow) -> list[str]:
    if row.skipped:
        return [row.fault, *["-"] * (len(COLUMNS) - 2), "skipped"]
    return [
        row.fault,
        str(row.payments),
        _count(row.accepted),
        _count(row.applied),
        _count(row.lost),
        str(row.applied_twice),
        "NOT SETTLED" if row.settle_seconds is None else f"{row.settle_seconds:.1f} s",
        _gateway(row),
        _checks(row),
    ]


def format_table(rows: Sequence[PhaseRow], total: PhaseRow | None = None) -> str:
    body = [cells(r) for r in rows]
    footer = [cells(total)] if total is not None else []
    widths = [max(len(line[i]) for line in [list(COLUMNS), *body, *footer]) for i in range(len(COLUMNS))]

    def line(values: Sequence[str]) -> str:
        padded = [
            value.ljust(width) if name in _LEFT else value.rjust(width)
            for name, value, width in zip(COLUMNS, values, widths, strict=True)
        ]
        return "| " + " | ".join(padded) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    out = [line(COLUMNS), rule, *(line(b) for b in body)]
    if footer:
        out += [rule, line(footer[0])]
    return "\n".join(out)
