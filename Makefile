# The two commands: `make run` starts the whole system, `make test` runs every test tier, and the public
# contract's acceptance suite when it is there, against a system it starts and stops itself.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
UV_VERSION := 0.13.9
UV := $(VENV)/bin/uv
BIN := $(VENV)/bin
# the contract's black-box acceptance suite, kept outside this repository; where it is absent (a plain
# clone) `make test` and `make acceptance` say it was skipped
ACCEPTANCE ?= ../shared/acceptance
export UV_PROJECT_ENVIRONMENT := $(abspath $(VENV))
export UV_NO_PROGRESS := 1

.PHONY: help install install-runtime services migrate run test lint unit integration system e2e acceptance \
	clean chaos webhooks-load fuzz bench-flood bench bench-growth attacks browser chromium promtool test-tools kubectl scale haproxy

help:
	@echo "make run          install the services, migrate, start them all (Ctrl-C stops them); SCALE=2: two"
	@echo "                  instances of each (the mock gateway one) behind HAProxy on the same ports"
	@echo "make test         start PostgreSQL/RabbitMQ (and install chromium, promtool) if needed; lint, unit,"
	@echo "                  integration, then e2e, browser and acceptance against one system"
	@echo "make lint | unit | integration    one tier each"
	@echo "make e2e          the e2e tier against a system payments-stack starts and stops"
	@echo "make acceptance   the acceptance suite in $(ACCEPTANCE) the same way; skipped if absent"
	@echo "make browser      the operators' console in chromium (Playwright), against a system payments-stack starts"
	@echo "make system       e2e, browser and acceptance against one system, then no secret in its logs"
	@echo "make chaos        1,000 payments under kill -9 and restarts of the local PostgreSQL and RabbitMQ"
	@echo "make webhooks-load  1,000 payments' webhooks to a real receiver, verified, through a kill -9 of merchant-webhooks"
	@echo "make scale        two instances of everything under load: work split, kill -9 of one of each, shared limit"
	@echo "make fuzz         schemathesis against the running system's OpenAPI documents, about a minute"
	@echo "make attacks      hostile requests against the system; prints what each was answered and changed"
	@echo "make bench-flood  genuine webhook latency with and without a flood of forged ones, about 3 minutes"
	@echo "make bench        whole lifecycles against their database, ingress, broker and order bounds (QUICK=1)"
	@echo "make bench-growth the same lifecycles on an empty database, then with 1,000,000 orders preloaded"
	@echo "make migrate | install | clean"
	@echo "docs/testing.md explains each; take /tmp/payments-system.lock for the ones on ports 8080-8084"

$(UV):
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# exactly the versions in uv.lock, every workspace member installed editable into .venv, with the dev group
# (test and lint tools)
install: $(UV)
	$(UV) sync --frozen --all-packages --quiet

# what the services need: every workspace member, no dependency group. --inexact keeps what is there
# already (the dev tools of an earlier `make install`, and uv itself, which the dev group pins) instead of
# removing it
install-runtime: $(UV)
	$(UV) sync --frozen --all-packages --no-default-groups --inexact --quiet

services:
	@scripts/ensure-services.sh

migrate: install-runtime services
	$(BIN)/payments-migrate

# SCALE=2: two instances of every service but the mock gateway, behind HAProxy on the usual ports
SCALE ?= 1
run: install-runtime services $(if $(filter-out 1,$(SCALE)),haproxy)
	$(BIN)/payments-stack run $(if $(filter-out 1,$(SCALE)),--scale $(SCALE))

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# promtool: the unit tier checks the alert rules with it (tests/unit/test_prometheus_rules.py); kubectl renders
# the Kubernetes manifests for tests/deploy/test_k8s*.py
unit: install promtool kubectl
	$(BIN)/pytest -q tests/unit tests/deploy

integration: install services
	$(BIN)/pytest -q tests/integration

# e2e and acceptance run against a system that payments-stack starts, with fresh secrets and its own
# database and RabbitMQ vhost (both payments_test), and stops afterwards; short retry tiers, so a dead
# letter is made in seconds. Each run ends by checking that no configured secret reached the services'
# logs of that run. E2E_ARGS passes pytest options to the e2e tier (-k, -x …)
STACK_EXEC = AMQP_URL=$$(scripts/test-vhost.sh payments_test) RETRY_DELAYS_MS=100,200,400 \
	$(BIN)/payments-stack exec --
E2E_RUN = $(BIN)/pytest -q tests/e2e $(E2E_ARGS)
BROWSER_RUN = $(BIN)/pytest -q tests/browser $(BROWSER_ARGS)
LOG_CHECK = $(BIN)/python -m tests.security.log_secrets .run/logs
ifneq ($(wildcard $(ACCEPTANCE)),)
ACCEPTANCE_RUN = echo "acceptance suite: $(ACCEPTANCE)" && \
	$(BIN)/python -m pytest -p no:cacheprovider -p no:asyncio -q $(ACCEPTANCE)
else
ACCEPTANCE_RUN = echo "acceptance suite: skipped ($(ACCEPTANCE) not found)"
endif

# the browser tier (tests/browser: the operators' console in chromium) runs against the same system
system: install services chromium
	$(STACK_EXEC) bash -c '$(E2E_RUN) && $(BROWSER_RUN) && $(ACCEPTANCE_RUN) && $(LOG_CHECK)'

e2e: install services
	$(STACK_EXEC) bash -c '$(E2E_RUN) && $(LOG_CHECK)'

ifneq ($(wildcard $(ACCEPTANCE)),)
acceptance: install services
	$(STACK_EXEC) bash -c '$(ACCEPTANCE_RUN) && $(LOG_CHECK)'
else
acceptance:
	@$(ACCEPTANCE_RUN)
endif

test: test-tools lint unit integration system

# what the test tiers need beyond the venv, from Debian when missing: chromium for the browser tier, promtool
# for the alert rules' checks, kubectl for the Kubernetes manifests'. A fresh machine gets them here, from
# `make test` itself
test-tools: chromium promtool kubectl

chromium:
	@scripts/ensure-chromium.sh

promtool:
	@scripts/ensure-promtool.sh

kubectl:
	@scripts/ensure-kubectl.sh

haproxy:
	@scripts/ensure-haproxy.sh

# the operators' console driven by Playwright in Debian's chromium (tests/browser). Under payments-stack exec,
# which starts the console beside the services (CONSOLE_URL, and a fresh operator's CONSOLE_PASSWORD), every
# test runs and the screenshots in docs/images/ are taken again; where the stack does not start the console
# the tier starts one of its own and the tests that need the services skip. BROWSER_ARGS passes pytest options
browser: install services chromium
	$(STACK_EXEC) bash -c '$(BROWSER_RUN) && $(LOG_CHECK)'

# the whole system on its own database and vhost (payments_chaos), faults injected phase by phase; prints
# the table, writes .run/chaos/report.json, fails when anything was lost or applied twice. CHAOS_ARGS
# passes options, e.g. CHAOS_ARGS="--payments 200 --faults kill-payment-svc,poison"
chaos: install services
	$(BIN)/python -m tests.chaos $(CHAOS_ARGS)

# the merchant-webhooks e2e test at 1,000 payments (the e2e tier runs it with 150): every delivery verified
# with the Razorpay SDK and Standard Webhooks, exactly the expected event ids, merchant-webhooks killed with
# kill -9 part-way; prints its figures. A few minutes; take /tmp/payments-system.lock like `make e2e`
WEBHOOK_PAYMENTS ?= 1000
webhooks-load: install services
	$(STACK_EXEC) bash -c 'MERCHANT_WEBHOOK_PAYMENTS=$(WEBHOOK_PAYMENTS) $(BIN)/pytest -q -s tests/e2e/test_merchant_webhooks.py \
		-k every_event && $(LOG_CHECK)'

# two instances of every service but the mock gateway behind HAProxy (payments-stack exec --scale 2), on
# their own database (payments_scale, dropped first) and vhost, with a per-key limit of SCALE_LIMIT/s and the
# chaos run's short reconciliation settings: a few hundred payments, then kill -9 of one instance of each
# mid-run, then one key pressed at four times its limit; prints the split between instances and the counts.
# About two minutes; take /tmp/payments-system.lock like `make system`. SCALE_ARGS passes pytest options
SCALE_LIMIT ?= 25
scale: install services haproxy
	psql -q -h 127.0.0.1 -U postgres -d postgres -c 'DROP DATABASE IF EXISTS payments_scale WITH (FORCE)'
	AMQP_URL=$$(scripts/test-vhost.sh payments_scale) DATABASE_URL=postgresql://postgres@127.0.0.1:5432/payments_scale \
	  API_RATE_PER_SECOND=$(SCALE_LIMIT) API_RATE_BURST=$(SCALE_LIMIT) RETRY_DELAYS_MS=200,500,1000,2000 \
	  RECONCILE_INTERVAL_SECONDS=2 RECONCILE_AFTER_SECONDS=5 PAYMENT_EXPIRY_SECONDS=15 ORDER_CONFIRM_AFTER_SECONDS=10 \
	  $(BIN)/payments-stack exec --scale 2 -- bash -c '$(BIN)/pytest -q -s tests/scale $(SCALE_ARGS) && $(LOG_CHECK)'

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

# whole payment lifecycles (create, initiate, signed webhook with some duplicated, PAID/FAILED) through a
# system payments-stack exec starts on its own database and vhost (payments_bench), then the bounds it is
# held against (pgbench over the lifecycle's SQL, a minimal ingress, raw aio-pika, a minimal order app) at
# the same loads; prints the table, writes benchmarks/results/{full,quick}.{json,png}. Takes
# /tmp/payments-system.lock itself. QUICK=1 is CI-sized (about a minute); BENCH_ARGS passes options
# (--concurrency 16,64 --rate 40 --lifecycles 500 …; --help lists them). docs/performance.md explains it
bench: install services
	$(BIN)/python -m benchmarks.bench $(if $(QUICK),--quick) $(BENCH_ARGS)

# the growth run: each load level of `make bench` on its empty database, then on one with 1,000,000 settled
# orders and every row their lifecycles left preloaded (benchmarks/preload.py, a few minutes before the
# system starts), no bounds; prints both tables and the ratios (throughput within 10 %, p99 within 1.5x),
# writes benchmarks/results/growth.json. Takes /tmp/payments-system.lock itself. BENCH_ARGS passes options
# (--preload 200000 --concurrency 16 --lifecycles 500 …)
bench-growth: install services
	$(BIN)/python -m benchmarks.bench --growth $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .run .mypy_cache .ruff_cache
