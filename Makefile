# The two commands: `make run` (set up and start the platform) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
# The demo's coordinator account (a local demo only: set your own for anything else).
DEMO_USER ?= coordinator@example.org
DEMO_PASSWORD ?= eas-demo-password

.PHONY: run test lint format setup clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall when the project's dependencies change.
$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed-run

setup: $(VENV)/.installed-run

run: $(VENV)/.installed-run
	$(BIN)/eas db upgrade
	$(BIN)/eas study create protocols/ai-connection.yaml
	$(BIN)/eas participants import ai-connection protocols/demo-participants.csv --start today
	$(BIN)/eas simulate --into ai-connection --history-days 3
	$(BIN)/eas users create $(DEMO_USER) --name "Demo coordinator" --password "$(DEMO_PASSWORD)" --if-missing
	$(BIN)/eas users grant $(DEMO_USER) ai-connection owner
	@echo "eas is serving the demo study on http://$(HOST):$(PORT)/ (sign in as $(DEMO_USER), password $(DEMO_PASSWORD)); prompts arrive in the phone simulator: http://$(HOST):$(PORT)/simulator"
	$(BIN)/eas run --host $(HOST) --port $(PORT)

# The suite on every core (pytest-xdist), each test file whole on one worker: a file's
# module-scoped fixtures (a served app, a browser, a simulated history) are made once.
# `make test PYTEST_WORKERS=0` runs it in this one process.
PYTEST_WORKERS ?= auto
PYTEST_PARALLEL := -n $(PYTEST_WORKERS) --dist loadfile

test: $(VENV)/.installed-test lint
	$(BIN)/pytest $(PYTEST_PARALLEL)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed-test
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
