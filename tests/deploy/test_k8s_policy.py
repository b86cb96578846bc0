"""deploy/k8s: probes, security contexts and resources on every container, a PodDisruptionBudget per Deployment,
CPU autoscaling for the consumers, production's sizes, the NetworkPolicies (evaluated for who may reach what), and
the Ingress."""

from __future__ import annotations

from typing import Any

import pytest
from k8s_manifests import (
    AUTOSCALED,
    DEPLOYMENTS,
    OVERLAYS,
    containers,
    objects,
    pod_labels,
    pod_spec,
    selects,
    workloads,
)
from test_compose import APPS

DEPLOYMENT_CASES = [(overlay, name) for overlay in OVERLAYS for name in DEPLOYMENTS[overlay]]
WORKLOAD_CASES = [(overlay, key) for overlay in OVERLAYS for key, _ in workloads(overlay)]
INGRESS_NAMESPACE = {"kubernetes.io/metadata.name": "ingress-nginx"}
NAMESPACE_LABELS = {"kubernetes.io/metadata.name": "payments"}
TMP = "/tmp"  # noqa: S108  (a path inside the container, an emptyDir)
HOSTS = {"api": ("order-svc", 8080), "hooks": ("webhook-gateway", 8081), "ops": ("payments-console", 8084)}


def workload(overlay: str, key: str) -> dict[str, Any]:
    found: dict[str, Any] = dict(workloads(overlay))[key]
    return found


def port_number(c: dict[str, Any], port: int | str) -> int:
    if isinstance(port, int):
        return port
    return next(int(p["containerPort"]) for p in c["ports"] if p["name"] == port)


@pytest.mark.parametrize(("overlay", "name"), DEPLOYMENT_CASES)
def test_readiness_and_liveness_probes_ask_readyz_and_healthz(overlay: str, name: str) -> None:
    (c,) = containers(objects(overlay, "Deployment")[name])
    for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
        get = c[probe]["httpGet"]
        assert get["path"] == path, f"{name}: {probe}"
        assert port_number(c, get["port"]) == APPS[name].port, f"{name}: {probe} asks another port"
        # liveness must not fail on a dependency: restarts do not bring PostgreSQL back
    assert c["livenessProbe"]["failureThreshold"] * c["livenessProbe"]["periodSeconds"] >= 30


@pytest.mark.parametrize(("overlay", "key"), WORKLOAD_CASES)
def test_every_container_is_locked_down(overlay: str, key: str) -> None:
    obj = workload(overlay, key)
    pod = pod_spec(obj)
    pod_security = pod.get("securityContext") or {}
    assert pod.get("automountServiceAccountToken") is False, key
    for c in containers(obj):
        sc = c.get("securityContext") or {}
        where = f"{key}/{c['name']}"
        assert sc.get("runAsNonRoot", pod_security.get("runAsNonRoot")) is True, where
        assert sc.get("runAsUser", pod_security.get("runAsUser", 1)) != 0, where
        assert sc.get("allowPrivilegeEscalation") is False, where
        assert sc.get("readOnlyRootFilesystem") is True, where
        assert sc.get("capabilities", {}).get("drop") == ["ALL"], where
        assert not sc.get("capabilities", {}).get("add"), where
        assert not sc.get("privileged"), where
        seccomp = sc.get("seccompProfile") or pod_security.get("seccompProfile") or {}
        assert seccomp.get("type") == "RuntimeDefault", where
        # a read-only root filesystem: /tmp, for whatever writes a temporary file, is an emptyDir
        mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts") or []}
        volumes = {v["name"]: v for v in pod.get("volumes") or []}
        assert TMP in mounts and "emptyDir" in volumes[mounts[TMP]], where
        resources = c.get("resources") or {}
        for bound in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(resources.get(bound) or {}), f"{where}: {bound}"


@pytest.mark.parametrize(("overlay", "name"), DEPLOYMENT_CASES)
def test_every_deployment_has_a_disruption_budget(overlay: str, name: str) -> None:
    deployment = objects(overlay, "Deployment")[name]
    budgets = [
        p
        for p in objects(overlay, "PodDisruptionBudget").values()
        if selects(p["spec"]["selector"], pod_labels(deployment))
    ]
    assert len(budgets) == 1, f"{name}: {len(budgets)} PodDisruptionBudgets"
    spec = budgets[0]["spec"]
    # a drain may evict one at a time; minAvailable equal to the replicas would block every drain
    if "maxUnavailable" in spec:
        assert spec["maxUnavailable"] == 1
    else:
        assert spec["minAvailable"] < deployment["spec"]["replicas"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_consumers_autoscale_on_cpu(overlay: str) -> None:
    autoscalers = objects(overlay, "HorizontalPodAutoscaler")
    assert set(autoscalers) == set(AUTOSCALED)
    for name, hpa in autoscalers.items():
        assert hpa["apiVersion"] == "autoscaling/v2"
        assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
        assert hpa["spec"]["minReplicas"] >= 2
        assert hpa["spec"]["maxReplicas"] > hpa["spec"]["minReplicas"]
        (metric,) = hpa["spec"]["metrics"]
        assert metric["type"] == "Resource" and metric["resource"]["name"] == "cpu"
        assert metric["resource"]["target"]["type"] == "Utilization"
        # utilisation is of the request: a container without one is never scaled
        (c,) = containers(objects(overlay, "Deployment")[name])
        assert "cpu" in c["resources"]["requests"]


def _quantity(value: str) -> float:
    units = {"m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}
    for suffix, factor in units.items():
        if value.endswith(suffix):
            return float(value.removesuffix(suffix)) * factor
    return float(value)


@pytest.mark.parametrize("name", DEPLOYMENTS["production"])
def test_production_runs_more_and_bigger_replicas(name: str) -> None:
    production = objects("production", "Deployment")[name]
    replicas = production["spec"]["replicas"]
    assert replicas >= (3 if name == "order-svc" else 2)
    if name == "order-svc":
        assert objects("production", "HorizontalPodAutoscaler")[name]["spec"]["minReplicas"] >= 3
    (big,) = containers(production)
    (small,) = containers(objects("dev", "Deployment")[name])
    for bound in ("requests", "limits"):
        for resource in ("cpu", "memory"):
            assert _quantity(str(big["resources"][bound][resource])) >= _quantity(
                str(small["resources"][bound][resource])
            )
    assert _quantity(str(big["resources"]["requests"]["cpu"])) > _quantity(str(small["resources"]["requests"]["cpu"]))


# ---------------------------------------------------------------------------------------------
# NetworkPolicies: who may open a connection to whom, evaluated as Kubernetes does
# ---------------------------------------------------------------------------------------------


def _peer_matches(peer: dict[str, Any], namespace: dict[str, str], labels: dict[str, str]) -> bool:
    if "ipBlock" in peer:
        return False  # the evaluation is of pods; no ingress rule here uses addresses
    in_namespace = namespace == NAMESPACE_LABELS
    if "namespaceSelector" in peer:
        if not selects(peer["namespaceSelector"], namespace):
            return False
    elif not in_namespace:
        return False  # a podSelector alone means this namespace only
    return selects(peer.get("podSelector") or {}, labels)


def allowed(overlay: str, namespace: dict[str, str], labels: dict[str, str], target: dict[str, str], port: int) -> bool:
    """May a pod (its namespace's labels, its labels) connect to a pod of ours (labels) on a TCP port?"""
    policies = [
        p["spec"]
        for p in objects(overlay, "NetworkPolicy").values()
        if "Ingress" in p["spec"].get("policyTypes", ["Ingress"]) and selects(p["spec"]["podSelector"], target)
    ]
    assert policies, f"no policy selects {target}: all traffic would be allowed"
    for spec in policies:
        for rule in spec.get("ingress") or []:
            ports = rule.get("ports")
            if ports and not any(p.get("port") == port and p.get("protocol", "TCP") == "TCP" for p in ports):
                continue
            peers = rule.get("from")
            if not peers or any(_peer_matches(peer, namespace, labels) for peer in peers):
                return True
    return False


def app_labels(overlay: str, name: str) -> dict[str, str]:
    return pod_labels(objects(overlay, "Deployment")[name])


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_everything_is_denied_by_default(overlay: str) -> None:
    defaults = [p for p in objects(overlay, "NetworkPolicy").values() if p["spec"]["podSelector"] == {}]
    deny = [p for p in defaults if not p["spec"].get("ingress") and not p["spec"].get("egress")]
    assert any(set(p["spec"]["policyTypes"]) == {"Ingress", "Egress"} for p in deny)
    # no policy opens ingress to every pod
    for policy in defaults:
        assert not policy["spec"].get("ingress"), policy["metadata"]["name"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_from_outside_only_the_public_services_and_the_console_are_reached_through_the_ingress(overlay: str) -> None:
    controller = {"app.kubernetes.io/name": "ingress-nginx"}
    stranger_namespace = {"kubernetes.io/metadata.name": "default"}
    for name in DEPLOYMENTS[overlay]:
        port = APPS[name].port
        expected = name in ("order-svc", "webhook-gateway", "payments-console")
        assert allowed(overlay, INGRESS_NAMESPACE, controller, app_labels(overlay, name), port) is expected, name
        assert not allowed(overlay, stranger_namespace, {"app": "x"}, app_labels(overlay, name), port), name
    for target, port in (
        ({"cnpg.io/poolerName": "payments-db-pooler"}, 5432),
        ({"app.kubernetes.io/name": "payments-mq"}, 5672),
    ):
        assert not allowed(overlay, INGRESS_NAMESPACE, controller, target, port)
        assert not allowed(overlay, stranger_namespace, {"app": "x"}, target, port)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_payment_svc_is_reached_only_from_order_svc_and_the_console(overlay: str) -> None:
    target = app_labels(overlay, "payment-svc")
    for name in DEPLOYMENTS[overlay]:
        expected = name in ("order-svc", "payments-console")
        assert allowed(overlay, NAMESPACE_LABELS, app_labels(overlay, name), target, 8082) is expected, name
    assert not allowed(overlay, NAMESPACE_LABELS, {"app": "intruder"}, target, 8082)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_merchant_webhooks_is_reached_only_from_order_svc_and_the_console(overlay: str) -> None:
    target = app_labels(overlay, "merchant-webhooks")
    for name in DEPLOYMENTS[overlay]:
        expected = name in ("order-svc", "payments-console")
        assert allowed(overlay, NAMESPACE_LABELS, app_labels(overlay, name), target, 8085) is expected, name
    assert not allowed(overlay, NAMESPACE_LABELS, {"app": "intruder"}, target, 8085)


PRIVATE_RANGES = {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "100.64.0.0/10", "127.0.0.0/8"}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_merchant_webhooks_egress_is_the_internet_and_its_data_stores_only(overlay: str) -> None:
    """It calls untrusted URLs: no policy lets it reach another pod of ours, or a private or metadata address."""
    labels = app_labels(overlay, "merchant-webhooks")
    peers = [
        (peer, rule.get("ports"))
        for policy in objects(overlay, "NetworkPolicy").values()
        if "Egress" in policy["spec"].get("policyTypes", []) and selects(policy["spec"]["podSelector"], labels)
        for rule in policy["spec"].get("egress") or []
        for peer in rule.get("to") or [{}]
    ]
    pods = [peer["podSelector"] for peer, _ in peers if "podSelector" in peer and "namespaceSelector" not in peer]
    assert all(selector.get("matchLabels") for selector in pods), "an open podSelector reaches every pod"
    assert {tuple(sorted(selector["matchLabels"].items())) for selector in pods} == {
        (("cnpg.io/poolerName", "payments-db-pooler"),),
        (("app.kubernetes.io/name", "payments-mq"),),
    }
    elsewhere = [peer for peer, _ in peers if "namespaceSelector" in peer]
    assert [peer["namespaceSelector"]["matchLabels"] for peer in elsewhere] == [
        {"kubernetes.io/metadata.name": "kube-system"}
    ], "only DNS in another namespace"
    blocks = [(peer["ipBlock"], ports) for peer, ports in peers if "ipBlock" in peer]
    assert blocks
    for block, ports in blocks:
        assert [p["port"] for p in ports] == [443]
        if block["cidr"] == "0.0.0.0/0":
            assert set(block["except"]) >= PRIVATE_RANGES
        else:
            assert block["cidr"] == "::/0" and {"fc00::/7", "fe80::/10"} <= set(block["except"])


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_console_is_reached_only_through_the_ingress(overlay: str) -> None:
    target = app_labels(overlay, "payments-console")
    for name in DEPLOYMENTS[overlay]:
        assert not allowed(overlay, NAMESPACE_LABELS, app_labels(overlay, name), target, 8084), name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_data_stores_take_the_services_and_not_the_world(overlay: str) -> None:
    pooler = {"cnpg.io/poolerName": "payments-db-pooler"}
    broker = {"app.kubernetes.io/name": "payments-mq"}
    for name in DEPLOYMENTS[overlay]:
        assert allowed(overlay, NAMESPACE_LABELS, app_labels(overlay, name), pooler, 5432), name
        assert allowed(overlay, NAMESPACE_LABELS, app_labels(overlay, name), broker, 5672), name
        # never the database instances directly: always through the Pooler
        assert not allowed(
            overlay, NAMESPACE_LABELS, app_labels(overlay, name), {"cnpg.io/cluster": "payments-db"}, 5432
        )
    job = pod_labels(objects(overlay, "Job")["payments-migrate"])
    assert allowed(overlay, NAMESPACE_LABELS, job, pooler, 5432)


def test_the_mock_gateway_is_called_by_payment_svc_and_calls_webhook_gateway_back() -> None:
    mock = app_labels("dev", "mock-gateway")
    assert allowed("dev", NAMESPACE_LABELS, app_labels("dev", "payment-svc"), mock, 8083)
    assert not allowed("dev", NAMESPACE_LABELS, app_labels("dev", "order-svc"), mock, 8083)
    assert allowed("dev", NAMESPACE_LABELS, mock, app_labels("dev", "webhook-gateway"), 8081)


def egress_outside(overlay: str, labels: dict[str, str], port: int) -> bool:
    """May a pod of ours open a TCP connection to an address outside the cluster on this port?"""
    for policy in objects(overlay, "NetworkPolicy").values():
        spec = policy["spec"]
        if "Egress" not in spec.get("policyTypes", []) or not selects(spec["podSelector"], labels):
            continue
        for rule in spec.get("egress") or []:
            ports = rule.get("ports")
            if ports and not any(p.get("port") == port and p.get("protocol", "TCP") == "TCP" for p in ports):
                continue
            if not rule.get("to") or any("ipBlock" in peer for peer in rule["to"]):
                return True
    return False


DATA_STORE_PODS = (
    {"cnpg.io/cluster": "payments-db"},
    {"cnpg.io/poolerName": "payments-db-pooler"},
    {"app.kubernetes.io/name": "payments-mq"},
)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_egress_leaves_the_cluster_only_where_it_must(overlay: str) -> None:
    # the operators' pods talk to the Kubernetes API; payment-svc to the gateway; order-svc to an SMTP relay
    for labels in DATA_STORE_PODS:
        assert egress_outside(overlay, labels, 443), labels
    for name in DEPLOYMENTS[overlay]:
        # payment-svc calls the gateway; merchant-webhooks calls merchants' servers
        expected = name in ("payment-svc", "merchant-webhooks")
        assert egress_outside(overlay, app_labels(overlay, name), 443) is expected, name
        assert egress_outside(overlay, app_labels(overlay, name), 587) is (name == "order-svc"), name
        assert not egress_outside(overlay, app_labels(overlay, name), 5432), name
    assert not egress_outside(overlay, pod_labels(objects(overlay, "Job")["payments-migrate"]), 443)


# ---------------------------------------------------------------------------------------------
# the Ingress
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_ingress_routes_three_hosts_to_three_services_over_tls(overlay: str) -> None:
    routes: dict[str, tuple[str, int, str]] = {}
    for name, ingress in objects(overlay, "Ingress").items():
        tls_hosts = {host for entry in ingress["spec"].get("tls") or [] for host in entry["hosts"]}
        for rule in ingress["spec"]["rules"]:
            assert rule["host"] in tls_hosts, f"{rule['host']} without TLS"
            for path in rule["http"]["paths"]:
                backend = path["backend"]["service"]
                routes[rule["host"]] = (backend["name"], backend["port"]["number"], name)
    assert len(routes) == len(HOSTS)
    by_prefix = {host.split(".")[0]: route for host, route in routes.items()}
    assert set(by_prefix) == set(HOSTS)
    for prefix, (service, port) in HOSTS.items():
        assert by_prefix[prefix][:2] == (service, port), prefix
    # the console on an Ingress of its own, where its allowlist applies to it alone
    assert by_prefix["ops"][2] not in {by_prefix["api"][2], by_prefix["hooks"][2]}
