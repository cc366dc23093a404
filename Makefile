# ketaflow: `make run` to try it, `make test` to check it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP_RUN := $(VENV)/.installed-run
STAMP_TEST := $(VENV)/.installed-test
export KETAFLOW_MODE ?= demo

.PHONY: run test lint bench setup clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP_RUN): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(STAMP_TEST): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test,dev]'
	touch $@ $(STAMP_RUN)

setup: $(STAMP_RUN)

## Set up, migrate the embedded SQLite database under ./var, seed demo data, serve on :8000.
run: $(STAMP_RUN)
	$(BIN)/ketaflow db upgrade
	$(BIN)/ketaflow demo seed
	$(BIN)/ketaflow serve

## Set up with the test extras and run the whole suite (SQLite, PostgreSQL, browser).
test: $(STAMP_TEST)
	$(BIN)/pytest

lint: $(STAMP_TEST)
	$(BIN)/ruff check src tests benchmarks migrations
	$(BIN)/mypy
	$(BIN)/lint-imports

## Benchmarks against peer tools (installs the peers into .venv-bench).
bench: $(STAMP_TEST)
	$(MAKE) -C . bench-run

bench-run:
	@echo "benchmarks are added by the domain issues (see benchmarks/)"

clean:
	rm -rf $(VENV) .venv-bench .pytest_cache .mypy_cache .ruff_cache test-artifacts
