# Two entry points: `make quickstart` (the main job) and `make test`.
# Both create .venv/ on first use and reinstall only when setup.py changes.
PYTHON ?= python3.11
VENV := .venv
STAMP := $(VENV)/.installed-stamp
PY := $(VENV)/bin/python
QUICKSTART_OUT ?= runs/quickstart
PYTEST_ARGS ?=

.PHONY: venv quickstart test test-all bench clean-venv

venv: $(STAMP)

$(STAMP): setup.py
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found; install Python 3.11 or run 'make PYTHON=/path/to/python3.11'"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip wheel setuptools
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

quickstart: $(STAMP)
	$(VENV)/bin/opencoder quickstart --output $(QUICKSTART_OUT)

# Core suite: everything but tests marked slow or gpu (CI runs this on 2 cores).
test: $(STAMP)
	$(PY) -m pytest -q -n 2 -m "not slow and not gpu" $(PYTEST_ARGS) tests

test-all: $(STAMP)
	$(PY) -m pytest -q -n 2 $(PYTEST_ARGS) tests

clean-venv:
	rm -rf $(VENV)
