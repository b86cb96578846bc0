#!/usr/bin/env bash
# HAProxy for `make run SCALE=2` and `make scale`: payments-stack runs it as the current user, with a config
# it writes under .run/, as the load balancer in front of each scaled service's two instances. Debian ships
# it in the `haproxy` package. Installs it when missing (as root, with apt-get); a machine that has it is
# left alone. Only the binary is wanted: the package's own system service is not used.
set -euo pipefail

if command -v haproxy >/dev/null 2>&1; then
  echo "ensure-haproxy: $(command -v haproxy) is there"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-haproxy: haproxy is missing and apt-get is not available; install HAProxy yourself" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi
echo "ensure-haproxy: installing Debian's haproxy"
$SUDO apt-get update -qq
# policy-rc.d 101: the package's system service is not started by the install (payments-stack runs its own)
DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 $SUDO apt-get install -y -qq --no-install-recommends haproxy >/dev/null
haproxy -v | head -1
