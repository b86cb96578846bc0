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

.PHONY: help install services migrate run test lint unit integration system e2e acceptance clean

help:
	@echo "make run    install, migrate, start every service (Ctrl-C stops them)"
	@echo "make test   install, start PostgreSQL/RabbitMQ if needed, lint, unit, integration, e2e, acceptance"
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
# database (payments_test), and stops afterwards
system: install services
	$(BIN)/payments-stack exec -- bash -c '\
	  $(BIN)/pytest -q tests/e2e && \
	  echo "acceptance suite: $(ACCEPTANCE)" && \
	  $(BIN)/python -m pytest -p no:cacheprovider -p no:asyncio -q $(ACCEPTANCE)'

test: lint unit integration system

clean:
	rm -rf $(VENV) .run .mypy_cache .ruff_cache
