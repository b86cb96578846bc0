"""deploy/k8s: the overlays render with `kubectl kustomize`, the core objects satisfy the Kubernetes schemas strictly,
and the operators' custom resources use only the fields their operators document.

test_k8s_services.py compares the manifests with the services' code; test_k8s_policy.py checks probes, security
contexts, disruption budgets, autoscalers, network policies and the Ingress.
"""

from __future__ import annotations

from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import pytest
from k8s_manifests import DEPLOYMENTS, KUBERNETES_VERSION, NAMESPACE, OVERLAYS, objects, render

# the operators' kinds, checked below against the fields they document, not by kubernetes-validate
CUSTOM_KINDS = {
    ("rabbitmq.com/v1beta1", "RabbitmqCluster"),
    ("postgresql.cnpg.io/v1", "Cluster"),
    ("postgresql.cnpg.io/v1", "Pooler"),
}
CLUSTER_SCOPED = {"Namespace"}

# An allowed-fields tree: a dict names the fields a mapping may have (each with its own tree); ANY is a value
# whose inside is not checked (free-form maps, or Kubernetes' own types such as affinity and resources).
ANY: Any = None
_RESOURCES = {"requests": ANY, "limits": ANY, "claims": ANY}
_METADATA = {"name": ANY, "namespace": ANY, "labels": ANY, "annotations": ANY}

# RabbitMQ Cluster Operator, RabbitmqCluster (rabbitmq.com/v1beta1): the spec fields of its API reference
RABBITMQ_CLUSTER = {
    "apiVersion": ANY,
    "kind": ANY,
    "metadata": _METADATA,
    "spec": {
        "replicas": ANY,
        "image": ANY,
        "imagePullSecrets": ANY,
        "service": {"type": ANY, "annotations": ANY, "ipFamilyPolicy": ANY},
        "persistence": {"storageClassName": ANY, "storage": ANY},
        "resources": _RESOURCES,
        "affinity": ANY,
        "tolerations": ANY,
        "rabbitmq": {
            "additionalPlugins": ANY,
            "additionalConfig": ANY,
            "advancedConfig": ANY,
            "envConfig": ANY,
            "erlangInetConfig": ANY,
        },
        "tls": {"secretName": ANY, "caSecretName": ANY, "disableNonTLSListeners": ANY},
        "override": ANY,
        "skipPostDeployHooks": ANY,
        "terminationGracePeriodSeconds": ANY,
        "delayStartSeconds": ANY,
        "secretBackend": ANY,
    },
}

# CloudNativePG, Cluster (postgresql.cnpg.io/v1): the ClusterSpec fields this deployment may use
CNPG_CLUSTER = {
    "apiVersion": ANY,
    "kind": ANY,
    "metadata": _METADATA,
    "spec": {
        "description": ANY,
        "instances": ANY,
        "imageName": ANY,
        "imagePullPolicy": ANY,
        "primaryUpdateStrategy": ANY,
        "primaryUpdateMethod": ANY,
        "minSyncReplicas": ANY,
        "maxSyncReplicas": ANY,
        "enableSuperuserAccess": ANY,
        "superuserSecret": {"name": ANY},
        "postgresql": {
            "parameters": ANY,
            "pg_hba": ANY,
            "pg_ident": ANY,
            "synchronous": ANY,
            "shared_preload_libraries": ANY,
        },
        "bootstrap": {
            "initdb": {
                "database": ANY,
                "owner": ANY,
                "secret": {"name": ANY},
                "encoding": ANY,
                "localeCollate": ANY,
                "localeCType": ANY,
                "dataChecksums": ANY,
                "postInitApplicationSQL": ANY,
            },
            "recovery": ANY,
            "pg_basebackup": ANY,
        },
        "storage": {"size": ANY, "storageClass": ANY, "resizeInUseVolumes": ANY, "pvcTemplate": ANY},
        "walStorage": {"size": ANY, "storageClass": ANY, "resizeInUseVolumes": ANY, "pvcTemplate": ANY},
        "resources": _RESOURCES,
        "affinity": {
            "enablePodAntiAffinity": ANY,
            "topologyKey": ANY,
            "podAntiAffinityType": ANY,
            "nodeSelector": ANY,
            "tolerations": ANY,
            "additionalPodAffinity": ANY,
            "additionalPodAntiAffinity": ANY,
            "nodeAffinity": ANY,
        },
        "monitoring": {"enablePodMonitor": ANY, "customQueriesConfigMap": ANY, "customQueriesSecret": ANY},
        "backup": ANY,
        "startDelay": ANY,
        "stopDelay": ANY,
        "switchoverDelay": ANY,
        "failoverDelay": ANY,
        "smartShutdownTimeout": ANY,
        "enablePDB": ANY,
        "priorityClassName": ANY,
        "topologySpreadConstraints": ANY,
    },
}

# CloudNativePG, Pooler (postgresql.cnpg.io/v1): PoolerSpec and its PgBouncerSpec
CNPG_POOLER = {
    "apiVersion": ANY,
    "kind": ANY,
    "metadata": _METADATA,
    "spec": {
        "cluster": {"name": ANY},
        "type": ANY,
        "instances": ANY,
        "template": ANY,
        "serviceTemplate": ANY,
        "deploymentStrategy": ANY,
        "monitoring": ANY,
        "pgbouncer": {
            "poolMode": ANY,
            "parameters": ANY,
            "pg_hba": ANY,
            "paused": ANY,
            "authQuery": ANY,
            "authQuerySecret": ANY,
        },
    },
}
CUSTOM_TREES = {"RabbitmqCluster": RABBITMQ_CLUSTER, "Cluster": CNPG_CLUSTER, "Pooler": CNPG_POOLER}


def unknown_fields(node: Any, tree: Any, path: str = "") -> list[str]:
    if tree is ANY:
        return []
    if not isinstance(node, dict):
        return [f"{path}: a mapping expected"]
    found = []
    for key, value in node.items():
        where = f"{path}.{key}" if path else key
        if key not in tree:
            found.append(where)
        else:
            found.extend(unknown_fields(value, tree[key], where))
    return found


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_renders_into_named_objects_in_the_namespace(overlay: str) -> None:
    docs = render(overlay)
    assert docs
    seen = set()
    for doc in docs:
        assert {"apiVersion", "kind", "metadata"} <= set(doc), doc
        key = (doc["kind"], doc["metadata"]["name"])
        assert key not in seen, f"{key} twice"
        seen.add(key)
        if doc["kind"] not in CLUSTER_SCOPED:
            assert doc["metadata"].get("namespace") == NAMESPACE, key
    assert objects(overlay, "Namespace").keys() == {NAMESPACE}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_core_objects_satisfy_the_kubernetes_schemas_strictly(overlay: str) -> None:
    for doc in render(overlay):
        if (doc["apiVersion"], doc["kind"]) in CUSTOM_KINDS:
            continue
        # strict: a field the schema does not define is refused (a typo would otherwise be dropped by the server)
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_the_strict_validation_refuses_an_unknown_field() -> None:
    deployment = objects("dev", "Deployment")["order-svc"]
    deployment["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {"httpGet": {"path": "/readyz"}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def test_the_kubernetes_version_is_one_kubernetes_validate_ships() -> None:
    shipped = {kubernetes_validate.utils.major_minor(v) for v in kubernetes_validate.utils.all_versions()}
    assert kubernetes_validate.utils.major_minor(KUBERNETES_VERSION) in shipped


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_kind_is_checked_by_a_schema_or_an_allowed_fields_tree(overlay: str) -> None:
    for doc in render(overlay):
        api = (doc["apiVersion"], doc["kind"])
        if doc["kind"] in CUSTOM_TREES:
            assert api in CUSTOM_KINDS, f"{api}: another API version than the one checked"
            assert unknown_fields(doc, CUSTOM_TREES[doc["kind"]]) == [], f"{doc['kind']}: undocumented fields"
        else:
            assert not doc["apiVersion"].endswith(("rabbitmq.com/v1beta1", "cnpg.io/v1")), api


def test_the_allowed_fields_trees_refuse_an_unknown_field() -> None:
    pooler = objects("dev", "Pooler")["payments-db-pooler"]
    pooler["spec"]["pgbouncer"]["pool_mode"] = "session"
    assert unknown_fields(pooler, CNPG_POOLER) == ["spec.pgbouncer.pool_mode"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_rabbitmq_is_a_three_node_operator_cluster(overlay: str) -> None:
    clusters = objects(overlay, "RabbitmqCluster")
    assert list(clusters) == ["payments-mq"]
    assert clusters["payments-mq"]["spec"]["replicas"] == 3
    assert "pause_minority" in clusters["payments-mq"]["spec"]["rabbitmq"]["additionalConfig"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_postgresql_is_a_three_instance_cnpg_cluster_behind_a_session_pooler(overlay: str) -> None:
    clusters = objects(overlay, "Cluster")
    assert list(clusters) == ["payments-db"]
    spec = clusters["payments-db"]["spec"]
    assert spec["instances"] == 3
    assert spec["bootstrap"]["initdb"]["database"] == "payments"
    poolers = objects(overlay, "Pooler")
    assert list(poolers) == ["payments-db-pooler"]
    pooler = poolers["payments-db-pooler"]["spec"]
    assert pooler["cluster"]["name"] == "payments-db"
    assert pooler["type"] == "rw"
    assert pooler["instances"] >= 2
    # asyncpg's prepared statements and the relay's LISTEN need the session (deploy/README.md, Kubernetes)
    assert pooler["pgbouncer"]["poolMode"] == "session"
    # each pool's connections carry search_path in their startup packet (payments_common.db.create_pool)
    assert "search_path" in pooler["pgbouncer"]["parameters"]["track_extra_parameters"].split(",")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_no_single_replica_stateful_component_of_our_own(overlay: str) -> None:
    kinds = {doc["kind"] for doc in render(overlay)}
    assert not kinds & {"StatefulSet", "DaemonSet", "PersistentVolumeClaim", "Pod", "ReplicaSet"}
    for name, deployment in objects(overlay, "Deployment").items():
        if name == "mock-gateway":
            continue
        assert deployment["spec"]["replicas"] >= 2, name
    assert set(objects(overlay, "Deployment")) == set(DEPLOYMENTS[overlay])


def test_the_mock_gateway_runs_once_and_in_dev_only() -> None:
    mock = objects("dev", "Deployment")["mock-gateway"]
    assert mock["spec"]["replicas"] == 1
    assert mock["spec"]["strategy"]["type"] == "Recreate"  # never two at once, even during a rollout
    assert "mock-gateway" not in objects("production", "Deployment")
    assert "mock-gateway" not in objects("production", "Service")
