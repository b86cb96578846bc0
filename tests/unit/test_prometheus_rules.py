"""deploy/prometheus: the alerting rules name only metrics payments_common.metrics defines, have the
fields Prometheus requires, and (where promtool is installed: Debian's `prometheus` package) pass
`promtool check rules` and fire as alerts_test.yml expects; prometheus.yml scrapes every service's
/metrics at its compose port."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from payments_common import metrics

REPO = Path(__file__).resolve().parents[2]
PROMETHEUS = REPO / "deploy" / "prometheus"
ALERTS = PROMETHEUS / "alerts.yml"
ALERTS_TEST = PROMETHEUS / "alerts_test.yml"
CONFIG = PROMETHEUS / "prometheus.yml"
COMPOSE = REPO / "docker-compose.yml"

SERVICES = ("order-svc", "webhook-gateway", "payment-svc", "mock-gateway", "merchant-webhooks")
# Prometheus's own series: a target's scrape result
PROMETHEUS_SERIES = frozenset({"up"})
# the PromQL words the rules use that are not series names
PROMQL_WORDS = frozenset(
    {
        "sum",
        "max",
        "min",
        "avg",
        "count",
        "rate",
        "increase",
        "clamp_min",
        "histogram_quantile",
        "and",
        "or",
        "unless",
        "bool",
        "offset",
    }
)
_DURATION = re.compile(r"\[[0-9smhdwy:]+\]")
_MATCHERS = re.compile(r"\{[^}]*\}")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_NUMBER = re.compile(r"\b\d+(?:\.\d+)?(?:e[+-]?\d+)?\b")
_IDENTIFIER = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")


def rules() -> list[dict[str, Any]]:
    document = yaml.safe_load(ALERTS.read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def series_named(expr: str) -> set[str]:
    """The series names in a PromQL expression: what is left once label matchers, ranges, grouping
    clauses, numbers and the language's own words are taken out."""
    text = _GROUPING.sub(" ", _MATCHERS.sub(" ", _DURATION.sub(" ", expr)))
    text = _NUMBER.sub(" ", text)
    return {word for word in _IDENTIFIER.findall(text) if word not in PROMQL_WORDS}


def test_the_rules_file_has_groups_of_well_formed_alerts() -> None:
    document = yaml.safe_load(ALERTS.read_text())
    names = [group["name"] for group in document["groups"]]
    assert len(names) == len(set(names))
    alerts = [rule["alert"] for rule in rules()]
    assert len(alerts) == len(set(alerts)), "alert names repeat"
    for rule in rules():
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, rule["alert"]
        assert re.fullmatch(r"[A-Z][A-Za-z0-9]+", rule["alert"])
        assert isinstance(rule["expr"], str) and rule["expr"].strip()
        assert re.fullmatch(r"\d+[smh]", rule.get("for", "0s")), rule["alert"]
        assert rule["labels"]["severity"] in {"page", "ticket"}
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]


def test_every_series_a_rule_names_is_defined() -> None:
    known = metrics.sample_names() | PROMETHEUS_SERIES
    for rule in rules():
        named = series_named(rule["expr"])
        assert named, f"{rule['alert']} names no series"
        assert named <= known, f"{rule['alert']}: {sorted(named - known)} not in payments_common.metrics"


def test_the_alerts_asked_for_are_there() -> None:
    by_series: dict[str, list[str]] = {}
    for rule in rules():
        for name in series_named(rule["expr"]):
            by_series.setdefault(name, []).append(rule["alert"])
    for wanted in (
        "outbox_oldest_unpublished_age_seconds",
        "dead_letter_messages",
        "up",
        "service_ready",
        "anomalies_open",
        "webhooks_refused_total",
        "webhooks_received_total",
        "message_retries_total",
        "events_consumed_total",
        "webhook_delivery_attempts_total",
    ):
        assert wanted in by_series, wanted
    outbox = next(rule for rule in rules() if rule["alert"] == "OutboxLagging")
    assert outbox["expr"].endswith("> 60") and outbox["for"] == "5m"
    dead = next(rule for rule in rules() if rule["alert"] == "DeadLettersPresent")
    assert dead["expr"].endswith("> 0") and dead["for"] == "10m"


def test_the_expression_parser_sees_through_promql() -> None:
    expr = 'sum by (queue) (rate(events_consumed_total{outcome=~"a|b"}[5m])) / clamp_min(x_total, 1e-9) > 0.1'
    assert series_named(expr) == {"events_consumed_total", "x_total"}


def test_prometheus_scrapes_every_service_at_its_compose_port() -> None:
    config = yaml.safe_load(CONFIG.read_text())
    compose = yaml.safe_load(COMPOSE.read_text())["services"]
    assert config["rule_files"] == ["alerts.yml"]
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(jobs) == set(SERVICES)
    for service in SERVICES:
        assert service in compose
        targets = [target for static in jobs[service]["static_configs"] for target in static["targets"]]
        host, port = targets[0].split(":")
        assert host == service
        # the port each service's own healthcheck probes is the one it listens on
        assert f"127.0.0.1:{port}/" in str(compose[service]["healthcheck"]["test"])
        assert jobs[service]["metrics_path"] == "/metrics"


PROMTOOL = shutil.which("promtool")


@pytest.mark.skipif(PROMTOOL is None, reason="promtool is not installed (Debian: apt-get install prometheus)")
@pytest.mark.parametrize(
    ("command", "path"), [("check rules", ALERTS), ("check config", CONFIG), ("test rules", ALERTS_TEST)]
)
def test_promtool_accepts_the_files(command: str, path: Path) -> None:
    assert PROMTOOL is not None
    result = subprocess.run(
        [PROMTOOL, *command.split(), path.name], cwd=PROMETHEUS, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
