# Two entry points: `make quickstart` (the main job) and `make test`.
# Both create .venv/ on first use and reinstall only when setup.py changes.
PYTHON ?= python3.11
VENV := .venv
STAMP := $(VENV)/.installed-stamp
PY := $(VENV)/bin/python
QUICKSTART_OUT ?= runs/quickstart
PYTEST_ARGS ?=

.PHONY: venv quickstart test test-all lint bench clean-venv chromium

venv: $(STAMP)

$(STAMP): setup.py
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found; install Python 3.11 or run 'make PYTHON=/path/to/python3.11'"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip wheel setuptools
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# Raw code -> corpus -> tokenizer -> pretrain -> anneal -> SFT -> HumanEval -> report.html
# (about 20 minutes on 2 CPU cores; a re-run skips finished stages).
quickstart: $(STAMP)
	$(VENV)/bin/opencoder quickstart --output $(QUICKSTART_OUT)

# Core suite: the linter (ruff.toml), then everything but tests marked slow or gpu (CI runs
# this on 2 cores).
test: $(STAMP) chromium lint
	$(PY) -m pytest -q -n 2 -m "not slow and not gpu" $(PYTEST_ARGS) tests

test-all: $(STAMP) chromium lint
	$(PY) -m pytest -q -n 2 $(PYTEST_ARGS) tests

lint: $(STAMP)
	$(VENV)/bin/ruff check .

# Headless Chromium renders report.html in the tests (Debian's `chromium` package). Installed
# here when missing and apt-get is usable (root); elsewhere that one test skips, saying so.
chromium:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    echo "installing chromium (apt-get) for the report screenshot test"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; \
	  else echo "note: chromium not found (Debian: sudo apt-get install chromium); the report screenshot test will skip"; fi; }

clean-venv:
	rm -rf $(VENV)
