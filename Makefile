# The two commands: `make run` starts the whole system, `make test` runs every test tier and the
# contract's acceptance suite against a system it starts and stops itself.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
UV_VERSION := 0.13.9
UV := $(VENV)/bin/uv
BIN := $(VENV)/bin
ACCEPTANCE ?= ../shared/acceptance
export UV_PROJECT_ENVIRONMENT := $(abspath $(VENV))
export UV_NO_PROGRESS := 1

.PHONY: help install services migrate run test lint unit integration system e2e acceptance clean chaos fuzz bench-flood attacks

help:
	@echo "make run    install, migrate, start every service (Ctrl-C stops them)"
	@echo "make test   install, start PostgreSQL/RabbitMQ if needed, lint, unit, integration, e2e, acceptance"
	@echo "make chaos  fault tests: 1,000 payments under kill -9, broker and database restarts; restarts the local"
	@echo "            PostgreSQL and RabbitMQ (see README, Fault tests)"
	@echo "make fuzz   schemathesis against the running system (its own database and vhost), a few minutes"
	@echo "make bench-flood  genuine webhook latency with and without a flood of forged ones, about 3 minutes"
	@echo "make attacks  hostile requests against the running system; prints what each was answered and changed"
	@echo "make lint | unit | integration | system | migrate | clean"

$(UV):
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# exactly the versions in uv.lock, every workspace member installed editable into .venv
install: $(UV)
	$(UV) sync --frozen --all-packages --quiet

services:
	@scripts/ensure-services.sh

migrate: install services
	$(BIN)/payments-migrate

run: install services
	$(BIN)/payments-stack run

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

unit: install
	$(BIN)/pytest -q tests/unit tests/deploy

integration: install services
	$(BIN)/pytest -q tests/integration

# e2e and acceptance run against one system that payments-stack starts, with fresh secrets and its own
# database and RabbitMQ vhost (both payments_test), and stops afterwards; short retry tiers, so a dead
# letter is made in seconds
system: install services
	AMQP_URL=$$(scripts/test-vhost.sh payments_test) RETRY_DELAYS_MS=100,200,400 \
	  $(BIN)/payments-stack exec -- bash -c '\
	  $(BIN)/pytest -q tests/e2e && \
	  echo "acceptance suite: $(ACCEPTANCE)" && \
	  $(BIN)/python -m pytest -p no:cacheprovider -p no:asyncio -q $(ACCEPTANCE) && \
	  $(BIN)/python -m tests.security.log_secrets .run/logs'

test: lint unit integration system

# the whole system on its own database and vhost (payments_chaos), faults injected phase by phase; prints
# the table, writes .run/chaos/report.json, fails when anything was lost or applied twice. CHAOS_ARGS
# passes options, e.g. CHAOS_ARGS="--payments 200 --faults kill-payment-svc,poison"
chaos: install services
	$(BIN)/python -m tests.chaos $(CHAOS_ARGS)

# forged, tampered, replayed, stale, oversized, deep and non-ASCII webhooks, a flood, another merchant's
# order, a wrong Content-Digest, and webhooks from outside the allowlist (which is narrowed to 127.0.0.1
# for the run so 127.0.0.2 is outside it); prints the table, writes .run/attacks.json, fails when an attack
# changed the database or got a 5xx. Run it under the system lock, as `make system`
attacks: install services
	WEBHOOK_ALLOWED_CIDRS=127.0.0.1/32 TRUSTED_PROXIES=127.0.0.1/32 $(BIN)/payments-stack exec -- \
	  $(BIN)/python -m tests.security.attacks $(ATTACK_ARGS)

# schemathesis against the services' own OpenAPI documents, the system under `payments-stack exec` on its own
# database and vhost (payments_fuzz); prints the cases per operation and fails on any 5xx or undocumented
# answer. FUZZ_ARGS passes pytest options; FUZZ_MAX_EXAMPLES / FUZZ_STATEFUL_EXAMPLES set the budget
fuzz: install services
	$(BIN)/python -m tests.fuzz $(FUZZ_ARGS)

# genuine webhook latency (p50/p99) in rounds alternating between no flood and a flood of forged webhooks from this
# machine, against a system payments-stack exec starts (test database, fresh secrets); prints the ratio.
# Take the shared lock like `make system` does. BENCH_FLOOD_ARGS passes options (--help lists them)
bench-flood: install services
	$(BIN)/payments-stack exec -- $(BIN)/python benchmarks/webhook_flood.py $(BENCH_FLOOD_ARGS)

clean:
	rm -rf $(VENV) .run .mypy_cache .ruff_cache
