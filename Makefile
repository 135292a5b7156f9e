# Two commands matter: `make demo` (install + run the whole pipeline on the demo org)
# and `make test` (install the dev extras + run the test suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test ui install install-dev lint bench clean

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

test: install-dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

ui: install
	$(BIN)/l2c ui

lint: install-dev
	$(BIN)/ruff check .

bench: install-dev
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) data dbt_project/target dbt_project/logs
