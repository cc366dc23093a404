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

## ruff, mypy and the import contracts (CI runs this as well as `make test`).
lint: $(STAMP_TEST)
	$(BIN)/ruff check src tests benchmarks migrations
	$(BIN)/mypy
	$(BIN)/lint-imports

BENCH := .venv-bench
STAMP_BENCH := $(BENCH)/.installed

# Peers live in their own venv: opentiva's sdist needs Cython and --no-build-isolation.
$(STAMP_BENCH): pyproject.toml benchmarks/requirements-pk.txt
	test -x $(BENCH)/bin/python || $(PYTHON) -m venv $(BENCH)
	$(BENCH)/bin/pip install --quiet --upgrade pip
	$(BENCH)/bin/pip install --quiet numpy scipy cython wheel setuptools
	$(BENCH)/bin/pip install --quiet --no-build-isolation -r benchmarks/requirements-pk.txt
	$(BENCH)/bin/pip install --quiet -e .
	touch $@

## Benchmarks side by side with peer tools, and under load and faults (never part of `make test`).
bench: $(STAMP_BENCH) $(STAMP_TEST)
	$(BENCH)/bin/python benchmarks/bench_pk.py
	$(BIN)/python benchmarks/bench_vitals.py
	$(BIN)/python benchmarks/bench_storm.py
	$(BIN)/python benchmarks/bench_crash.py
	$(BIN)/python benchmarks/bench_mood.py
	$(BIN)/python benchmarks/bench_lifechart.py
	$(BIN)/python benchmarks/bench_schedule.py
	$(BIN)/python benchmarks/bench_fhir_export.py
	$(BIN)/python benchmarks/bench_outcomes.py

clean:
	rm -rf $(VENV) .venv-bench .pytest_cache .mypy_cache .ruff_cache test-artifacts
