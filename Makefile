# Two commands: `make run` (a working Engage on http://127.0.0.1:8000) and `make test` (the whole suite);
# `make test-fast` is the inner loop (no browser, no slow tests, two workers).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test test-fast install lint typecheck messages clean

run: $(STAMP)
	$(BIN)/engage run

# Two pytest workers: most of the suite waits on servers, workers and the browser, not the CPU.
# PYTEST_ARGS adds to the command line (.ci/run uses it to run the browser tests once).
test: $(STAMP)
	$(BIN)/pytest -n 2 $(PYTEST_ARGS)

# One app per worker instead of one per test (tests/conftest.py says how): half the CPU of the lane.
test-fast: $(STAMP)
	ENGAGE_TEST_ONE_APP=1 $(BIN)/pytest -m "not browser and not slow" -n 2

install: $(STAMP)

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Engage needs Python 3.11 or newer (set PYTHON=...)")'
	$(PYTHON) -m venv $(VENV)

# Reinstall when the dependencies change. requirements.lock pins every package for reproducible installs.
$(STAMP): $(BIN)/python pyproject.toml requirements.lock
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev]'
	@touch $(STAMP)

# Style, and the layers of pyproject.toml's import contract (an upward import fails here).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy engage workers

# Refresh every translation catalogue after adding or changing texts: new texts join messages.po
# untranslated; it counts what is untranslated and what the extractor no longer finds.
messages: $(STAMP)
	mkdir -p var
	$(BIN)/pybabel extract -F babel.cfg -k N_ -o var/messages.pot .
	$(BIN)/python -m engage.i18n var/messages.pot engage/locale/zh_CN/LC_MESSAGES

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache test-output
