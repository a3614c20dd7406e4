# Quick start: `make demo` and `make test` work on a fresh machine with python3 (>= 3.10),
# make and git; everything else is installed into .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev
DEMO_DIR ?= /tmp/tac-bootstrap-demo

.PHONY: demo test lint typecheck unit check-base base bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	rm -rf $(DEMO_DIR)
	$(BIN)/tac-bootstrap init demo-app -o $(DEMO_DIR) --yes
	@echo
	@echo "== Generated files in $(DEMO_DIR)/demo-app =="
	@cd $(DEMO_DIR)/demo-app && find . -type f -not -path './.git/*' | sort
	@echo
	@echo "== The schema loads into SQLite =="
	$(BIN)/python -c "import sqlite3; c = sqlite3.connect(':memory:'); c.executescript(open('$(DEMO_DIR)/demo-app/adws/schema/schema_orchestrator.sql').read()); print(sorted(r[0] for r in c.execute(\"select name from sqlite_master where type in ('table','index','trigger') and name not like 'sqlite_%'\")))"
	@echo
	@echo "== Re-running is idempotent =="
	$(BIN)/tac-bootstrap render $(DEMO_DIR)/demo-app --check

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

check-base: $(STAMP)
	$(BIN)/tac-bootstrap render . --check

unit: $(STAMP)
	$(BIN)/python -m pytest -q

test: lint typecheck check-base unit

# Regenerate this repo's BASE layer (adws/ ...) from the templates after changing them.
base: $(STAMP)
	$(BIN)/tac-bootstrap render . --force

bench: $(STAMP)
	$(BIN)/python bench/bench_cli_startup.py
	$(BIN)/python bench/bench_generate.py
	$(BIN)/python bench/bench_database.py

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache
