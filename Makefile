# Two commands matter: `make demo` (install + run the whole pipeline on the demo org)
# and `make test` (install the dev extras + run the test suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test ui install install-dev system-deps lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[pm4py]'
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

demo: install
	$(BIN)/l2c demo

# The report test renders in Debian's headless Chromium; install it when we can (root + apt).
system-deps:
	@if ! command -v chromium >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian's chromium for the report test"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "note: chromium not found and not root: the browser test of the report will be skipped"; fi; \
	fi

test: install-dev system-deps
	$(BIN)/python -m pytest $(PYTEST_ARGS)

ui: install
	$(BIN)/l2c ui

lint: install-dev
	$(BIN)/ruff check .

bench: install-dev
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) data dbt_project/target dbt_project/logs
