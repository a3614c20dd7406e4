# Quick start: `make demo` and `make test` work on a fresh machine with python3 (>= 3.10),
# make and git; everything else is installed into .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev
DEMO_DIR ?= /tmp/tac-bootstrap-demo
# The real Claude Code CLI for the test suite, pinned, in an ignored project-local folder.
CLAUDE_CODE_VERSION := 2.1.332
CLAUDE_DIR := .tools/claude-code
CLAUDE_STAMP := $(CLAUDE_DIR)/.installed-$(CLAUDE_CODE_VERSION)

.PHONY: demo test lint typecheck unit check-base base bench clean claude-cli

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Without npm the real-CLI tests skip under a banner (or fail where TAC_REQUIRE_CLAUDE=1).
$(CLAUDE_STAMP):
	@if command -v npm >/dev/null 2>&1; then \
		mkdir -p $(CLAUDE_DIR) && \
		for attempt in 1 2 3; do \
			npm install --prefix $(CLAUDE_DIR) --no-audit --no-fund --loglevel=error \
				@anthropic-ai/claude-code@$(CLAUDE_CODE_VERSION) && break; \
			echo "npm install failed (attempt $$attempt of 3)"; sleep 5; \
		done && $(CLAUDE_DIR)/node_modules/.bin/claude --version && touch $@; \
	else echo "npm not found: the real Claude Code CLI tests will be skipped"; fi

claude-cli: $(CLAUDE_STAMP)

demo: $(STAMP)
	rm -rf $(DEMO_DIR)
	$(BIN)/tac-bootstrap init demo-app -o $(DEMO_DIR) --yes
	@echo
	@echo "== Generated files in $(DEMO_DIR)/demo-app =="
	@cd $(DEMO_DIR)/demo-app && find . -type f -not -path './.git/*' | sort
	@echo
	@echo "== A whole ADW run (plan -> build -> test -> review) against the stand-in agent CLI =="
	cd $(DEMO_DIR)/demo-app && CLAUDE_CODE_PATH=adws/tests/fake_claude.py TAC_PYTHON=$(CURDIR)/$(BIN)/python \
		$(CURDIR)/$(BIN)/python adws/adw_sdlc.py "Add a health-check endpoint" --adw-id demo0001
	@echo
	@echo "== What the orchestrator database recorded =="
	$(BIN)/tac-bootstrap db status --project $(DEMO_DIR)/demo-app
	$(BIN)/tac-bootstrap db stats --by model --project $(DEMO_DIR)/demo-app
	$(BIN)/tac-bootstrap db logs -n 12 --project $(DEMO_DIR)/demo-app
	@echo
	@echo "== Re-rendering is idempotent =="
	$(BIN)/tac-bootstrap render $(DEMO_DIR)/demo-app --check

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy
	MYPYPATH=adws/tests:adws $(BIN)/mypy --explicit-package-bases adws .claude/hooks

check-base: $(STAMP)
	$(BIN)/tac-bootstrap render . --check

unit: $(STAMP) claude-cli
	$(BIN)/python -m pytest -q

test: lint typecheck check-base unit

# Regenerate this repo's BASE layer (adws/ ...) from the templates after changing them.
base: $(STAMP)
	$(BIN)/tac-bootstrap render . --force

bench: $(STAMP)
	$(BIN)/python bench/bench_cli_startup.py
	$(BIN)/python bench/bench_generate.py
	$(BIN)/python bench/bench_database.py
	$(BIN)/python bench/bench_hooks.py
	$(BIN)/python bench/bench_transcripts.py

clean:
	rm -rf $(VENV) .tools build dist .pytest_cache .mypy_cache .ruff_cache
