"""Fixtures for the agentic layer's tests: a throwaway database, run directory and fake agent.

The tests run the real workflow scripts and hook against tests/fake_claude.py, which prints
the agent CLI's stream-json output; no model is needed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ADWS_DIR = Path(__file__).resolve().parent.parent
PROJECT_ROOT = ADWS_DIR.parent
FAKE_CLAUDE = Path(__file__).resolve().parent / "fake_claude.py"
COST = 0.015625  # what the fake charges per successful call (its COST_PER_CALL)
# The fake's final usage (its modelUsage): 24 input, 100 cache write, 400 cache read, 60 output.
TOKENS = {"input": 24, "cache_write": 100, "cache_read": 400, "output": 60}

sys.path.insert(0, str(ADWS_DIR))

from adw_modules.adw_database import OrchestratorDB  # noqa: E402 (needs ADWS_DIR on the path)

INHERITED_VARIABLES = (
    "TAC_AGENT_ID",
    "TAC_ADW_ID",
    "FAKE_CLAUDE_FAIL_ON",
    "FAKE_CLAUDE_RATE_LIMIT",
    "FAKE_CLAUDE_QUOTA_MODEL",
    "FAKE_CLAUDE_CRASH",
    "FAKE_CLAUDE_TESTS_FAIL",
    "FAKE_CLAUDE_CLASSIFY",
    "FAKE_CLAUDE_PLAN_QUESTIONS",
    "FAKE_CLAUDE_BUILD_WRITES",
    "FAKE_CLAUDE_FIX_CREATES",
    "FAKE_CLAUDE_REVIEW_BLOCKERS",
    "FAKE_CLAUDE_HANG_ON",
    "TAC_WORKTREE",
    "TAC_PORT_BASE",
    "TAC_PORT_RANGE",
)
# The layer's tests run the workflows in the project itself (this checkout), so they must
# never branch, commit or make worktrees there: isolation none, no commits, and check
# commands that only report (the project's real test command would run these very tests).
CHECKS = {
    "test": f'"{sys.executable}" -c "print(\'3 passed\')"',
    "lint": f'"{sys.executable}" -c "print(\'lint clean\')"',
    "typecheck": "",
}
OVERRIDES = {
    "workflow": {"isolation": "none", "commit": False, "test_attempts": 2},
    "commands": CHECKS,
    "issues": {"source": "local"},
}


@pytest.fixture
def layer_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """Environment for workflow runs: database, run state, hook fallback and fake CLI in tmp."""
    values = {
        "TAC_ORCHESTRATOR_DB": str(tmp_path / "orchestrator.db"),
        "TAC_ADW_RUNS_DIR": str(tmp_path / "runs"),
        "TAC_HOOK_FALLBACK_LOG": str(tmp_path / "hooks-fallback.jsonl"),
        "CLAUDE_CODE_PATH": str(FAKE_CLAUDE),
        "FAKE_CLAUDE_STATE_DIR": str(tmp_path / "fake-state"),
        "ADW_RETRY_BASE_SECONDS": "0.01",
        "TAC_PYTHON": sys.executable,
        "TAC_ADW_OVERRIDES": json.dumps(OVERRIDES),
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    # Run inside a workflow (an agent running these tests) or with failure injection exported,
    # the outer values must not leak into the runs under test.
    for key in INHERITED_VARIABLES:
        monkeypatch.delenv(key, raising=False)
    yield values


def run_script(
    script: str, *args: str, env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run an adws/ script as a real process, from a directory that is not the project."""
    return subprocess.run(
        [sys.executable, str(ADWS_DIR / script), *args],
        cwd=Path(env["TAC_ADW_RUNS_DIR"]).parent,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture
def database(layer_env: dict[str, str]) -> str:
    """The test's database, created and migrated (the hook never creates one)."""
    OrchestratorDB.open().close()
    return layer_env["TAC_ORCHESTRATOR_DB"]


@pytest.fixture
def agent_id(database: str) -> str:
    with OrchestratorDB.open() as db:
        owner = db.register_orchestrator_agent("adw_build", "builder")
        return db.start_agent(owner.id, "adw-hooks", adw_id="adw-hooks", name="build").id
