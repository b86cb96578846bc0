#!/usr/bin/env bash
# Prints the AMQP URL the system tier runs on: a RabbitMQ vhost of its own (default payments_test),
# deleted and created again, so that one run's dead letters and queues never mix with another's or
# with a `make run` system on the default vhost. An AMQP_URL already set is used as it is; without
# rabbitmqctl (a remote broker), the default vhost is used.
set -euo pipefail
vhost=${1:-payments_test}
if [[ -n "${AMQP_URL:-}" ]]; then
  echo "$AMQP_URL"
  exit 0
fi
if ! command -v rabbitmqctl >/dev/null 2>&1; then
  echo "test-vhost: rabbitmqctl not found; the system tier shares the default vhost" >&2
  echo "amqp://guest:guest@127.0.0.1:5672/"
  exit 0
fi
rabbitmqctl -q delete_vhost "$vhost" >/dev/null 2>&1 || true
rabbitmqctl -q add_vhost "$vhost" >/dev/null
rabbitmqctl -q set_permissions -p "$vhost" guest ".*" ".*" ".*" >/dev/null
echo "amqp://guest:guest@127.0.0.1:5672/$vhost"
