# ClubCRM: two commands do all set-up on a fresh machine with Python 3.11 and git.
#   make demo   create .venv, install, initialise, generate demo data, run the pipeline, serve the app
#   make test   create .venv if needed, install, run the whole test suite
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
DEMO_MEMBERS ?= 20000
DEMO_SEED ?= 42
PORT ?= 8501

.PHONY: install demo test lint bench clean

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
	$(BIN)/clubcrm serve --port $(PORT)

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
