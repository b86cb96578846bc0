#!/usr/bin/env bash
# kubectl for the unit tier's checks of the Kubernetes manifests (tests/deploy/test_k8s*.py render
# deploy/k8s/overlays/* with `kubectl kustomize`; no cluster is contacted). Debian ships it in the
# `kubernetes-client` package (kubectl 1.20, whose kustomize is v2: the manifests are written for it as well as
# for a newer kubectl's v5). Installs it when missing (as root, with apt-get); a machine that has a kubectl is
# left alone.
set -euo pipefail

if command -v kubectl >/dev/null 2>&1; then
  echo "ensure-kubectl: $(command -v kubectl) is there"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-kubectl: kubectl is missing and apt-get is not available; install kubectl yourself" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi
echo "ensure-kubectl: installing Debian's kubernetes-client (for kubectl)"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends kubernetes-client >/dev/null
kubectl version --client 2>/dev/null | head -1
