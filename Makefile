# ClubCRM: two commands do all set-up on a fresh machine with Python 3.11 and git.
#   make demo   create .venv, install, initialise, generate demo data, run the pipeline, then serve
#               the app with the Dagster daemon (schedules, sensors) and web UI beside it
#   make test   create .venv if needed, install, run the whole test suite
# Also: make serve (the app + daemon + UI on the existing data), make scheduler (daemon + UI only).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
DEMO_MEMBERS ?= 20000
DEMO_SEED ?= 42
PORT ?= 8501
DAGSTER_PORT ?= 3000
DAGSTER_HOST ?= 127.0.0.1

.PHONY: install demo serve scheduler test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Re-install whenever the dependency declarations change.
$(VENV)/.installed: pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade "pip==26.3"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[test]"
	touch $@

install: $(VENV)/.installed

demo: install
	$(BIN)/clubcrm init
	$(BIN)/clubcrm demo-data --members $(DEMO_MEMBERS) --seed $(DEMO_SEED)
	$(BIN)/clubcrm pipeline run
	@$(MAKE) --no-print-directory serve

# The Dagster daemon (schedules, sensors, run queue) and web UI start in the background, with
# DAGSTER_HOME = CLUBCRM_HOME/dagster (python -m orchestration.instance prepares it and prints
# it); they stop when the app stops (Ctrl-C). Their logs: daemon.log and webserver.log there.
define START_DAGSTER
export DAGSTER_HOME="$$($(BIN)/python -m orchestration.instance)"; \
$(BIN)/dagster-daemon run -m orchestration.definitions >"$$DAGSTER_HOME/daemon.log" 2>&1 & \
daemon=$$!; \
$(BIN)/dagster-webserver -m orchestration.definitions -h $(DAGSTER_HOST) -p $(DAGSTER_PORT) \
	>"$$DAGSTER_HOME/webserver.log" 2>&1 & \
webserver=$$!; \
trap 'kill $$daemon $$webserver 2>/dev/null; wait $$daemon $$webserver 2>/dev/null; true' EXIT; \
trap 'exit 130' INT TERM HUP; \
echo "Dagster daemon: pid $$daemon, log $$DAGSTER_HOME/daemon.log"; \
echo "Dagster UI: http://$(DAGSTER_HOST):$(DAGSTER_PORT) (log $$DAGSTER_HOME/webserver.log)"
endef

serve: install
	@$(START_DAGSTER); \
	echo "ClubCRM app: http://localhost:$(PORT)"; \
	$(BIN)/clubcrm serve --port $(PORT)

scheduler: install
	@$(START_DAGSTER); \
	echo "Press Ctrl-C to stop."; \
	wait $$daemon $$webserver

# pytest exits 5 when it collects no test: not a failure of the suite.
test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS) || { code=$$?; [ $$code -eq 5 ] && echo 'no tests collected' || exit $$code; }

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Benchmarks (not part of the suite): see docs/benchmarks.md.
bench: install
	$(BIN)/python tests/bench/bench_demo_data.py --members 100000

clean:
	rm -rf var transforms/target transforms/logs
