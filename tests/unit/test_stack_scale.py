"""payments-stack --scale: the processes at each scale, their ports, and the balancer's configuration."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from payments_tools.stack import SERVICES, Stack
from payments_tools.stack_scale import (
    BALANCER,
    BALANCER_COLOUR,
    balanced,
    haproxy_config,
    instance_port,
    plan,
    public_ports,
)

SCALED = [s.name for s in SERVICES if s.scaled]


@pytest.fixture(autouse=True)
def default_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    """The stack reads the services' URLs from the environment too: these tests start from the defaults."""
    for spec in SERVICES:
        monkeypatch.delenv(spec.url_var, raising=False)


@dataclass(frozen=True, slots=True)
class NewService:
    name: str
    url_var: str
    default_port: int
    scaled: bool = True


def test_scale_one_is_the_system_as_it_was() -> None:
    instances = plan({}, SERVICES, 1)
    assert [(i.name, i.port) for i in instances] == [(s.name, s.default_port) for s in SERVICES]
    assert all(i.env() == {} and not i.behind_balancer for i in instances)
    assert haproxy_config(instances) == ""
    stack = Stack({}, log_dir=None)
    assert list(stack.procs) == [s.name for s in SERVICES]
    assert BALANCER not in stack.procs


def test_scale_two_runs_two_of_each_but_the_mock_gateway() -> None:
    instances = plan({}, SERVICES, 2)
    names = [i.name for i in instances]
    assert "mock-gateway" in names
    assert not any(n.startswith("mock-gateway-") for n in names)
    for service in SCALED:
        assert [i.name for i in instances if i.service == service] == [f"{service}-1", f"{service}-2"]
    order = [i for i in instances if i.service == "order-svc"]
    assert [i.port for i in order] == [8180, 8280]
    assert {i.public_port for i in order} == {8080}
    ports = [i.port for i in instances]
    assert len(ports) == len(set(ports))
    # the balancer's ports are the services' own, and no instance takes one
    assert set(public_ports(instances).values()).isdisjoint(ports)
    assert set(public_ports(instances)) == set(SCALED)


def test_an_instance_is_told_only_its_own_address() -> None:
    instances = plan({}, SERVICES, 2)
    payment = next(i for i in instances if i.name == "payment-svc-2")
    # every other URL (PAYMENT_SVC_URL for order-svc, WEBHOOK_GATEWAY_URL for the gateway) stays the balancer's
    assert payment.env() == {"PAYMENT_SVC_URL": "http://127.0.0.1:8282"}
    mock = next(i for i in instances if i.service == "mock-gateway")
    assert mock.env() == {}


def test_ports_follow_the_configured_urls() -> None:
    env = {"ORDER_SVC_URL": "http://127.0.0.1:9080"}
    order = [i for i in plan(env, SERVICES, 3) if i.service == "order-svc"]
    assert [i.port for i in order] == [instance_port(9080, k) for k in (1, 2, 3)] == [9180, 9280, 9380]


def test_the_stack_places_instances_by_the_environment_its_processes_get(monkeypatch: pytest.MonkeyPatch) -> None:
    # `run` reads a few URLs from .env and the rest from the environment: every process inherits both
    monkeypatch.setenv("PAYMENT_SVC_URL", "http://127.0.0.1:9082")
    stack = Stack({"ORDER_SVC_URL": "http://127.0.0.1:9080"}, log_dir=None, scale=2)
    assert stack.procs["payment-svc-1"].ready_ports == (9182,)
    assert stack.procs["order-svc-2"].ready_ports == (9280,)
    assert {9080, 9082} <= set(stack.procs[BALANCER].ready_ports)


def test_a_service_added_to_the_table_is_scaled_the_same_way() -> None:
    services = [*SERVICES, NewService("merchant-hooks", "MERCHANT_HOOKS_URL", 8086)]
    instances = plan({}, services, 2)
    assert [(i.name, i.port) for i in instances if i.service == "merchant-hooks"] == [
        ("merchant-hooks-1", 8186),
        ("merchant-hooks-2", 8286),
    ]
    assert "bind 127.0.0.1:8086" in haproxy_config(instances)


def test_scale_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="scale"):
        plan({}, SERVICES, 0)


def test_the_balancer_fronts_each_scaled_service_on_its_port_and_checks_readiness() -> None:
    instances = plan({}, SERVICES, 2)
    config = haproxy_config(instances)
    for service, group in balanced(instances).items():
        frontend = config.split(f"frontend {service}\n", 1)[1].split("\n\n", 1)[0]
        assert f"bind 127.0.0.1:{group[0].public_port}" in frontend
        backend = config.split(f"backend {service}\n", 1)[1].split("\n\n", 1)[0]
        assert "option httpchk GET /readyz" in backend
        assert "http-check expect status 200" in backend
        servers = [line.split() for line in backend.splitlines() if line.strip().startswith("server ")]
        assert servers == [["server", i.name, f"127.0.0.1:{i.port}", "check"] for i in group]
    assert "frontend mock-gateway" not in config
    # only a failed connection is retried: a request that reached an instance is never sent again
    assert "retry-on conn-failure\n" in config


def test_the_stack_supervises_the_balancer_on_the_public_ports() -> None:
    stack = Stack({}, log_dir=None, scale=2)
    balancer = stack.procs[BALANCER]
    assert balancer.ready_ports == tuple(public_ports(stack.instances).values())
    assert balancer.colour == BALANCER_COLOUR
    assert balancer.argv[1:] == ("-db", "-f", ".run/haproxy.cfg")
    order = stack.procs["order-svc-1"]
    assert order.ready_ports == (8180,)
    assert order.env == {"ORDER_SVC_URL": "http://127.0.0.1:8180"}
    assert stack.ports()[f"{BALANCER} (order-svc)"] == 8080


@pytest.mark.skipif(shutil.which("haproxy") is None, reason="HAProxy is not installed (scripts/ensure-haproxy.sh)")
def test_haproxy_accepts_the_configuration(tmp_path: Path) -> None:
    config = tmp_path / "haproxy.cfg"
    config.write_text(haproxy_config(plan({}, SERVICES, 2)))
    checked = subprocess.run(["haproxy", "-c", "-f", str(config)], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr
