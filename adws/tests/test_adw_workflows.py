"""The workflow scripts end to end: real processes, the project's real hooks, the fake agent.

Each run records into a database and run directory in tmp (conftest.layer_env), works in the
project itself (isolation none, no commits: conftest.OVERRIDES) and runs check commands that
only report. The plan phase makes the fake agent write a real plan file into the project's
specs directory, as the real agent would; the `adw_id` fixture deletes it again so the project
is left unchanged.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hook_support import layer_hooks

from adw_modules.adw_project import current_project
from conftest import PROJECT_ROOT, run_script

COST = 0.015625  # per successful fake call
INPUT_TOKENS = 24  # uncached input tokens of one call (cache writes and reads are apart)
OUTPUT_TOKENS = 60
PHASES = ["plan", "build", "test", "review", "document"]
AGENT_PHASES = ["plan", "build", "review", "document"]  # the test phase runs commands
HOOK_EVENTS = {"UserPromptSubmit", "PreToolUse", "PostToolUse", "Stop"}
ISSUE = "Add a health-check endpoint"
SPECS_DIR = current_project().path("specs_dir", "specs")
WORKFLOWS = [
    "plan",
    "build",
    "test",
    "review",
    "patch",
    "document",
    "ship",
    "plan_build",
    "plan_build_test",
    "plan_build_test_review",
    "sdlc",
    "sdlc_ship",
]
SCRIPTS = [f"adw_{name}.py" for name in WORKFLOWS]


@pytest.fixture
def adw_id() -> Iterator[str]:
    """A fresh run id; afterwards every plan file the fake wrote for it is removed."""
    value = "t" + uuid.uuid4().hex[:8]
    yield value
    for plan in SPECS_DIR.glob(f"*-{value}-*.md"):
        plan.unlink()


def query(env: dict[str, str], sql: str, *params: Any) -> list[sqlite3.Row]:
    with sqlite3.connect(env["TAC_ORCHESTRATOR_DB"]) as conn:
        conn.row_factory = sqlite3.Row
        return list(conn.execute(sql, params))


def state_of(env: dict[str, str], adw_id: str) -> dict[str, Any]:
    path = Path(env["TAC_ADW_RUNS_DIR"]) / adw_id / "adw_state.json"
    state: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return state


def statuses(state: dict[str, Any]) -> dict[str, str]:
    return {name: phase["status"] for name, phase in state["phases"].items()}


def agents(env: dict[str, str], adw_id: str) -> list[sqlite3.Row]:
    return query(
        env,
        "SELECT a.*, o.name AS owner, o.agent_type FROM agents a "
        "JOIN orchestrator_agents o ON o.id = a.orchestrator_agent_id "
        "WHERE a.session_id = ? ORDER BY a.rowid",
        adw_id,
    )


def hook_events(env: dict[str, str], agent_id: str) -> set[str]:
    rows = query(
        env,
        "SELECT details FROM agent_logs WHERE agent_id = ? AND log_type IN "
        "('hook', 'tool_call', 'tool_result')",
        agent_id,
    )
    return {json.loads(r["details"]).get("hook_event_name") for r in rows}


def remove_plan(state: dict[str, Any]) -> None:
    """Delete the plan file the run names (inside the project), as soon as it is checked."""
    plan = PROJECT_ROOT / state["plan_file"]
    assert plan.resolve().is_relative_to(PROJECT_ROOT)
    plan.unlink(missing_ok=True)


def test_sdlc_end_to_end(layer_env: dict[str, str], adw_id: str) -> None:
    run = run_script("adw_sdlc.py", ISSUE, "--type", "feature", "--adw-id", adw_id, env=layer_env)
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    summary = json.loads(run.stdout)
    assert summary["adw_id"] == adw_id
    assert (summary["phases"], summary["workflow"], summary["status"]) == (
        PHASES,
        "sdlc",
        "completed",
    )
    assert summary["worktree"] is None  # isolation none: the run worked in the checkout
    assert summary["pr_url"] is None

    state = state_of(layer_env, adw_id)
    check_completed_run(layer_env, adw_id, state, summary)
    instances = agents(layer_env, adw_id)
    check_phase_agents(adw_id, instances, state)
    check_phase_prompts(layer_env, adw_id, state)
    check_hook_records(layer_env, adw_id, instances)


def check_completed_run(
    layer_env: dict[str, str], adw_id: str, state: dict[str, Any], summary: dict[str, Any]
) -> None:
    """The run's state: every phase completed once, the plan written, each raw stream kept."""
    assert statuses(state) == dict.fromkeys(PHASES, "completed")
    assert state["issue"] == ISSUE
    assert state["issue_type"] == "feature"
    plan_name = f"feature-{adw_id}-add-a-healthcheck-endpoint.md"
    assert PROJECT_ROOT / state["plan_file"] == SPECS_DIR / plan_name
    assert summary["plan_file"] == state["plan_file"]
    plan = PROJECT_ROOT / state["plan_file"]
    assert plan.is_file()
    assert f"adw_id: {adw_id}" in plan.read_text(encoding="utf-8")
    remove_plan(state)
    runs = Path(layer_env["TAC_ADW_RUNS_DIR"]) / adw_id
    for phase in PHASES:
        assert state["phases"][phase]["attempts"] == 1
    for phase in AGENT_PHASES:
        raw = (runs / phase / "raw_output.jsonl").read_text(encoding="utf-8").splitlines()
        assert json.loads(raw[-1])["type"] == "result"
    assert not (runs / "test").exists()  # no agent: the checks passed at once
    checks = query(layer_env, "SELECT * FROM run_checks WHERE adw_id = ? ORDER BY id", adw_id)
    assert [(c["phase"], c["attempt"], c["name"], c["exit_code"]) for c in checks] == [
        ("test", 1, "test", 0),
        ("test", 1, "lint", 0),
    ]
    assert "3 passed" in checks[0]["output"]
    assert state["checks_passed"] is True
    (row,) = query(layer_env, "SELECT * FROM runs WHERE adw_id = ?", adw_id)
    assert (row["workflow"], row["status"], row["issue_source"]) == ("sdlc", "completed", "text")
    assert (row["issue_type"], row["worktree"], row["error"]) == ("feature", None, None)


def check_phase_agents(adw_id: str, instances: list[sqlite3.Row], state: dict[str, Any]) -> None:
    """One completed agent instance per agent phase, with its owner, model, cost and tokens."""
    assert [a["name"] for a in instances] == AGENT_PHASES
    assert [a["agent_type"] for a in instances] == [
        "planner",
        "builder",
        "reviewer",
        "documenter",
    ]
    assert [a["owner"] for a in instances] == [f"adw_{p}" for p in AGENT_PHASES]
    assert {a["status"] for a in instances} == {"completed"}
    assert {a["adw_id"] for a in instances} == {adw_id}
    assert all(a["error_message"] is None and a["completed_at"] for a in instances)
    assert {a["working_dir"] for a in instances} == {str(current_project().root)}
    models = current_project().section("agentic").get("models") or {}
    # agents.model is the model the CLI reported running (the alias's full id).
    assert str(models.get("heavy", "opus")) in instances[2]["model"]
    for instance, phase in zip(instances, AGENT_PHASES, strict=True):
        assert state["phases"][phase]["agent_id"] == instance["id"]
        assert instance["total_cost_usd"] == COST
        assert (instance["input_tokens"], instance["output_tokens"]) == (
            INPUT_TOKENS,
            OUTPUT_TOKENS,
        )


def check_phase_prompts(layer_env: dict[str, str], adw_id: str, state: dict[str, Any]) -> None:
    """One completed prompt per phase, with the workflow's commands and exact totals."""
    prompts = query(
        layer_env,
        "SELECT p.* FROM prompts p JOIN agents a ON a.id = p.agent_id WHERE a.session_id = ? "
        "ORDER BY p.rowid",
        adw_id,
    )
    assert [p["status"] for p in prompts] == ["completed"] * 4
    assert [p["prompt_text"].split()[0] for p in prompts] == [
        "/feature",
        "/implement",
        "/review",
        "/document",
    ]
    assert prompts[1]["prompt_text"] == f"/implement {state['plan_file']}"
    (totals,) = query(
        layer_env,
        "SELECT count(*) AS n, sum(p.input_tokens) AS input, sum(p.output_tokens) AS output, "
        "sum(p.cost_usd) AS cost FROM prompts p JOIN agents a ON a.id = p.agent_id "
        "WHERE a.session_id = ?",
        adw_id,
    )
    assert (totals["n"], totals["input"], totals["output"]) == (4, 4 * INPUT_TOKENS, 240)
    assert totals["cost"] == 4 * COST  # exact: the fake's cost is a power of two


def check_hook_records(
    layer_env: dict[str, str], adw_id: str, instances: list[sqlite3.Row]
) -> None:
    """Each phase's hook events in its agent's logs, nothing in the fallback file."""
    layer_hooks(*HOOK_EVENTS)  # the fake CLI runs settings.json's hooks: are they ours?
    for instance in instances:
        assert hook_events(layer_env, instance["id"]) == HOOK_EVENTS, instance["name"]
        tool_calls = query(
            layer_env,
            "SELECT count(*) AS n FROM agent_logs WHERE agent_id = ? AND log_type = 'tool_call'",
            instance["id"],
        )
        assert tool_calls[0]["n"] == 1
    phase_logs = query(
        layer_env, "SELECT message FROM system_logs WHERE component = 'adw' ORDER BY rowid"
    )
    messages = [r["message"] for r in phase_logs]
    assert messages[-1] == f"adw {adw_id}: document completed"
    assert f"adw {adw_id}: test attempt 1: test passed" in messages
    assert not Path(layer_env["TAC_HOOK_FALLBACK_LOG"]).exists()


def test_failed_build_is_recorded_and_resumes(layer_env: dict[str, str], adw_id: str) -> None:
    failing = {**layer_env, "FAKE_CLAUDE_FAIL_ON": "/implement"}
    run = run_script("adw_sdlc.py", ISSUE, "--type", "feature", "--adw-id", adw_id, env=failing)
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    assert run.stdout == ""
    error = "Execution failed while handling '/implement'"
    assert f"error: build phase failed: {error}" in run.stderr
    assert f"resume with: adw_sdlc.py --adw-id {adw_id}" in run.stderr

    state = state_of(layer_env, adw_id)
    assert statuses(state) == {
        "plan": "completed",
        "build": "failed",
        "test": "pending",
        "review": "pending",
        "document": "pending",
    }
    assert state["phases"]["build"]["error"] == error
    check_failed_build(layer_env, adw_id, error)

    (row,) = query(layer_env, "SELECT status, error FROM runs WHERE adw_id = ?", adw_id)
    assert (row["status"], row["error"]) == ("failed", f"build phase failed: {error}")

    resumed = run_script("adw_sdlc.py", "--adw-id", adw_id, env=layer_env)
    assert resumed.returncode == 0, resumed.stderr
    (row,) = query(layer_env, "SELECT status, error FROM runs WHERE adw_id = ?", adw_id)
    assert (row["status"], row["error"]) == ("completed", None)
    assert f"[{adw_id}] plan: already completed, skipped" in resumed.stderr
    state = state_of(layer_env, adw_id)
    assert statuses(state) == dict.fromkeys(PHASES, "completed")
    assert state["phases"]["build"]["attempts"] == 2
    assert state["phases"]["build"]["error"] is None
    remove_plan(state)
    instances = agents(layer_env, adw_id)
    assert [(a["name"], a["status"]) for a in instances] == [
        ("plan", "completed"),
        ("build", "failed"),
        ("build", "completed"),
        ("review", "completed"),
        ("document", "completed"),
    ]
    assert state["phases"]["build"]["agent_id"] == instances[2]["id"]
    (totals,) = query(
        layer_env,
        "SELECT count(*) AS n, sum(p.cost_usd) AS cost FROM prompts p "
        "JOIN agents a ON a.id = p.agent_id WHERE a.session_id = ? AND p.status = 'completed'",
        adw_id,
    )
    assert (totals["n"], totals["cost"]) == (4, 4 * COST)


def check_failed_build(layer_env: dict[str, str], adw_id: str, error: str) -> None:
    """The failed build: its agent failed with the error, its prompt failed, an ERROR log."""
    (planner, builder) = agents(layer_env, adw_id)
    assert (planner["name"], planner["status"]) == ("plan", "completed")
    assert (builder["name"], builder["status"]) == ("build", "failed")
    assert builder["error_message"] == error
    assert builder["completed_at"] is not None
    prompt_statuses = [
        r["status"]
        for r in query(
            layer_env,
            "SELECT p.status FROM prompts p JOIN agents a ON a.id = p.agent_id "
            "WHERE a.session_id = ? ORDER BY p.rowid",
            adw_id,
        )
    ]
    assert prompt_statuses == ["completed", "failed"]
    errors = query(
        layer_env,
        "SELECT message FROM agent_logs WHERE agent_id = ? AND log_level = 'ERROR'",
        builder["id"],
    )
    assert f"build phase failed: {error}" in [r["message"] for r in errors]


def test_single_phase_scripts_continue_a_run(layer_env: dict[str, str], adw_id: str) -> None:
    plan = run_script("adw_plan.py", "--type", "chore", ISSUE, "--adw-id", adw_id, env=layer_env)
    assert plan.returncode == 0, plan.stderr
    state = state_of(layer_env, adw_id)
    assert (PROJECT_ROOT / state["plan_file"]).parent == SPECS_DIR
    assert Path(state["plan_file"]).name.startswith(f"chore-{adw_id}-")
    try:
        for script in ("adw_build.py", "adw_test.py", "adw_review.py", "adw_document.py"):
            run = run_script(script, "--adw-id", adw_id, env=layer_env)
            assert run.returncode == 0, (script, run.stderr)
            assert json.loads(run.stdout.splitlines()[-1])["status"] == "completed"
    finally:
        remove_plan(state)
    assert statuses(state_of(layer_env, adw_id)) == dict.fromkeys(PHASES, "completed")
    assert [a["name"] for a in agents(layer_env, adw_id)] == AGENT_PHASES
    # Each script finished the run's row and the next one reopened it (else it exits 1).
    (row,) = query(layer_env, "SELECT status, workflow FROM runs WHERE adw_id = ?", adw_id)
    assert row["status"] == "completed"


def test_an_issue_file_without_a_type_is_classified(
    layer_env: dict[str, str], adw_id: str, tmp_path: Path
) -> None:
    issue = tmp_path / "issue.md"
    issue.write_text("Login fails with an empty password\n\nIt crashes.\n", encoding="utf-8")
    run = run_script("adw_plan.py", "--issue-file", str(issue), "--adw-id", adw_id, env=layer_env)
    assert run.returncode == 0, run.stderr
    assert f"[{adw_id}] classify: bug" in run.stderr
    state = state_of(layer_env, adw_id)
    remove_plan(state)
    assert (state["issue_type"], state["issue_title"]) == (
        "bug",
        "Login fails with an empty password",
    )
    assert Path(state["plan_file"]).name.startswith(f"bug-{adw_id}-")
    classifier, planner = agents(layer_env, adw_id)
    assert (classifier["name"], classifier["agent_type"], classifier["status"]) == (
        "classify",
        "custom",
        "completed",
    )
    prompt = query(
        layer_env, "SELECT prompt_text FROM prompts WHERE agent_id = ?", classifier["id"]
    )
    assert prompt[0]["prompt_text"].startswith("/classify_issue Login fails")
    assert planner["name"] == "plan"
    (row,) = query(layer_env, "SELECT issue_type FROM runs WHERE adw_id = ?", adw_id)
    assert row["issue_type"] == "bug"


def test_unknown_adw_id(layer_env: dict[str, str]) -> None:
    run = run_script("adw_build.py", "--adw-id", "zz000000", env=layer_env)
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    assert run.stderr.startswith("error: no run with adw_id 'zz000000'")
    assert len(run.stderr.strip().splitlines()) == 1
    assert not Path(layer_env["TAC_ORCHESTRATOR_DB"]).exists()


def test_missing_agent_cli(layer_env: dict[str, str], tmp_path: Path) -> None:
    missing = {**layer_env, "CLAUDE_CODE_PATH": "/nonexistent/claude"}
    run = run_script("adw_sdlc.py", ISSUE, env=missing)
    assert run.returncode == 2
    assert run.stdout == ""
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("error: agent CLI '/nonexistent/claude' not found")
    assert "CLAUDE_CODE_PATH" in lines[0]
    # Nothing was started: no run state, no database.
    assert not Path(layer_env["TAC_ADW_RUNS_DIR"]).exists()
    assert not Path(layer_env["TAC_ORCHESTRATOR_DB"]).exists()


@pytest.mark.parametrize("script", SCRIPTS)
def test_help(layer_env: dict[str, str], script: str) -> None:
    run = run_script(script, "--help", env=layer_env)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith(f"usage: {script}")
    assert "--adw-id" in run.stdout
    assert "CLAUDE_CODE_PATH" in run.stdout
    assert run.stderr == ""
