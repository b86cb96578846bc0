"""`payments-stack --scale N`: which processes run, on which ports, and the load balancer's configuration.

Scale 1 is the system as it always ran: one process per service, on the port of its `*_URL`.

Scale N > 1: every service of the table marked `scaled` runs N instances, each with its own relay,
consumers and reconciler; instance k listens on its service's port + 100·k (8180 and 8280 for
order-svc's 8080) and is named `<service>-k` (its pid file, log file, hold file and log prefix).
HAProxy, from Debian, run as the current user with the configuration written here, listens on each
scaled service's own port and spreads requests over the instances whose `/readyz` answers 200. The
mock gateway is a test double and stays single.

Every peer URL, internal ones included (order-svc's PAYMENT_SVC_URL, the mock gateway's
WEBHOOK_GATEWAY_URL, the console's admin APIs), goes through the balancer rather than to both
instances: each service takes one URL per peer, as it does in Kubernetes, where one Service address
spreads over the pods. So every URL stays what it is at scale 1, and an instance that dies leaves
the rotation by the balancer's health check (within about two seconds) instead of each caller
learning of it from its own failed requests. The cost is one local hop.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from payments_common.config import port_of

# instance k of a service on port P listens on P + k·INSTANCE_PORT_STEP
INSTANCE_PORT_STEP = 100
# the balancer's process name (pid file, log file, hold file)
BALANCER = "balancer"
# its log prefix's colour
BALANCER_COLOUR = "37"
# how often HAProxy asks each instance's /readyz, and after how many failures in a row it takes the
# instance out (and how many successes bring it back): a killed instance is out within about 2 s
CHECK_INTERVAL_MS = 1000
CHECK_FALL = 2
CHECK_RISE = 1


class Service(Protocol):
    """What scaling needs of an entry of payments_tools.stack.SERVICES."""

    @property
    def name(self) -> str: ...
    @property
    def url_var(self) -> str: ...
    @property
    def default_port(self) -> int: ...
    @property
    def scaled(self) -> bool: ...


class Runnable(Service, Protocol):
    """What starting a service's processes needs of an entry of payments_tools.stack.SERVICES."""

    @property
    def module(self) -> str: ...
    @property
    def colour(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Process:
    """One process the stack runs and restarts: an instance of a service, or the balancer."""

    name: str
    argv: tuple[str, ...]
    # beyond the system's environment
    env: dict[str, str]
    colour: str
    # it is up once /readyz answers 200 on each of these
    ready_ports: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Instance:
    service: str
    # the service's name when it runs alone, `<service>-k` (k from 1) when scaled
    name: str
    # where this process listens
    port: int
    # where callers reach the service: the instance itself, or the balancer in front of the instances
    public_port: int
    # the setting that tells the process its own address (its port is taken from it)
    url_var: str
    behind_balancer: bool

    def env(self) -> dict[str, str]:
        """What this instance is started with beyond the system's environment: its own address when it is
        behind the balancer. Every other URL stays the balancer's."""
        return {self.url_var: f"http://127.0.0.1:{self.port}"} if self.behind_balancer else {}


def service_port(env: Mapping[str, str], service: Service) -> int:
    return port_of(env.get(service.url_var, f"http://127.0.0.1:{service.default_port}"), service.default_port)


def instance_port(public_port: int, index: int) -> int:
    """Instance `index` (from 1) of a service whose callers use `public_port`."""
    return public_port + INSTANCE_PORT_STEP * index


def plan(env: Mapping[str, str], services: Iterable[Service], scale: int) -> list[Instance]:
    """The processes of the services at `scale`, service by service, in the table's order."""
    if scale < 1:
        raise ValueError(f"scale must be 1 or more, not {scale}")
    instances: list[Instance] = []
    for service in services:
        public = service_port(env, service)
        if scale == 1 or not service.scaled:
            instances.append(Instance(service.name, service.name, public, public, service.url_var, False))
            continue
        for index in range(1, scale + 1):
            instances.append(
                Instance(
                    service.name,
                    f"{service.name}-{index}",
                    instance_port(public, index),
                    public,
                    service.url_var,
                    True,
                )
            )
    return instances


def balanced(instances: Iterable[Instance]) -> dict[str, list[Instance]]:
    """The services behind the balancer, each with its instances."""
    groups: dict[str, list[Instance]] = {}
    for instance in instances:
        if instance.behind_balancer:
            groups.setdefault(instance.service, []).append(instance)
    return groups


def public_ports(instances: Iterable[Instance]) -> dict[str, int]:
    """Each balanced service's port, where the balancer listens for it."""
    return {service: group[0].public_port for service, group in balanced(instances).items()}


def haproxy_config(instances: Iterable[Instance], host: str = "127.0.0.1") -> str:
    """HAProxy's configuration: one frontend on each balanced service's port, round robin over its
    instances, each checked on /readyz. Empty when nothing is balanced (scale 1)."""
    groups = balanced(instances)
    if not groups:
        return ""
    lines = [
        "# written by payments-stack --scale; regenerated at each start",
        "global",
        "    maxconn 4096",
        "",
        "defaults",
        "    mode http",
        "    timeout connect 2s",
        # a gateway call behind a request may take its full timeout: the balancer must not cut it first
        "    timeout client 60s",
        "    timeout server 60s",
        "    timeout http-request 10s",
        # the caller's address travels on for the services' TRUSTED_PROXIES (rate limits per source)
        "    option forwardfor",
        # a connection refused by an instance that just died is tried again on another one; only a failure
        # to connect is retried, before any of the request was sent, so nothing is ever sent twice
        "    retries 2",
        "    option redispatch 1",
        "    retry-on conn-failure",
        "",
    ]
    for service, group in groups.items():
        lines += [
            f"frontend {service}",
            f"    bind {host}:{group[0].public_port}",
            f"    default_backend {service}",
            "",
            f"backend {service}",
            "    balance roundrobin",
            "    option httpchk GET /readyz",
            "    http-check expect status 200",
            f"    default-server inter {CHECK_INTERVAL_MS} fall {CHECK_FALL} rise {CHECK_RISE}",
            *(f"    server {instance.name} {host}:{instance.port} check" for instance in group),
            "",
        ]
    return "\n".join(lines)


def processes(instances: Sequence[Instance], services: Iterable[Runnable], config: Path) -> dict[str, Process]:
    """Every process of the plan by name: each instance runs its service's module, and the balancer, with its
    configuration at `config`, fronts the balanced services (when any are)."""
    modules = {service.name: service for service in services}
    procs = {
        i.name: Process(
            i.name, (sys.executable, "-m", modules[i.service].module), i.env(), modules[i.service].colour, (i.port,)
        )
        for i in instances
    }
    ports = public_ports(instances)
    if ports:
        # -db: in the foreground, so that the supervisor sees it exit and restarts it like a service
        argv = (shutil.which("haproxy") or "haproxy", "-db", "-f", str(config))
        procs[BALANCER] = Process(BALANCER, argv, {}, BALANCER_COLOUR, tuple(ports.values()))
    return procs


def write_balancer_config(instances: Sequence[Instance], config: Path) -> None:
    """The balancer's configuration written to `config`, when anything is balanced."""
    if not public_ports(instances):
        return
    if shutil.which("haproxy") is None:
        raise SystemExit("payments-stack: --scale needs HAProxy; scripts/ensure-haproxy.sh installs it")
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(haproxy_config(instances))


def listening_ports(instances: Sequence[Instance]) -> dict[str, int]:
    """Where each process listens; the balancer under each service it fronts."""
    ports = {i.name: i.port for i in instances}
    ports |= {f"{BALANCER} ({service})": p for service, p in public_ports(instances).items()}
    return ports
