"""Rendering deploy/k8s/overlays/* with `kubectl kustomize` and reading the result, for tests/deploy/test_k8s*.py.

No cluster is contacted: `kubectl kustomize` only builds the manifests. kubectl comes from Debian's
`kubernetes-client` (scripts/ensure-kubectl.sh, which `make unit` runs); its kustomize is v2, a newer kubectl's
is v5, and the manifests are written for both.
"""

from __future__ import annotations

import base64
import copy
import functools
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, get_args

import yaml
from pydantic import SecretStr
from pydantic_settings import BaseSettings
from test_compose import APP_SECRETS, APPS, REPO

K8S = REPO / "deploy" / "k8s"
OVERLAYS = ("dev", "production")
NAMESPACE = "payments"
IMAGE = "payments-system"
# the Kubernetes version whose schemas (shipped by the kubernetes-validate package) the core objects must satisfy
KUBERNETES_VERSION = "1.32.0"
# the Deployments of each overlay: the mock gateway is a test double, dev only
DEPLOYMENTS = {"dev": tuple(APPS), "production": tuple(name for name in APPS if name != "mock-gateway")}
AUTOSCALED = ("order-svc", "payment-svc")
# the variables that hold a secret, whatever their Settings type: credentials inside a URL included
SECRET_VARIABLES = frozenset({*APP_SECRETS, "DATABASE_URL", "AMQP_URL", "SMTP_URL", "REDIS_URL"})
SECRET_SUFFIXES = ("_TOKEN", "_SECRET", "_SECRETS", "_PASSWORD", "_KEYS")
# the Secrets production does not render: created outside the repository with these keys (deploy/README.md)
EXTERNAL_SECRETS = {
    "payments-app": (*APP_SECRETS, "SMTP_URL", "REDIS_URL"),
    "payments-database": ("DATABASE_URL",),
    "payments-broker": ("AMQP_URL",),
    "payments-db-owner": ("username", "password"),
}


def kubectl() -> str:
    path = shutil.which("kubectl")
    assert path, "kubectl is missing: scripts/ensure-kubectl.sh installs Debian's kubernetes-client (make unit runs it)"
    return path


@functools.cache
def _render(overlay: str) -> tuple[dict[str, Any], ...]:
    result = subprocess.run(
        [kubectl(), "kustomize", str(K8S / "overlays" / overlay)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"kubectl kustomize {overlay} failed:\n{result.stderr}"
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)


def render(overlay: str) -> list[dict[str, Any]]:
    """The overlay's objects, a fresh copy each call (tests may change them)."""
    return copy.deepcopy(list(_render(overlay)))


def objects(overlay: str, kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in render(overlay) if doc["kind"] == kind}


def pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = workload["spec"]["template"]["spec"]
    return spec


def pod_labels(workload: dict[str, Any]) -> dict[str, str]:
    labels: dict[str, str] = workload["spec"]["template"]["metadata"]["labels"]
    return labels


def containers(workload: dict[str, Any]) -> list[dict[str, Any]]:
    spec = pod_spec(workload)
    return [*spec.get("initContainers", []), *spec["containers"]]


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """A LabelSelector (matchLabels and matchExpressions) against a set of labels; {} selects everything."""
    if any(labels.get(key) != value for key, value in (selector.get("matchLabels") or {}).items()):
        return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        present = key in labels
        if (
            (op == "In" and labels.get(key) not in values)
            or (op == "NotIn" and present and labels[key] in values)
            or (op == "Exists" and not present)
            or (op == "DoesNotExist" and present)
        ):
            return False
    return True


def is_secret(cls: type[BaseSettings], name: str) -> bool:
    annotation = cls.model_fields[name].annotation
    types = {annotation, *get_args(annotation)}
    return SecretStr in types or name in SECRET_VARIABLES or name.endswith(SECRET_SUFFIXES)


@dataclass(frozen=True)
class Source:
    """Where a container's variable comes from: a ConfigMap or Secret (name and key), or a literal value."""

    kind: str  # "ConfigMap", "Secret" or "value"
    name: str
    key: str


def env_sources(overlay: str, container: dict[str, Any]) -> dict[str, Source]:
    """Every variable the container is given, with its source; envFrom resolved against the rendered ConfigMaps."""
    config_maps = objects(overlay, "ConfigMap")
    sources: dict[str, Source] = {}
    for entry in container.get("envFrom") or []:
        assert "secretRef" not in entry, "secrets by secretKeyRef only, so every key a container takes is named"
        ref = entry["configMapRef"]
        assert ref["name"] in config_maps, f"envFrom names ConfigMap {ref['name']}, which the overlay lacks"
        prefix = entry.get("prefix", "")
        for key in config_maps[ref["name"]].get("data") or {}:
            sources[prefix + key] = Source("ConfigMap", ref["name"], key)
    for var in container.get("env") or []:  # env wins over envFrom, as in Kubernetes
        value_from = var.get("valueFrom")
        if value_from is None:
            sources[var["name"]] = Source("value", "", str(var.get("value", "")))
        elif "secretKeyRef" in value_from:
            ref = value_from["secretKeyRef"]
            sources[var["name"]] = Source("Secret", ref["name"], ref["key"])
        elif "configMapKeyRef" in value_from:
            ref = value_from["configMapKeyRef"]
            sources[var["name"]] = Source("ConfigMap", ref["name"], ref["key"])
        else:
            sources[var["name"]] = Source("value", "", "")  # fieldRef and the like: no configuration
    return sources


def secret_data(secret: dict[str, Any]) -> dict[str, str]:
    data = {key: base64.b64decode(value).decode() for key, value in (secret.get("data") or {}).items()}
    data.update(secret.get("stringData") or {})
    return data


def resolved_env(overlay: str, container: dict[str, Any]) -> dict[str, str]:
    """The container's environment with every value looked up (the dev overlay renders all its Secrets)."""
    config_maps = objects(overlay, "ConfigMap")
    secrets = objects(overlay, "Secret")
    env: dict[str, str] = {}
    for name, source in env_sources(overlay, container).items():
        if source.kind == "ConfigMap":
            env[name] = str(config_maps[source.name]["data"][source.key])
        elif source.kind == "Secret":
            env[name] = secret_data(secrets[source.name])[source.key]
        else:
            env[name] = source.key
    return env


def workloads(overlay: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """("Deployment/name" or "Job/name", object) for everything that runs a pod of ours."""
    for kind in ("Deployment", "Job"):
        for name, obj in objects(overlay, kind).items():
            yield f"{kind}/{name}", obj
