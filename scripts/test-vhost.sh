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
# bounded: a broker that cannot delete a vhost (RabbitMQ 3.10 was seen looping on one whose clients kept
# reconnecting while it went) must fail the run with a message, not hang it
ctl() { timeout 120 rabbitmqctl -q "$@"; }
ctl delete_vhost "$vhost" >/dev/null 2>&1 || true
if ! ctl add_vhost "$vhost" >/dev/null || ! ctl set_permissions -p "$vhost" guest ".*" ".*" ".*" >/dev/null; then
  echo "test-vhost: RabbitMQ did not create vhost $vhost within 120 s; is the broker healthy (rabbitmqctl status)?" >&2
  exit 1
fi
echo "amqp://guest:guest@127.0.0.1:5672/$vhost"
