# OwnPay: `make run` (install + demo server) and `make test` (install + whole suite).
SHELL := /bin/bash
UV_VERSION := 0.13.8
VENV := .venv
PY := $(VENV)/bin/python
UV := $(shell command -v uv 2>/dev/null)
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/$(VENV)

.PHONY: run test install install-system install-test-assets lint typecheck bench clean

$(VENV)/.installed: pyproject.toml uv.lock
	@if ! command -v uv >/dev/null 2>&1; then python3 -m pip install --quiet "uv==$(UV_VERSION)"; fi
	uv sync --frozen
	@touch $@

install: $(VENV)/.installed

# Debian packages the test suite drives: Chromium (browser tests), php-cli (the spec's PHP
# example and webhook receiver snippets), wrk (benchmarks), PgBouncer (the transaction
# pooling tests).  Installed only when missing.
install-system:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v php >/dev/null 2>&1 || missing="$$missing php-cli"; \
	command -v wrk >/dev/null 2>&1 || missing="$$missing wrk"; \
	test -x /usr/sbin/pgbouncer || missing="$$missing pgbouncer"; \
	test -f /usr/share/fonts/truetype/noto/NotoSansBengali-Regular.ttf || missing="$$missing fonts-noto-core"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

# Browser-side test tools from npm, by name and version (never copied into the repository):
# axe-core for the accessibility pass over every dashboard page.
AXE_VERSION := 4.14.1
AXE := $(VENV)/node/node_modules/axe-core/axe.min.js
$(AXE):
	npm install --silent --no-audit --no-fund --prefix $(VENV)/node axe-core@$(AXE_VERSION)

install-test-assets: $(AXE)

run: install
	$(VENV)/bin/ownpay quickstart

# Three workers on two cores: most tests wait on sockets and databases, not the CPU.  Work
# stealing keeps the slow end-to-end tests from queuing behind one worker at the end; the
# 40 slowest tests are listed at the end of the run (where the time goes).
test: install install-system install-test-assets
	$(PY) -m pytest -n 3 --dist worksteal --durations=40 --cov --cov-report=html:test-output/coverage

lint: install
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/mypy src
	$(VENV)/bin/lint-imports

bench: install install-system
	$(PY) bench/create_intents.py

clean:
	rm -rf $(VENV) data test-output .pytest_cache
