# Quick start: `make demo` and `make test` work on a fresh machine with python3 (>= 3.10),
# make and git; everything else is installed into .venv.
# .venv gets the newest supported Python found in pyenv's versions (the main test run), else
# python3; `make test` also runs the suite on the oldest (noxfile.py, OLDEST_PYTHON).
PYENV_PYTHONS := $(sort $(wildcard $(or $(PYENV_ROOT),$(HOME)/.pyenv)/versions/3.1[0-3].*/bin/python3.1[0-3]))
PYTHON ?= $(or $(lastword $(PYENV_PYTHONS)),python3)
OLDEST_PYTHON := 3.10
# pytest-xdist: one worker per core, tests handed out as workers free up (their times are uneven).
TEST_WORKERS ?= auto
# More pytest options for both runs, e.g. `make test PYTEST_ARGS=--durations=30`.
PYTEST_ARGS ?=
PYTEST_PARALLEL := -n $(TEST_WORKERS) --dist worksteal
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev
DEMO_DIR ?= /tmp/tac-bootstrap-demo
# The real Claude Code CLI for the test suite, pinned, in an ignored project-local folder.
CLAUDE_CODE_VERSION := 2.1.332
CLAUDE_DIR := .tools/claude-code
CLAUDE_STAMP := $(CLAUDE_DIR)/.installed-$(CLAUDE_CODE_VERSION)

.PHONY: demo test static lint typecheck unit oldest-python check-base base bench clean claude-cli \
	templates

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml hatch_build.py | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The install's build hook compiles the templates into Python modules (hatch_build.py); a
# checkout's later edits (renames and deletions too) are compiled again here, when the index
# no longer matches the templates (the renderer would fall back to compiling them from source,
# and the test of the installed modules would fail).
PACKAGE := tac_bootstrap_cli/tac_bootstrap
templates: | $(STAMP)
	@$(BIN)/python -m tac_bootstrap.infrastructure.precompiled_templates

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

demo: $(STAMP) templates
	rm -rf $(DEMO_DIR)
	$(BIN)/tac-bootstrap init demo-app -o $(DEMO_DIR) --yes
	@# A project has code of its own: one test, so the run's checks have something to judge.
	mkdir -p $(DEMO_DIR)/demo-app/tests && cp docs/demo/test_health.py $(DEMO_DIR)/demo-app/tests/
	cd $(DEMO_DIR)/demo-app && git add tests && \
		git -c user.name=demo -c user.email=demo@example.com commit -q -m "A first test"
	@echo
	@echo "== Generated files in $(DEMO_DIR)/demo-app =="
	@cd $(DEMO_DIR)/demo-app && find . -type f -not -path './.git/*' | sort
	@echo
	@echo "== A whole ADW run (plan -> build -> test -> review -> document) against the stand-in agent CLI =="
	@echo "   (in its own worktree and branch; the test phase runs the project's own test, lint and"
	@echo "   typecheck commands with .venv's tools)"
	cd $(DEMO_DIR)/demo-app && PATH="$(CURDIR)/$(BIN):$$PATH" CLAUDE_CODE_PATH=adws/tests/fake_claude.py \
		TAC_PYTHON=$(CURDIR)/$(BIN)/python \
		$(CURDIR)/$(BIN)/python adws/adw_sdlc.py "Add a health-check endpoint" --type feature --adw-id demo0001
	$(BIN)/tac-bootstrap runs --project $(DEMO_DIR)/demo-app
	@echo
	@echo "== What the orchestrator database recorded =="
	$(BIN)/tac-bootstrap db status --project $(DEMO_DIR)/demo-app
	$(BIN)/tac-bootstrap db stats --by model --project $(DEMO_DIR)/demo-app
	$(BIN)/tac-bootstrap db logs -n 12 --project $(DEMO_DIR)/demo-app
	@echo
	@echo "== Re-rendering is idempotent =="
	$(BIN)/tac-bootstrap render $(DEMO_DIR)/demo-app --check
	@echo
	@echo "== Watch it in the dashboard (runs, the run's timeline and events live, costs; Ctrl-C stops it) =="
	@echo "   $(BIN)/tac-bootstrap dashboard --project $(DEMO_DIR)/demo-app --open"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# One after the other: the second run reuses the first one's .mypy_cache (the standard library
# and third-party modules), which costs less than a second run in parallel. adws/conftest.py is
# runtime/pytest_boundary.py, which the first run checks (two conftest modules would clash).
typecheck: $(STAMP)
	$(BIN)/mypy
	MYPYPATH=adws/tests:adws $(BIN)/mypy --explicit-package-bases --exclude '^adws/conftest\.py$$' \
		adws .claude/hooks

check-base: $(STAMP)
	$(BIN)/tac-bootstrap render . --check

# The static checks side by side (each one's output kept together); any failure fails.
static: $(STAMP)
	$(MAKE) --no-print-directory -j3 --output-sync=target lint typecheck check-base

unit: $(STAMP) templates claude-cli
	$(BIN)/python -m pytest -q $(PYTEST_PARALLEL) $(PYTEST_ARGS)

# The oldest Python: the suite minus the PostgreSQL, real-CLI and browser groups (they test a
# server, a node program and chromium running our page's script, the same on every Python; the
# dashboard's Python side runs on it in the HTTP and live-stream tests; the main run has them
# all). Skips under a banner when that Python is missing, fails then where TAC_REQUIRE_PYTHONS
# names it (.ci/run).
oldest-python: $(STAMP) templates
	$(BIN)/nox -s tests-$(OLDEST_PYTHON) -- -q $(PYTEST_PARALLEL) \
		-m "not postgres and not real_cli and not browser" $(PYTEST_ARGS)

test: $(STAMP) claude-cli
	$(MAKE) --no-print-directory static
	$(MAKE) --no-print-directory unit
	$(MAKE) --no-print-directory oldest-python

# Regenerate this repo's BASE layer (adws/ ...) from the templates after changing them.
base: $(STAMP)
	$(BIN)/tac-bootstrap render . --force

# cookiecutter and copier (the `bench` extra) run beside `init` in bench_generate.py.
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python bench/bench_cli_startup.py
	$(BIN)/python bench/bench_generate.py
	$(BIN)/python bench/bench_database.py
	$(BIN)/python bench/bench_db_copy.py
	$(BIN)/python bench/bench_guard.py
	$(BIN)/python bench/bench_hooks.py
	$(BIN)/python bench/bench_transcripts.py

clean:
	rm -rf $(VENV) .nox .tools build dist .pytest_cache .mypy_cache .ruff_cache $(PACKAGE)/_compiled_templates
