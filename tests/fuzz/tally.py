"""What the fuzz run sent and got back, per operation: printed at the end of the run."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

SERVER_ERROR_SAMPLES = 5


@dataclass
class OperationTally:
    cases: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    # a few of the 5xx answers, enough to reproduce one
    server_error_samples: list[str] = field(default_factory=list)

    @property
    def server_errors(self) -> int:
        return sum(count for status, count in self.statuses.items() if status >= 500)


class Tally:
    def __init__(self) -> None:
        self.operations: dict[tuple[str, str], OperationTally] = {}

    def record(self, service: str, operation: str, status: int, sample: str = "") -> None:
        tally = self.operations.setdefault((service, operation), OperationTally())
        tally.cases += 1
        tally.statuses[status] += 1
        if status >= 500 and len(tally.server_error_samples) < SERVER_ERROR_SAMPLES:
            tally.server_error_samples.append(sample or f"{operation} -> {status}")

    @property
    def cases(self) -> int:
        return sum(t.cases for t in self.operations.values())

    @property
    def server_errors(self) -> int:
        return sum(t.server_errors for t in self.operations.values())

    def lines(self) -> list[str]:
        rows = [("service", "operation", "cases", "5xx", "statuses")]
        for (service, operation), tally in sorted(self.operations.items()):
            statuses = " ".join(f"{status}:{count}" for status, count in sorted(tally.statuses.items()))
            rows.append((service, operation, str(tally.cases), str(tally.server_errors), statuses))
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        out = [
            "  ".join(cell.ljust(width) for cell, width in zip(row[:4], widths, strict=True)) + "  " + row[4]
            for row in rows
        ]
        out.append(f"total: {self.cases} cases, {self.server_errors} server errors")
        for (_, _), tally in sorted(self.operations.items()):
            out.extend(f"  5xx: {sample}" for sample in tally.server_error_samples)
        return out


TALLY = Tally()
