#!/usr/bin/env bash
# promtool for the unit tier's check of the alert rules and scrape config (tests/unit/test_prometheus_rules.py
# runs `promtool check rules`/`check config` and the rules' unit tests when it is there). Debian ships it in
# the `prometheus` package. Installs it when missing (as root, with apt-get); a machine that has it is left
# alone.
set -euo pipefail

if command -v promtool >/dev/null 2>&1; then
  echo "ensure-promtool: $(command -v promtool) is there"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-promtool: promtool is missing and apt-get is not available; install Prometheus's promtool yourself" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi
echo "ensure-promtool: installing Debian's prometheus (for promtool)"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends prometheus >/dev/null
promtool --version | head -1
