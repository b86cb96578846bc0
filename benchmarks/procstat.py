"""CPU seconds and peak RSS of processes, read from /proc (as `webhook_flood.py` reads the gateway's CPU).

The services are found by the pid files `payments-stack` writes (`$PAYMENTS_RUN_DIR/pids/<name>.pid`).
PostgreSQL and RabbitMQ are summed over every process of that name on the machine: they serve other
databases and vhosts too, so on a shared machine their figures are an upper bound.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
SERVICES = ("order-svc", "webhook-gateway", "payment-svc", "mock-gateway")
# comm names of the shared servers
INFRA = {"postgres": ("postgres",), "rabbitmq": ("beam.smp",)}


def cpu_seconds(pid: int) -> float | None:
    """utime + stime of the process, or None when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def peak_rss_mb(pid: int) -> float | None:
    """VmHWM: the highest resident set size the process has had, in MiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def service_pids(run_dir: Path) -> dict[str, int]:
    pids: dict[str, int] = {}
    for name in SERVICES:
        try:
            pids[name] = int((run_dir / "pids" / f"{name}.pid").read_text())
        except (OSError, ValueError):
            continue
    return pids


def _infra_cpu() -> dict[str, float]:
    totals = dict.fromkeys(INFRA, 0.0)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            comm = (entry / "comm").read_text().strip()
        except OSError:
            continue
        for name, comms in INFRA.items():
            if comm in comms:
                totals[name] += cpu_seconds(int(entry.name)) or 0.0
    return totals


@dataclass(frozen=True, slots=True)
class CpuSample:
    """CPU seconds so far of each named process (the services, this process, the shared servers)."""

    cpu: dict[str, float]

    @classmethod
    def take(cls, pids: dict[str, int], *, infra: bool = True) -> CpuSample:
        cpu = {name: value for name, pid in pids.items() if (value := cpu_seconds(pid)) is not None}
        cpu["load-generator"] = cpu_seconds(os.getpid()) or 0.0
        if infra:
            cpu.update({f"{name} (machine-wide)": value for name, value in _infra_cpu().items()})
        return cls(cpu)

    def since(self, before: CpuSample) -> dict[str, float]:
        return {name: round(value - before.cpu[name], 3) for name, value in self.cpu.items() if name in before.cpu}


def peak_rss(pids: dict[str, int]) -> dict[str, float]:
    return {name: round(value, 1) for name, pid in pids.items() if (value := peak_rss_mb(pid)) is not None}
