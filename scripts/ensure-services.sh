#!/usr/bin/env bash
# Start PostgreSQL, RabbitMQ and Redis when they are not answering on their local ports, then wait for them.
# Used by `make test` and CI; a developer machine that already runs them is left alone.
set -euo pipefail

PG_HOST=${PG_HOST:-127.0.0.1}
PG_PORT=${PG_PORT:-5432}
AMQP_HOST=${AMQP_HOST:-127.0.0.1}
AMQP_PORT=${AMQP_PORT:-5672}
REDIS_HOST=${REDIS_HOST:-127.0.0.1}
REDIS_PORT=${REDIS_PORT:-6379}

listening() { # host port
  timeout 1 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null
}

wait_for() { # name host port seconds
  local deadline=$((SECONDS + $4))
  until listening "$2" "$3"; do
    if ((SECONDS > deadline)); then
      echo "ensure-services: $1 is not answering on $2:$3 after $4 s" >&2
      return 1
    fi
    sleep 1
  done
}

if ! listening "$PG_HOST" "$PG_PORT"; then
  echo "ensure-services: starting PostgreSQL"
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n 1)" main start || true
  else
    echo "ensure-services: PostgreSQL is not running and pg_ctlcluster is not available; start it yourself" >&2
    exit 1
  fi
  wait_for PostgreSQL "$PG_HOST" "$PG_PORT" 60
  command -v pg_isready >/dev/null 2>&1 && timeout 60 bash -c "until pg_isready -q -h $PG_HOST -p $PG_PORT; do sleep 1; done" || true
fi

if ! listening "$AMQP_HOST" "$AMQP_PORT"; then
  echo "ensure-services: starting RabbitMQ"
  if command -v rabbitmq-server >/dev/null 2>&1; then
    # the broker's file handle cache takes its budget from this limit (see below); the soft limit is raised
    # to the hard one where the shell allows it
    ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
    rabbitmq-server -detached || true
  else
    echo "ensure-services: RabbitMQ is not running and rabbitmq-server is not available; start it yourself" >&2
    exit 1
  fi
  wait_for RabbitMQ "$AMQP_HOST" "$AMQP_PORT" 120
  # the port opens before every plugin and vhost is ready
  command -v rabbitmqctl >/dev/null 2>&1 && timeout 120 rabbitmqctl await_startup >/dev/null 2>&1 || true
fi

# RabbitMQ 3.x reserves file handles through its file handle cache for every queue's files, and derives the
# cache's budget from the broker's open-files limit (927 under the common soft limit of 1024). A few hundred
# quorum queues (each test run declares dozens, in vhosts of its own) exhaust the reservations while the
# broker has only tens of descriptors really open; from then on every new connection and every vhost start
# waits for a handle that never comes: the broker accepts TCP and never finishes the AMQP handshake. So the
# budget is raised on a running broker (idempotent; the real descriptors stay far below it).
FHC_LIMIT=${RABBITMQ_FILE_HANDLES:-16000}
if command -v rabbitmqctl >/dev/null 2>&1; then
  fhc_limit=$(timeout 60 rabbitmqctl eval 'proplists:get_value(total_limit, file_handle_cache:info([total_limit])).' 2>/dev/null | tr -dc '0-9' || true)
  if [ -n "$fhc_limit" ] && [ "$fhc_limit" -lt "$FHC_LIMIT" ]; then
    if timeout 60 rabbitmqctl eval "file_handle_cache:set_limit($FHC_LIMIT)." >/dev/null 2>&1; then
      echo "ensure-services: RabbitMQ's file handle budget raised from $fhc_limit to $FHC_LIMIT"
    else
      echo "ensure-services: could not raise RabbitMQ's file handle budget ($fhc_limit); it may stall under many queues" >&2
    fi
  fi
fi

# the rate limits' shared buckets (REDIS_URL): nothing in them needs to survive a restart
if ! listening "$REDIS_HOST" "$REDIS_PORT"; then
  echo "ensure-services: starting Redis"
  if command -v redis-server >/dev/null 2>&1; then
    mkdir -p /var/lib/redis /var/log/redis
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" --save "" --appendonly no \
      --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
  else
    echo "ensure-services: Redis is not running and redis-server is not available; start it yourself" >&2
    exit 1
  fi
  wait_for Redis "$REDIS_HOST" "$REDIS_PORT" 30
fi
echo "ensure-services: PostgreSQL ($PG_HOST:$PG_PORT), RabbitMQ ($AMQP_HOST:$AMQP_PORT) and Redis ($REDIS_HOST:$REDIS_PORT) are up"
