# Developer entry points. Everything runs from the local virtualenv in $(VENV).

PYTHON      ?= python3
VENV        ?= .venv
HOST        ?= 127.0.0.1
PORT        ?= 8000
PYTEST_ARGS ?=

PIP   := $(VENV)/bin/pip
PY    := $(VENV)/bin/python
# What running needs, and what the tests need on top of it, each installed once per change of the
# project's declared dependencies or of the pinned versions in constraints.txt.
RUN_STAMP  := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test

export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: all install run test lint bench clean

all: test

install: $(TEST_STAMP)

$(PY):
	$(PYTHON) -m venv $(VENV)

$(RUN_STAMP): pyproject.toml constraints.txt | $(PY)
	$(PIP) install --quiet -c constraints.txt -e .
	touch $@

$(TEST_STAMP): pyproject.toml constraints.txt | $(PY)
	$(PIP) install --quiet -c constraints.txt -e '.[test]'
	touch $@ $(RUN_STAMP)

run: $(RUN_STAMP)
	$(VENV)/bin/inspectorate serve --host $(HOST) --port $(PORT)

# pytest's exit status is propagated as-is (including 5 = "no tests collected").
test: $(TEST_STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

# ruff (lint and format) and mypy (types), all configured in pyproject.toml; CI runs it.
lint: $(TEST_STAMP)
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check . && $(VENV)/bin/mypy

bench: $(TEST_STAMP)
	$(PY) -m benchmarks.run

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis .coverage
	find . -path ./.git -prune -o -type d -name __pycache__ -prune -exec rm -rf {} +
