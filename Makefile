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

.PHONY: help install services migrate run test lint unit integration system e2e acceptance clean chaos

help:
	@echo "make run    install, migrate, start every service (Ctrl-C stops them)"
	@echo "make test   install, start PostgreSQL/RabbitMQ if needed, lint, unit, integration, e2e, acceptance"
	@echo "make chaos  fault tests: 1,000 payments under kill -9, broker and database restarts; restarts the local"
	@echo "            PostgreSQL and RabbitMQ (see README, Fault tests)"
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
# database (payments_test), and stops afterwards; short retry tiers, so a dead letter is made in seconds
system: install services
	RETRY_DELAYS_MS=100,200,400 $(BIN)/payments-stack exec -- bash -c '\
	  $(BIN)/pytest -q tests/e2e && \
	  echo "acceptance suite: $(ACCEPTANCE)" && \
	  $(BIN)/python -m pytest -p no:cacheprovider -p no:asyncio -q $(ACCEPTANCE)'

test: lint unit integration system

# the whole system on its own database and vhost (payments_chaos), faults injected phase by phase; prints
# the table, writes .run/chaos/report.json, fails when anything was lost or applied twice. CHAOS_ARGS
# passes options, e.g. CHAOS_ARGS="--payments 200 --faults kill-payment-svc,poison"
chaos: install services
	$(BIN)/python -m tests.chaos $(CHAOS_ARGS)

clean:
	rm -rf $(VENV) .run .mypy_cache .ruff_cache
