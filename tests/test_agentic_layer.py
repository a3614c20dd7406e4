"""The agentic layer in a freshly generated project: its own tests that use its generated
files, a whole ADW run against the stand-in agent CLI recorded in the project's default
database, a failed run and its resume, and the per-language slash commands and hooks.

Everything runs as real processes: `tac-bootstrap init`, the project's workflow scripts, the
project's hook (started by the fake CLI from .claude/settings.json) and `tac-bootstrap db`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from .conftest import ProjectFactory, run_cli, tree_snapshot

COST = 0.015625  # what the fake agent charges per successful call (exact in binary)
INPUT_TOKENS = 24  # uncached input tokens per call (cache writes and reads are apart)
OUTPUT_TOKENS = 60
PHASES = ("plan", "build", "test", "review", "document")
AGENT_PHASES = ("plan", "build", "review", "document")  # test runs the project's commands
# The project's own commands would need its dependencies installed: these only report.
CHECKS = {"test": "echo 3 passed", "lint": "echo lint clean", "typecheck": ""}
OVERRIDES = json.dumps({"commands": CHECKS})
HOOK_EVENTS = {"UserPromptSubmit", "PreToolUse", "PostToolUse", "Stop"}
ISSUE = "Add a health-check endpoint"
BUILD_ERROR = "Execution failed while handling '/implement'"

# Variables that would redirect or break the runs under test if the caller had them set.
OUTER_VARIABLES = (
    "TAC_ORCHESTRATOR_DB",
    "TAC_ADW_RUNS_DIR",
    "TAC_HOOK_FALLBACK_LOG",
    "TAC_AGENT_ID",
    "TAC_ADW_ID",
    "TAC_PYTHON",
    "CLAUDE_CODE_PATH",
    "FAKE_CLAUDE_FAIL_ON",
    "FAKE_CLAUDE_RATE_LIMIT",
    "FAKE_CLAUDE_QUOTA_MODEL",
    "FAKE_CLAUDE_CRASH",
    "FAKE_CLAUDE_TESTS_FAIL",
    "FAKE_CLAUDE_STATE_DIR",
    "TAC_ADW_OVERRIDES",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in OUTER_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def generate(tmp_path: Path, name: str = "demo", *options: str) -> Path:
    result = run_cli("init", name, "-o", tmp_path / "out", "--yes", *options)
    assert result.returncode == 0, result.stderr
    return tmp_path / "out" / name


@pytest.fixture
def project(new_project: ProjectFactory, tmp_path: Path) -> Path:
    return new_project(tmp_path / "out")


def agent_env(project: Path, tmp_path: Path, **extra: str) -> dict[str, str]:
    """What a workflow needs to run against the project's own fake agent CLI; no database,
    run directory or fallback log settings, so the project's defaults are used."""
    return {
        **os.environ,
        "CLAUDE_CODE_PATH": str(project / "adws" / "tests" / "fake_claude.py"),
        "TAC_PYTHON": sys.executable,  # the hooks need pydantic and pyyaml
        "FAKE_CLAUDE_STATE_DIR": str(tmp_path / "fake-state"),
        "ADW_RETRY_BASE_SECONDS": "0.01",
        "TAC_ADW_OVERRIDES": OVERRIDES,
        **extra,
    }


def run_workflow(
    project: Path, tmp_path: Path, *args: str, **extra: str
) -> subprocess.CompletedProcess[str]:
    """Run the project's adw_sdlc.py from a directory outside the project."""
    return subprocess.run(
        [sys.executable, str(project / "adws" / "adw_sdlc.py"), *args],
        cwd=tmp_path,
        env=agent_env(project, tmp_path, **extra),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
    )


def db_json(project: Path, *args: str) -> Any:
    result = run_cli("db", *args, "--json", "--project", project)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def session_row(project: Path, adw_id: str) -> dict[str, Any]:
    stats = db_json(project, "stats", "--by", "session")
    (row,) = [r for r in stats["rows"] if r["key"] == adw_id]
    assert isinstance(row, dict)
    return row


def logs_by_agent(logs: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Agent log lines grouped by agent id, oldest first."""
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in reversed(logs):
        if record["source"] == "agent":
            grouped[record["agent_id"]].append(record)
    return dict(grouped)


def phase_of(records: list[dict[str, Any]]) -> str:
    """The phase an agent ran, from its first lifecycle line ('build phase started ...')."""
    first: str = next(r["message"] for r in records if r["log_type"] == "lifecycle")
    phase = first.split()[0]
    assert first.startswith(f"{phase} phase started"), first
    return phase


def without_caches(snapshot: dict[str, bytes]) -> dict[str, bytes]:
    return {path: data for path, data in snapshot.items() if "__pycache__" not in path}


# The suite runs this repository's own adws/tests in full (testpaths); they are the same bytes
# in every generated project. What only a fresh project shows is that they pass against ITS
# generated hook, settings and schema, for a non-default config, and write nothing into it:
# so the tests that go through those files run here, in a fresh TypeScript project.
LAYER_TESTS_THROUGH_GENERATED_FILES = (
    "adws/tests/test_adw_workflows.py::test_sdlc_end_to_end",
    "adws/tests/test_adw_hooks.py::test_settings_json_runs_the_hook_for_every_event_the_cli_fires",
    "adws/tests/test_adw_hooks.py::test_events_of_a_workflow_agent_go_to_agent_logs",
    "adws/tests/test_adw_hook_imports.py::test_the_recorder_imports_nothing_outside_the_standard_library",
)


def test_generated_layer_tests_pass(new_project: ProjectFactory, tmp_path: Path) -> None:
    project = new_project(tmp_path / "out", "ts-app", "-l", "typescript", "-p", "pnpm")
    before = without_caches(tree_snapshot(project))
    tests = LAYER_TESTS_THROUGH_GENERATED_FILES
    result = subprocess.run(
        [sys.executable, "-m", "pytest", *tests, "-q", "-p", "no:cacheprovider"],
        cwd=project,
        env=dict(os.environ),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=600,
    )
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert summary.startswith(f"{len(tests)} passed"), summary
    assert "failed" not in summary
    assert "skipped" not in summary
    # The layer's tests keep their database, runs and plan files out of the project.
    assert without_caches(tree_snapshot(project)) == before


def test_sdlc_run_is_recorded_in_the_default_database(project: Path, tmp_path: Path) -> None:
    adw_id = "demo0001"
    run = run_workflow(project, tmp_path, ISSUE, "--type", "feature", "--adw-id", adw_id)
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)
    assert summary["adw_id"] == adw_id
    # The run worked in its own worktree (the generated project is a git repository).
    worktree = Path(summary["worktree"])
    assert worktree == (project / "trees" / adw_id).resolve()
    assert (worktree / summary["plan_file"]).is_file()
    assert not (project / summary["plan_file"]).exists()
    state = json.loads((project / "logs" / "adw" / adw_id / "adw_state.json").read_text())
    assert {name: phase["status"] for name, phase in state["phases"].items()} == dict.fromkeys(
        PHASES, "completed"
    )

    status = db_json(project, "status")
    assert status["source"] == "default"
    assert status["path"] == str(project / "adws" / "schema" / "orchestrator.db")
    assert (project / "adws" / "schema" / "orchestrator.db").is_file()

    row = session_row(project, adw_id)
    assert row["prompts"] == 4
    assert row["input_tokens"] == 4 * INPUT_TOKENS
    assert row["output_tokens"] == 4 * OUTPUT_TOKENS
    assert row["cost_usd"] == 4 * COST

    logs = db_json(project, "logs", "-n", "500")["logs"]
    assert len(logs) < 500  # the whole run fits: nothing was cut off
    agents = logs_by_agent(logs)
    assert sorted(phase_of(records) for records in agents.values()) == sorted(AGENT_PHASES)
    for agent_id, records in agents.items():
        phase = phase_of(records)
        events = {r["details"].get("hook_event_name") for r in records} - {None}
        assert events == HOOK_EVENTS, (phase, events)
        types = [r["log_type"] for r in records]
        assert types.count("tool_call") == 1 and types.count("tool_result") == 1, phase
        assert types.count("prompt") == 1 and types.count("response") == 1, phase
        response = next(r for r in records if r["log_type"] == "response")
        assert response["details"]["cost_usd"] == COST
        [share] = response["details"]["models"]
        assert (share["cache_read_tokens"], share["cache_creation_tokens"]) == (400, 100)
        assert records[-1]["message"] == f"{phase} phase completed", agent_id
        assert {r["log_level"] for r in records} == {"INFO"}
    system = [r["message"] for r in logs if r["source"] == "system"]
    for phase in AGENT_PHASES:
        assert f"adw {adw_id}: {phase} completed" in system
    assert f"adw {adw_id}: test attempt 1: test passed" in system
    assert not (project / "logs" / "hooks-fallback.jsonl").exists()


def test_failed_run_is_recorded_and_resumes(project: Path, tmp_path: Path) -> None:
    adw_id = "demo0002"
    failed = run_workflow(
        project,
        tmp_path,
        ISSUE,
        "--type",
        "feature",
        "--adw-id",
        adw_id,
        FAKE_CLAUDE_FAIL_ON="/implement",
    )
    assert failed.returncode == 1
    assert "Traceback" not in failed.stderr
    assert f"error: build phase failed: {BUILD_ERROR}" in failed.stderr
    assert f"resume with: adw_sdlc.py --adw-id {adw_id}" in failed.stderr

    errors = db_json(project, "logs", "--level", "ERROR", "-n", "500")["logs"]
    messages = [r["message"] for r in errors]
    assert f"build phase failed: {BUILD_ERROR}" in messages
    assert f"prompt failed (fatal): {BUILD_ERROR}" in messages
    assert f"adw {adw_id}: build failed" in messages
    assert {r["log_level"] for r in errors} == {"ERROR"}
    (build_agent,) = {r["agent_id"] for r in errors if r["source"] == "agent"}

    row = session_row(project, adw_id)
    assert row["prompts"] == 2  # the plan's, and the build's failed one
    assert row["cost_usd"] == COST  # the failed call cost nothing
    by_agent = db_json(project, "stats", "--by", "agent", "--session", adw_id)["rows"]
    assert {r["key"]: (r["prompts"], r["cost_usd"]) for r in by_agent}[build_agent] == (1, 0.0)

    resumed = run_workflow(project, tmp_path, "--adw-id", adw_id)
    assert resumed.returncode == 0, resumed.stderr
    assert f"[{adw_id}] plan: already completed, skipped" in resumed.stderr
    row = session_row(project, adw_id)
    assert row["prompts"] == 5
    assert row["cost_usd"] == 4 * COST
    assert row["input_tokens"] == 4 * INPUT_TOKENS
    agents = logs_by_agent(db_json(project, "logs", "-n", "1000")["logs"])
    phases = sorted(phase_of(records) for records in agents.values())
    assert phases == sorted([*AGENT_PHASES, "build"])  # one planner; the build ran twice
    assert agents[build_agent][-1]["message"] == f"build phase failed: {BUILD_ERROR}"
    state = json.loads((project / "logs" / "adw" / adw_id / "adw_state.json").read_text())
    assert state["phases"]["build"]["status"] == "completed"
    assert state["phases"]["build"]["attempts"] == 2


def test_typescript_project_gets_its_own_commands_and_working_hooks(tmp_path: Path) -> None:
    python_project = generate(tmp_path, "py-app")
    ts_project = generate(tmp_path, "ts-app", "-l", "typescript", "-p", "pnpm")

    ts_test = (ts_project / ".claude" / "commands" / "test.md").read_text()
    py_test = (python_project / ".claude" / "commands" / "test.md").read_text()
    assert "pnpm" in ts_test
    assert "pytest" not in ts_test
    assert "pytest" in py_test
    assert "pnpm" not in py_test
    assert ts_test != py_test

    settings = json.loads((ts_project / ".claude" / "settings.json").read_text())
    hook = ts_project / ".claude" / "hooks" / "orchestrator_hook.py"
    assert hook.is_file()
    assert os.access(hook, os.X_OK)
    for event in ("SessionStart", "UserPromptSubmit", "PreToolUse", "PostToolUse", "Stop"):
        commands = [h["command"] for group in settings["hooks"][event] for h in group["hooks"]]
        assert commands, event
        assert commands[0].startswith('exec sh "$CLAUDE_PROJECT_DIR/.claude/hooks/orchestrator')
        guard = '"$CLAUDE_PROJECT_DIR/.claude/hooks/tool_guard.py"'  # PreToolUse only
        assert [guard in c for c in commands[1:]] == ([True] if event == "PreToolUse" else [])
    allowed = settings["permissions"]["allow"]
    assert any("pnpm" in rule for rule in allowed)
    assert not any("pytest" in rule for rule in allowed)

    # The hook command, run through a shell as the CLI runs it, records into the project:
    # before the database exists the event waits in the fallback file, and creating the
    # database records it (in the session's interactive agent).
    command = settings["hooks"]["Stop"][0]["hooks"][0]["command"]
    payload = {"session_id": "s-1", "hook_event_name": "Stop", "stop_hook_active": False}
    result = subprocess.run(
        command,
        shell=True,
        input=json.dumps(payload),
        env={**os.environ, "CLAUDE_PROJECT_DIR": str(ts_project), "TAC_PYTHON": sys.executable},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (result.returncode, result.stdout) == (0, "")
    assert run_cli("db", "init", "--project", ts_project).returncode == 0
    logs = db_json(ts_project, "logs")["logs"]
    assert [(r["source"], r["message"]) for r in logs] == [("agent", "Stop")]
    assert not (ts_project / "logs" / "hooks-fallback.jsonl").exists()
