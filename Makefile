# Developer entry points. Everything runs from the local virtualenv in $(VENV).

PYTHON      ?= python3
VENV        ?= .venv
HOST        ?= 127.0.0.1
PORT        ?= 8000
PYTEST_ARGS ?=

PIP   := $(VENV)/bin/pip
PY    := $(VENV)/bin/python
STAMP := $(VENV)/.installed

export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: all install run test bench clean

all: test

install: $(STAMP)

$(PY):
	$(PYTHON) -m venv $(VENV)

# Re-install whenever pyproject.toml changes.
$(STAMP): pyproject.toml | $(PY)
	$(PIP) install --quiet -e '.[test]'
	touch $@

run: $(STAMP)
	$(VENV)/bin/inspectorate serve --host $(HOST) --port $(PORT)

# pytest's exit status is propagated as-is (including 5 = "no tests collected").
test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) -m benchmarks.run

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis .coverage
	find . -path ./.git -prune -o -type d -name __pycache__ -prune -exec rm -rf {} +
