"""docker-compose.yml and deploy/env.example against the contract and the services' own code.

Docker does not run here, so these read the files: the services, their commands and ports, the
settings each service's `Settings` class reads, secrets without defaults, start order, health checks.
"""

from __future__ import annotations

import base64
import importlib
import re
import shlex
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic_settings import BaseSettings
from yarl import URL

from payments_console.auth.domain import hash_password

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yml"
ENV_EXAMPLE = REPO / "deploy" / "env.example"
DOCKERFILE = "deploy/Dockerfile"


@dataclass(frozen=True)
class App:
    project: str  # the workspace member that declares the console script
    settings_module: str
    port: int  # the contract's default port
    url_variable: str  # where the other processes reach it


# the contract: four processes, their ports and the variables naming their URLs
APPS: dict[str, App] = {
    "order-svc": App("services/order-svc", "order_svc.settings", 8080, "ORDER_SVC_URL"),
    "webhook-gateway": App("services/webhook-gateway", "webhook_gateway.settings", 8081, "WEBHOOK_GATEWAY_URL"),
    "payment-svc": App("services/payment-svc", "payment_svc.settings", 8082, "PAYMENT_SVC_URL"),
    "mock-gateway": App("services/mock-gateway", "mock_gateway.settings", 8083, "MOCK_GATEWAY_URL"),
    # the operators' console (tests/deploy/test_compose_console.py checks the rest of it)
    "payments-console": App("services/console", "payments_console.settings", 8084, "CONSOLE_URL"),
    # webhooks to merchants: internal, called by order-svc only
    "merchant-webhooks": App("services/merchant-webhooks", "merchant_webhooks.settings", 8085, "MERCHANT_WEBHOOKS_URL"),
}
INFRASTRUCTURE = ("postgres", "rabbitmq", "migrate", "mailpit", "redis")
# compose's mail catcher: its SMTP port on the compose network, its web UI on the host's loopback only
MAIL_CATCHER = "mailpit"
MAIL_CATCHER_SMTP_PORT = 1025
MAIL_CATCHER_UI_PORT = 8025
# defaults compose sets on purpose where the code has none: (service, variable) -> compose's default
# the rate limits' store: the code's default is none (buckets in memory); compose shares them in its redis
RATE_LIMIT_STORE = "redis://redis:6379/0"
DELIBERATE_DEFAULTS = {
    ("order-svc", "SMTP_URL"): f"smtp://{MAIL_CATCHER}:{MAIL_CATCHER_SMTP_PORT}",
    ("order-svc", "REDIS_URL"): RATE_LIMIT_STORE,
    ("webhook-gateway", "REDIS_URL"): RATE_LIMIT_STORE,
}
PUBLIC = ("order-svc", "webhook-gateway")
INTERNAL = ("payment-svc", "mock-gateway", "merchant-webhooks")
URL_VARIABLES = {app.url_variable: name for name, app in APPS.items()}

# the configuration names the contract fixes, plus the two every process also reads
CONTRACT_VARIABLES = frozenset(
    {
        "DATABASE_URL",
        "AMQP_URL",
        "API_KEYS",
        "PAYMENT_SIGNING_SECRET",
        "WEBHOOK_SECRETS",
        "WEBHOOK_TOLERANCE_SECONDS",
        *URL_VARIABLES,
        "HOST",
        "LOG_LEVEL",
    }
)
APP_SECRETS = (
    "API_KEYS",
    "PAYMENT_SIGNING_SECRET",
    "WEBHOOK_SECRETS",
    "ADMIN_TOKEN",
    "INTERNAL_API_TOKEN",
    "CONSOLE_OPERATORS",
    "KEY_SEALING_KEY",
)
INFRA_SECRETS = ("POSTGRES_PASSWORD", "RABBITMQ_PASSWORD")
SECRETS = (*APP_SECRETS, *INFRA_SECRETS)

# what a deployer would put in the env file; well-formed, so the services' settings accept them
FAKE_ENV = {
    "API_KEYS": "rzp_live_a:secret-a,rzp_live_b:secret-b",
    "PAYMENT_SIGNING_SECRET": "ab" * 32,
    "WEBHOOK_SECRETS": "whsec_" + base64.b64encode(bytes(range(24))).decode(),
    "ADMIN_TOKEN": "admin-token-89ab",
    "INTERNAL_API_TOKEN": "internal-token-cdef0123",
    "KEY_SEALING_KEY": base64.b64encode(bytes(range(32))).decode(),
    "CONSOLE_OPERATORS": "ops:" + hash_password("an operator's password", salt=bytes(16)),
    "POSTGRES_PASSWORD": "pg-password-0123",
    "RABBITMQ_PASSWORD": "mq-password-4567",
}


# ---------------------------------------------------------------------------------------------
# compose's variable interpolation, as far as these files use it
# ---------------------------------------------------------------------------------------------

_REFERENCE = re.compile(
    r"\$\$"
    r"|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}"
    r"|\$(?P<bare>[A-Za-z_][A-Za-z0-9_]*)"
)


class MissingVariableError(LookupError):
    pass


def interpolate(value: str, env: Mapping[str, str]) -> str:
    def replace(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        name = m.group("name") or m.group("bare")
        op, arg = m.group("op"), m.group("arg") or ""
        current = env.get(name)
        if op == ":-":
            return current if current else arg
        if op == "-":
            return arg if current is None else current
        if op in (":?", "?") and (current is None or (op == ":?" and not current)):
            raise MissingVariableError(f"{name}: {arg}")
        return current or ""

    return _REFERENCE.sub(replace, value)


def strings(node: Any) -> list[str]:
    """Every string in a parsed YAML document (keys too), where compose interpolates; comments are not."""
    if isinstance(node, dict):
        return [s for key, value in node.items() for s in (*strings(key), *strings(value))]
    if isinstance(node, list):
        return [s for item in node for s in strings(item)]
    return [node] if isinstance(node, str) else []


def references(compose: dict[str, Any]) -> list[re.Match[str]]:
    return [m for text in strings(compose) for m in _REFERENCE.finditer(text) if m.group(0) != "$$"]


def referenced_variables(compose: dict[str, Any]) -> set[str]:
    return {m.group("name") or m.group("bare") for m in references(compose)}


def required_reference(name: str) -> re.Pattern[str]:
    """`${NAME:?message}` or `${NAME?message}`: compose refuses to start while NAME is unset."""
    return re.compile(r"\$\{" + re.escape(name) + r":?\?[^}]*\}")


# ---------------------------------------------------------------------------------------------
# fixtures and helpers
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict), "docker-compose.yml is not a mapping"
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    services = compose.get("services")
    assert isinstance(services, dict), "docker-compose.yml has no services mapping"
    return services


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):  # the `- NAME=value` form
        env = dict(item.split("=", 1) if "=" in item else (item, None) for item in env)
    assert isinstance(env, dict)
    assert all(value is not None for value in env.values()), "a variable passed through without a value"
    return {str(k): str(v) for k, v in env.items()}


def resolved_environment(service: dict[str, Any]) -> dict[str, str]:
    return {key: interpolate(value, FAKE_ENV) for key, value in environment(service).items()}


def command(service: dict[str, Any]) -> list[str]:
    cmd = service.get("command")
    assert cmd, "no command"
    return shlex.split(cmd) if isinstance(cmd, str) else [str(part) for part in cmd]


def console_scripts(project: str) -> dict[str, str]:
    with (REPO / project / "pyproject.toml").open("rb") as f:
        return dict(tomllib.load(f)["project"]["scripts"])


def settings_class(name: str) -> type[BaseSettings]:
    cls = importlib.import_module(APPS[name].settings_module).Settings
    assert issubclass(cls, BaseSettings)
    return cls


def required_fields(cls: type[BaseSettings]) -> set[str]:
    return {field for field, info in cls.model_fields.items() if info.is_required()}


def published_ports(service: dict[str, Any]) -> list[tuple[str | None, int]]:
    """(published host port or None, container port) for every `ports` entry, short or long syntax."""
    result: list[tuple[str | None, int]] = []
    for entry in service.get("ports") or []:
        if isinstance(entry, dict):
            published = entry.get("published")
            result.append((None if published is None else str(published), int(entry["target"])))
            continue
        spec = str(entry).split("/", 1)[0]  # [address:][published:]target[/protocol]
        parts = spec.rsplit(":", 2)
        target = parts[-1]
        published = parts[-2] if len(parts) >= 2 and parts[-2] else None
        assert "-" not in target, f"port range {entry!r}: list the ports one by one"
        result.append((published, int(target)))
    return result


def depends_on(service: dict[str, Any]) -> dict[str, str | None]:
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):  # short form: no condition, only start order
        return dict.fromkeys(deps)
    return {name: (spec or {}).get("condition") for name, spec in deps.items()}


def healthcheck_command(service: dict[str, Any]) -> list[str]:
    check = service.get("healthcheck")
    assert isinstance(check, dict), "no healthcheck"
    assert not check.get("disable"), "healthcheck disabled"
    test = check.get("test")
    assert test, "healthcheck without test"
    if isinstance(test, str):
        return ["CMD-SHELL", test]
    return [str(part) for part in test]


# ---------------------------------------------------------------------------------------------
# the services
# ---------------------------------------------------------------------------------------------


def test_compose_file_parses_into_services(services: dict[str, dict[str, Any]]) -> None:
    assert all(isinstance(service, dict) for service in services.values())


def test_services_are_the_four_processes_and_their_infrastructure(services: dict[str, dict[str, Any]]) -> None:
    assert set(services) == {*APPS, *INFRASTRUCTURE}


@pytest.mark.parametrize("name", list(APPS))
def test_service_command_is_its_console_script(name: str, services: dict[str, dict[str, Any]]) -> None:
    scripts = console_scripts(APPS[name].project)
    cmd = command(services[name])
    assert cmd[0] in scripts, f"{name}: {cmd[0]!r} is not declared in {APPS[name].project}/pyproject.toml"
    assert cmd[0] == name, f"{name} runs {cmd[0]!r}"
    package = APPS[name].settings_module.split(".")[0]
    assert scripts[cmd[0]].split(":")[0].split(".")[0] == package


def test_migrate_runs_payments_migrate_once(services: dict[str, dict[str, Any]]) -> None:
    migrate = services["migrate"]
    cmd = command(migrate)
    assert cmd[0] == "payments-migrate"
    assert cmd[0] in console_scripts("tools")
    # a one-shot job: `always` or `unless-stopped` would run it again and again after it exits
    # (PyYAML reads an unquoted `no` as False)
    restart = migrate.get("restart", "no")
    assert restart is False or str(restart) == "no" or str(restart).startswith("on-failure"), restart


@pytest.mark.parametrize("name", [*APPS, "migrate"])
def test_service_is_built_from_the_deploy_dockerfile(name: str, services: dict[str, dict[str, Any]]) -> None:
    build = services[name].get("build")
    assert isinstance(build, dict), f"{name}: no build section"
    context = (COMPOSE_FILE.parent / str(build.get("context", "."))).resolve()
    assert context == REPO, f"{name}: the build context must be the repository root (it holds uv.lock)"
    assert build.get("dockerfile") == DOCKERFILE
    assert (REPO / DOCKERFILE).is_file()


def test_infrastructure_images(services: dict[str, dict[str, Any]]) -> None:
    assert str(services["postgres"]["image"]).split(":")[0] == "postgres"
    assert str(services["postgres"]["image"]).split(":")[1].startswith("15")
    assert re.fullmatch(r"rabbitmq:3\.(13|10)(\.\d+)?(-management)?(-alpine)?", services["rabbitmq"]["image"])
    assert services["redis"]["image"] == "redis:7-alpine"


@pytest.mark.parametrize("name", ["order-svc", "webhook-gateway"])
def test_rate_limits_are_shared_in_the_compose_redis(
    name: str, services: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    cls = settings_class(name)
    for field in cls.model_fields:
        monkeypatch.delenv(field, raising=False)
    for key, value in resolved_environment(services[name]).items():
        monkeypatch.setenv(key, value)
    settings: Any = cls()
    assert settings.REDIS_URL.get_secret_value() == RATE_LIMIT_STORE
    assert not services["redis"].get("ports"), "redis must stay on the compose network"


# ---------------------------------------------------------------------------------------------
# configuration
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(APPS))
def test_every_setting_the_service_reads_is_set(name: str, services: dict[str, dict[str, Any]]) -> None:
    cls = settings_class(name)
    fields = set(cls.model_fields)
    needed = required_fields(cls) | (fields & CONTRACT_VARIABLES)
    missing = needed - set(environment(services[name]))
    assert not missing, f"{name} reads {sorted(missing)}, which compose does not set"


@pytest.mark.parametrize("name", list(APPS))
def test_service_binds_all_interfaces(name: str, services: dict[str, dict[str, Any]]) -> None:
    # 127.0.0.1 inside a container is unreachable from the other containers and the host
    assert environment(services[name]).get("HOST") == "0.0.0.0"


@pytest.mark.parametrize("name", list(APPS))
def test_urls_point_at_the_services_on_their_contract_ports(name: str, services: dict[str, dict[str, Any]]) -> None:
    env = resolved_environment(services[name])
    for variable, target in URL_VARIABLES.items():
        if variable not in env:
            continue
        url = URL(env[variable])
        assert url.scheme == "http", f"{name}: {variable}={env[variable]}"
        assert url.host == target, f"{name}: {variable} must name the compose service {target!r}"
        assert url.explicit_port == APPS[target].port, f"{name}: {variable} must use port {APPS[target].port}"
        assert url.path in ("", "/"), f"{name}: {variable} has a path"


@pytest.mark.parametrize("name", list(APPS))
def test_settings_load_from_the_compose_environment(
    name: str, services: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The service's own Settings, fed compose's environment, listens where the contract says."""
    cls = settings_class(name)
    for field in cls.model_fields:
        monkeypatch.delenv(field, raising=False)
    for key, value in resolved_environment(services[name]).items():
        monkeypatch.setenv(key, value)
    settings: Any = cls()
    assert settings.HOST == "0.0.0.0"
    assert settings.port == APPS[name].port


@pytest.mark.parametrize("name", list(APPS))
def test_compose_defaults_agree_with_the_code(name: str, services: dict[str, dict[str, Any]]) -> None:
    """`NAME: ${NAME:-default}` must not quietly change a default the service defines."""
    fields = settings_class(name).model_fields
    for key, value in environment(services[name]).items():
        m = re.fullmatch(r"\$\{(\w+):?-([^}]*)\}", value)
        if not m or m.group(1) != key or key not in fields or fields[key].is_required():
            continue
        if (name, key) in DELIBERATE_DEFAULTS:
            assert m.group(2) == DELIBERATE_DEFAULTS[(name, key)]
            continue
        default = fields[key].get_default()
        if default is None and m.group(2) == "":
            # `${NAME:-}` passes "unset" as an empty string; that the service reads it as its None
            # default is checked on the loaded settings (test_mock_gateway_fault_injection_is_off_by_default)
            continue
        converted = type(default)(m.group(2)) if isinstance(default, int | float | str) else m.group(2)
        assert converted == default, f"{name}: {key} defaults to {m.group(2)!r} in compose, {default!r} in the code"


def test_mock_gateway_fault_injection_is_off_by_default(
    services: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A deployment that sets none of the fault variables runs the mock gateway without faults."""
    cls = settings_class("mock-gateway")
    for field in cls.model_fields:
        monkeypatch.delenv(field, raising=False)
    for key, value in resolved_environment(services["mock-gateway"]).items():
        monkeypatch.setenv(key, value)
    settings: Any = cls()
    delay_default = cls.model_fields["MOCK_GATEWAY_FAULT_DELAY_MS"].get_default()
    loaded = (settings.MOCK_GATEWAY_FAULTS, settings.MOCK_GATEWAY_FAULT_SEED, settings.MOCK_GATEWAY_FAULT_DELAY_MS)
    assert loaded == ("", None, delay_default)
    assert settings.fault_rates == {}


def test_database_and_broker_credentials_match_the_servers(services: dict[str, dict[str, Any]]) -> None:
    postgres = resolved_environment(services["postgres"])
    rabbitmq = resolved_environment(services["rabbitmq"])
    urls = {"migrate": resolved_environment(services["migrate"])["DATABASE_URL"]}
    for name in APPS:
        env = resolved_environment(services[name])
        urls[name] = env["DATABASE_URL"]
        amqp = URL(env["AMQP_URL"])
        assert amqp.scheme == "amqp"
        assert amqp.host == "rabbitmq"
        assert amqp.port == 5672
        assert amqp.user == rabbitmq["RABBITMQ_DEFAULT_USER"]
        assert amqp.password == rabbitmq["RABBITMQ_DEFAULT_PASS"] == FAKE_ENV["RABBITMQ_PASSWORD"]
    for name, raw in urls.items():
        url = URL(raw)
        assert url.scheme in ("postgresql", "postgres"), name
        assert url.host == "postgres", name
        assert url.port == 5432, name
        assert url.user == postgres.get("POSTGRES_USER", "postgres"), name
        assert url.password == postgres["POSTGRES_PASSWORD"] == FAKE_ENV["POSTGRES_PASSWORD"], name
    # migrate creates and migrates the database the services then use
    assert len({URL(raw).path for raw in urls.values()}) == 1, urls


# ---------------------------------------------------------------------------------------------
# secrets
# ---------------------------------------------------------------------------------------------


def test_secrets_are_only_ever_required_interpolations(compose: dict[str, Any]) -> None:
    """No default anywhere: every mention of a secret is `${NAME:?...}`."""
    for name in SECRETS:
        mentions = [m.group(0) for m in references(compose) if name in (m.group("name"), m.group("bare"))]
        assert mentions, f"{name} is not used"
        for mention in mentions:
            assert required_reference(name).fullmatch(mention), f"{mention}: a secret must not have a default"


# a variable that holds a secret -> the env-file variable it must come from
SECRET_SOURCES = {**{name: name for name in SECRETS}, "RABBITMQ_DEFAULT_PASS": "RABBITMQ_PASSWORD"}
# the password inside these URLs is a secret too
URL_PASSWORD_SOURCES = {"DATABASE_URL": "POSTGRES_PASSWORD", "AMQP_URL": "RABBITMQ_PASSWORD"}


def raw_password(url: str) -> str | None:
    """The password part of a URL as written, before interpolation (which a URL parser would mangle)."""
    _, sep, rest = url.partition("://")
    userinfo, at, _ = rest.rpartition("@")
    if not sep or not at:
        return None
    m = re.fullmatch(r"(?:\$\{[^}]*\}|[^:])*:(?P<password>.*)", userinfo)  # a `${...}` user may hold a colon
    return m.group("password") if m else None


@pytest.mark.parametrize("name", [*APPS, *INFRASTRUCTURE])
def test_secret_variables_take_their_value_from_the_environment(name: str, services: dict[str, dict[str, Any]]) -> None:
    for key, value in environment(services[name]).items():
        if key in SECRET_SOURCES:
            assert required_reference(SECRET_SOURCES[key]).fullmatch(value), f"{name}: {key}={value!r}"
        if key in URL_PASSWORD_SOURCES:
            password = raw_password(value)
            assert password, f"{name}: {key} has no password"
            assert required_reference(URL_PASSWORD_SOURCES[key]).fullmatch(password), (
                f"{name}: the password in {key} must be ${{{URL_PASSWORD_SOURCES[key]}:?...}}"
            )
        assert "whsec_" not in value, f"{name}: {key} holds a literal webhook secret"


@pytest.mark.parametrize("name", list(APPS))
def test_compose_refuses_to_start_a_service_without_its_secrets(name: str, services: dict[str, dict[str, Any]]) -> None:
    env = environment(services[name])
    needed = [secret for secret in APP_SECRETS if secret in env]
    for secret in needed:
        partial = {k: v for k, v in FAKE_ENV.items() if k != secret}
        with pytest.raises(MissingVariableError):
            interpolate(env[secret], partial)
        with pytest.raises(MissingVariableError):
            interpolate(env[secret], {**partial, secret: ""})


@pytest.mark.parametrize("name", list(APPS))
def test_secrets_reach_only_the_services_that_read_them(name: str, services: dict[str, dict[str, Any]]) -> None:
    fields = set(settings_class(name).model_fields)
    extra = {key for key in environment(services[name]) if key in APP_SECRETS} - fields
    assert not extra, f"{name} is given {sorted(extra)}, which it does not read"


# ---------------------------------------------------------------------------------------------
# start order, health, restarts
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(APPS))
def test_service_waits_for_migrations_and_the_broker(name: str, services: dict[str, dict[str, Any]]) -> None:
    deps = depends_on(services[name])
    assert deps.get("migrate") == "service_completed_successfully", f"{name}: {deps}"
    assert deps.get("rabbitmq") == "service_healthy", f"{name}: {deps}"


def test_order_svc_mails_through_the_compose_mail_catcher_by_default(
    services: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without SMTP_URL in the env file, order-svc sends to mailpit's SMTP port on the compose network; its
    code default (empty: send nothing) is for a process that has no server to send to."""
    settings_cls = settings_class("order-svc")
    for field in settings_cls.model_fields:
        monkeypatch.delenv(field, raising=False)
    for key, value in resolved_environment(services["order-svc"]).items():
        monkeypatch.setenv(key, value)
    settings: Any = settings_cls()
    smtp = settings.smtp()
    assert (smtp.host, smtp.port, smtp.implicit_tls) == (MAIL_CATCHER, MAIL_CATCHER_SMTP_PORT, False)
    assert settings_cls.model_fields["SMTP_URL"].get_default().get_secret_value() == ""
    relay = "smtps://mailer:pw-0123@smtp.example.com"
    assert interpolate(environment(services["order-svc"])["SMTP_URL"], {**FAKE_ENV, "SMTP_URL": relay}) == relay


def test_the_mail_catcher_is_reachable_from_the_host_loopback_only(services: dict[str, dict[str, Any]]) -> None:
    catcher = services[MAIL_CATCHER]
    assert str(catcher["image"]).split(":")[0] == "axllent/mailpit"
    assert catcher.get("restart") == "unless-stopped"
    assert published_ports(catcher) == [("8025", MAIL_CATCHER_UI_PORT)]
    for entry in catcher["ports"]:
        assert str(entry).startswith("127.0.0.1:"), f"{entry}: the caught mail must not be published beyond loopback"
    assert "readyz" in healthcheck_command(catcher)


def test_migrate_waits_for_a_healthy_database(services: dict[str, dict[str, Any]]) -> None:
    assert depends_on(services["migrate"]).get("postgres") == "service_healthy"


@pytest.mark.parametrize("name", list(APPS))
def test_service_restarts_unless_stopped(name: str, services: dict[str, dict[str, Any]]) -> None:
    assert services[name].get("restart") == "unless-stopped"


def test_postgres_and_rabbitmq_healthchecks(services: dict[str, dict[str, Any]]) -> None:
    postgres = healthcheck_command(services["postgres"])
    assert "pg_isready" in " ".join(postgres)
    rabbitmq = healthcheck_command(services["rabbitmq"])
    assert "rabbitmq-diagnostics" in " ".join(rabbitmq)
    assert "ping" in " ".join(rabbitmq).split()


@pytest.mark.parametrize("name", list(APPS))
def test_service_healthcheck_asks_its_own_health_endpoint(name: str, services: dict[str, dict[str, Any]]) -> None:
    test = healthcheck_command(services[name])
    assert test[0] in ("CMD", "CMD-SHELL")
    text = " ".join(test)
    assert "curl" not in text and "wget" not in text, "the slim image has neither curl nor wget"
    urls = re.findall(r"https?://[^\s'\"]+", text)
    assert urls, f"{name}: the healthcheck names no URL"
    for raw in urls:
        url = URL(raw)
        assert url.host in ("127.0.0.1", "localhost"), raw
        assert url.port == APPS[name].port, f"{name}: the healthcheck asks port {url.port}"
        # readiness, not liveness: a container whose database or broker is down is unhealthy
        assert url.path == "/readyz", raw
    if test[0] == "CMD" and test[1].startswith("python"):
        code = test[test.index("-c") + 1]
        compile(code, f"<{name} healthcheck>", "exec")  # a syntax error would mark it unhealthy forever


# ---------------------------------------------------------------------------------------------
# ports
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", PUBLIC)
def test_public_services_publish_their_contract_port(name: str, services: dict[str, dict[str, Any]]) -> None:
    ports = published_ports(services[name])
    assert ports, f"{name} publishes no port"
    assert ports == [(str(APPS[name].port), APPS[name].port)], (
        f"{name} must publish {APPS[name].port}:{APPS[name].port}"
    )


def test_internal_services_are_not_published(services: dict[str, dict[str, Any]]) -> None:
    internal_ports = {APPS[name].port for name in INTERNAL}
    for name, service in services.items():
        assert service.get("network_mode") != "host", f"{name} uses the host's network"
        for published, target in published_ports(service):
            assert target not in internal_ports, f"{name} publishes {target}"
            assert published not in {str(port) for port in internal_ports}, f"{name} publishes on {published}"
    for name in (*INTERNAL, "postgres", "rabbitmq", "migrate"):
        assert not services[name].get("ports"), f"{name} must not publish ports by default"


# ---------------------------------------------------------------------------------------------
# env.example
# ---------------------------------------------------------------------------------------------


def env_example_entries() -> list[tuple[int, str, str]]:
    """(line number, name, value) of every assignment."""
    entries = []
    for n, line in enumerate(ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        name, sep, value = stripped.removeprefix("export ").partition("=")
        assert sep, f"env.example line {n + 1} is not NAME=value: {line!r}"
        entries.append((n, name.strip(), value.strip()))
    return entries


def test_env_example_lists_every_variable_compose_reads(compose: dict[str, Any]) -> None:
    listed = {name for _, name, _ in env_example_entries()}
    used = referenced_variables(compose)
    assert used - listed == set(), f"missing from deploy/env.example: {sorted(used - listed)}"
    assert listed - used == set(), f"deploy/env.example lists what compose never reads: {sorted(listed - used)}"


def test_env_example_leaves_secrets_empty() -> None:
    values = {name: value for _, name, value in env_example_entries()}
    for name in SECRETS:
        assert values.get(name) == "", f"{name} must be empty in deploy/env.example"


def test_env_example_comments_every_variable() -> None:
    lines = ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
    for n, name, _ in env_example_entries():
        assert n > 0 and lines[n - 1].strip().startswith("#"), f"{name} in deploy/env.example has no comment above it"


def test_env_example_names_are_unique() -> None:
    names = [name for _, name, _ in env_example_entries()]
    assert len(names) == len(set(names))
