"""deploy/k8s against the services' code: names, commands, ports, every variable each Settings class reads (from a
ConfigMap, or from a Secret when it is a secret), the dev Secrets well-formed enough to start every service, and
the production Secrets external and documented."""

from __future__ import annotations

import re
from typing import Any

import pytest
from k8s_manifests import (
    DEPLOYMENTS,
    EXTERNAL_SECRETS,
    IMAGE,
    OVERLAYS,
    Source,
    containers,
    env_sources,
    is_secret,
    objects,
    pod_labels,
    render,
    resolved_env,
    secret_data,
    selects,
)
from test_compose import APPS, REPO, console_scripts, settings_class
from yarl import URL

DEPLOYMENT_CASES = [(overlay, name) for overlay in OVERLAYS for name in DEPLOYMENTS[overlay]]
README = REPO / "deploy" / "README.md"
# values the manifests set on purpose where the code's default is for a process on a developer's machine
DELIBERATE = {
    "HOST",
    "ORDER_SVC_URL",
    "WEBHOOK_GATEWAY_URL",
    "PAYMENT_SVC_URL",
    "MOCK_GATEWAY_URL",
    "MERCHANT_WEBHOOKS_URL",
    "CONSOLE_URL",
    "CHECKOUT_URL",
    "TRUSTED_PROXIES",
    "WEBHOOK_ALLOWED_CIDRS",
}


def container(overlay: str, name: str) -> dict[str, Any]:
    found = [c for c in containers(objects(overlay, "Deployment")[name]) if c["name"] == name]
    assert len(found) == 1, f"{overlay}: Deployment {name} has no container {name}"
    return found[0]


@pytest.mark.parametrize(("overlay", "name"), DEPLOYMENT_CASES)
def test_container_runs_its_console_script_from_the_one_image(overlay: str, name: str) -> None:
    c = container(overlay, name)
    assert c["command"] == [name]
    scripts = console_scripts(APPS[name].project)
    assert name in scripts
    assert scripts[name].split(".")[0] == APPS[name].settings_module.split(".")[0]
    image = c["image"]
    assert image.rsplit("/", 1)[-1].split(":")[0] == IMAGE, image


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_pod_runs_the_same_image_and_production_pins_its_tag(overlay: str) -> None:
    images = {
        c["image"] for kind in ("Deployment", "Job") for obj in objects(overlay, kind).values() for c in containers(obj)
    }
    assert len(images) == 1, images
    (image,) = images
    if overlay == "production":
        assert "@sha256:" in image or re.fullmatch(r".+:v?\d+\.\d+\.\d+", image), f"{image}: pin a release"
        assert not image.endswith((":latest", ":dev"))


@pytest.mark.parametrize(("overlay", "name"), DEPLOYMENT_CASES)
def test_container_port_and_service_are_the_contract_port(overlay: str, name: str) -> None:
    port = APPS[name].port
    c = container(overlay, name)
    assert [(p["name"], p["containerPort"]) for p in c["ports"]] == [("http", port)]
    service = objects(overlay, "Service")[name]
    assert [(p["port"], p.get("targetPort")) for p in service["spec"]["ports"]] == [(port, "http")]
    assert selects({"matchLabels": service["spec"]["selector"]}, pod_labels(objects(overlay, "Deployment")[name]))
    # the Service selects only this Deployment's pods
    for other, deployment in objects(overlay, "Deployment").items():
        if other != name:
            assert not selects({"matchLabels": service["spec"]["selector"]}, pod_labels(deployment)), other


@pytest.mark.parametrize(("overlay", "name"), DEPLOYMENT_CASES)
def test_every_setting_the_service_reads_is_set(overlay: str, name: str) -> None:
    fields = set(settings_class(name).model_fields)
    given = set(env_sources(overlay, container(overlay, name)))
    assert fields - given == set(), (
        f"{overlay}: {name} reads {sorted(fields - given)}, which no ConfigMap or Secret gives"
    )


@pytest.mark.parametrize(("overlay", "name"), DEPLOYMENT_CASES)
def test_secrets_come_from_secrets_and_the_rest_from_configmaps(overlay: str, name: str) -> None:
    cls = settings_class(name)
    for variable, source in env_sources(overlay, container(overlay, name)).items():
        if variable not in cls.model_fields:
            continue
        expected = "Secret" if is_secret(cls, variable) else "ConfigMap"
        assert source.kind == expected, f"{overlay}: {name} takes {variable} from {source}, not a {expected}"
        if source.kind == "Secret":
            assert source.key == variable or source.name == "payments-db-owner", source


@pytest.mark.parametrize(("overlay", "name"), DEPLOYMENT_CASES)
def test_secrets_reach_only_the_services_that_read_them(overlay: str, name: str) -> None:
    fields = set(settings_class(name).model_fields)
    extra = {v for v, s in env_sources(overlay, container(overlay, name)).items() if s.kind == "Secret"} - fields
    assert not extra, f"{name} is given {sorted(extra)}, which it does not read"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_no_configmap_holds_a_secret(overlay: str) -> None:
    classes = [settings_class(name) for name in APPS]
    for name, config_map in objects(overlay, "ConfigMap").items():
        for key, value in (config_map.get("data") or {}).items():
            assert not any(key in cls.model_fields and is_secret(cls, key) for cls in classes), f"{name}: {key}"
            # a duration is no secret, whatever it is the duration of (WEBHOOK_SECRET_OVERLAP_SECONDS)
            if not key.endswith("_SECONDS"):
                assert not re.search(r"(?i)(password|secret|token|whsec_)", key), f"{name}: {key}"
            assert not re.search(r"://[^/\s]*:[^/\s]*@", str(value)), f"{name}: {key} holds credentials"
            assert "whsec_" not in str(value), f"{name}: {key}"


@pytest.mark.parametrize(("overlay", "name"), DEPLOYMENT_CASES)
def test_configmaps_agree_with_the_code_defaults(overlay: str, name: str) -> None:
    """A ConfigMap carries every setting to make it visible, not to quietly change a default."""
    cls = settings_class(name)
    for variable, source in env_sources(overlay, container(overlay, name)).items():
        if source.kind != "ConfigMap" or variable in DELIBERATE or variable not in cls.model_fields:
            continue
        value = str(objects(overlay, "ConfigMap")[source.name]["data"][source.key])
        default = cls.model_fields[variable].get_default()
        if default is None:
            assert value == "", f"{variable}: unset in the code, {value!r} here"
            continue
        converted: Any = value.lower() == "true" if isinstance(default, bool) else type(default)(value)
        assert converted == default, f"{overlay}: {variable} is {value!r} here, {default!r} in the code"


@pytest.mark.parametrize("name", DEPLOYMENTS["dev"])
def test_settings_load_from_the_dev_overlay(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The service's own Settings, fed the dev overlay's ConfigMaps and Secrets, starts and listens on its port."""
    cls = settings_class(name)
    for field in cls.model_fields:
        monkeypatch.delenv(field, raising=False)
    for key, value in resolved_env("dev", container("dev", name)).items():
        monkeypatch.setenv(key, value)
    settings: Any = cls()
    assert settings.HOST == "0.0.0.0"
    assert settings.port == APPS[name].port
    assert settings.secrets(), "the placeholders are masked like real secrets"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_service_urls_name_the_services_on_their_contract_ports(overlay: str) -> None:
    data = objects(overlay, "ConfigMap")["payments-common"]["data"]
    services = objects(overlay, "Service")
    for app in APPS.values():
        url = URL(data[app.url_variable]) if app.url_variable in data else None
        if app.url_variable == "CONSOLE_URL":
            url = URL(objects(overlay, "ConfigMap")["payments-console"]["data"]["CONSOLE_URL"])
        assert url is not None, app.url_variable
        target = next(name for name, a in APPS.items() if a is app)
        if overlay == "production" and target == "mock-gateway":
            assert url.scheme == "https", "production calls the real gateway over https"
            continue
        assert (url.scheme, url.host, url.port) == ("http", target, app.port), f"{app.url_variable}={url}"
        assert target in services


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_migration_job_runs_payments_migrate_against_the_services_database(overlay: str) -> None:
    job = objects(overlay, "Job")["payments-migrate"]
    (c,) = containers(job)
    assert c["command"] == ["payments-migrate"]
    assert "payments-migrate" in console_scripts("tools")
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    assert job["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"] == "migration"
    assert env_sources(overlay, c) == {"DATABASE_URL": Source("Secret", "payments-database", "DATABASE_URL")}
    for name in DEPLOYMENTS[overlay]:
        assert env_sources(overlay, container(overlay, name))["DATABASE_URL"] == env_sources(overlay, c)["DATABASE_URL"]


def test_dev_secrets_hold_every_key_the_pods_take() -> None:
    secrets = objects("dev", "Secret")
    for _, obj in [(k, v) for kind in ("Deployment", "Job") for k, v in objects("dev", kind).items()]:
        for c in containers(obj):
            for variable, source in env_sources("dev", c).items():
                if source.kind == "Secret":
                    assert source.name in secrets, f"{variable}: Secret {source.name} is not generated"
                    assert source.key in secret_data(secrets[source.name]), f"{source.name} lacks {source.key}"


def test_dev_database_and_broker_urls_name_the_operators_services() -> None:
    secrets = {name: secret_data(obj) for name, obj in objects("dev", "Secret").items()}
    database = URL(secrets["payments-database"]["DATABASE_URL"])
    cluster = objects("dev", "Cluster")["payments-db"]["spec"]
    owner = secrets[cluster["bootstrap"]["initdb"]["secret"]["name"]]
    assert (
        objects("dev", "Secret")[cluster["bootstrap"]["initdb"]["secret"]["name"]]["type"] == "kubernetes.io/basic-auth"
    )
    assert (database.host, database.port) == ("payments-db-pooler", 5432), "through the Pooler, not an instance"
    assert database.path == "/" + cluster["bootstrap"]["initdb"]["database"]
    assert (database.user, database.password) == (owner["username"], owner["password"])
    assert database.user == cluster["bootstrap"]["initdb"]["owner"]
    broker = URL(secrets["payments-broker"]["AMQP_URL"])
    assert (broker.scheme, broker.host, broker.port) == ("amqp", "payments-mq", 5672)
    config = objects("dev", "RabbitmqCluster")["payments-mq"]["spec"]["rabbitmq"]["additionalConfig"]
    settings = dict(line.split("=", 1) for line in config.splitlines() if "=" in line)
    default_user = {key.strip(): value.strip() for key, value in settings.items()}
    assert (broker.user, broker.password) == (default_user["default_user"], default_user["default_pass"])


def test_production_leaves_the_broker_credentials_to_the_operator() -> None:
    config = objects("production", "RabbitmqCluster")["payments-mq"]["spec"]["rabbitmq"]["additionalConfig"]
    assert "default_pass" not in config and "default_user" not in config


def test_production_secrets_are_external_and_documented() -> None:
    docs = render("production")
    assert not [d for d in docs if d["kind"] == "Secret"], "production renders no Secret: they are managed outside"
    readme = README.read_text(encoding="utf-8")
    referenced: dict[str, set[str]] = {}
    for kind in ("Deployment", "Job"):
        for obj in objects("production", kind).values():
            for c in containers(obj):
                for source in env_sources("production", c).values():
                    if source.kind == "Secret":
                        referenced.setdefault(source.name, set()).add(source.key)
    referenced.setdefault("payments-db-owner", set()).update({"username", "password"})
    for name, keys in referenced.items():
        assert name in EXTERNAL_SECRETS, f"{name} is not a documented external Secret"
        assert keys <= set(EXTERNAL_SECRETS[name]), f"{name}: {sorted(keys - set(EXTERNAL_SECRETS[name]))}"
        assert f"`{name}`" in readme, f"deploy/README.md does not name the Secret {name}"
        for key in keys:
            assert f"`{key}`" in readme, f"deploy/README.md does not name {name}'s key {key}"
