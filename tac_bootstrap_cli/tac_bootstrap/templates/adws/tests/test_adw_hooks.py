"""The project's real Claude Code hook, run as the agent CLI runs it: a process with JSON on stdin.

Whatever the input or the state of the database, the hook must print nothing and exit 0; what
it cannot record goes to the fallback log (TAC_HOOK_FALLBACK_LOG, in tmp here).
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from adw_modules.adw_database import OrchestratorDB
from adw_modules.adw_project import current_project
from adw_modules.hook_recorder import MAX_TEXT

PROJECT = current_project()
HOOK = PROJECT.path("claude_dir", ".claude") / "hooks" / "orchestrator_hook.py"
SESSION = "0b6c2a5e-3f4d-4e8a-9c1b-7d2e5f6a8b90"


def event(name: str, **fields: Any) -> dict[str, Any]:
    """A hook input with the common fields Claude Code documents for every event."""
    return {
        "session_id": SESSION,
        "transcript_path": f"/home/dev/.claude/projects/demo/{SESSION}.jsonl",
        "cwd": str(PROJECT.root),
        "permission_mode": "default",
        "hook_event_name": name,
        **fields,
    }


PRE_TOOL_USE = event(
    "PreToolUse",
    tool_name="Bash",
    tool_input={"command": "pytest -q", "description": "Run the tests"},
    tool_use_id="toolu_01ABCDEF",
)
POST_TOOL_USE = event(
    "PostToolUse",
    tool_name="Bash",
    tool_input={"command": "pytest -q", "description": "Run the tests"},
    tool_response={"stdout": "3 passed", "stderr": "", "interrupted": False},
    tool_use_id="toolu_01ABCDEF",
)
USER_PROMPT_SUBMIT = event("UserPromptSubmit", prompt="/implement specs/feature-1.md")
STOP = event("Stop", stop_hook_active=False)
EVENTS = [USER_PROMPT_SUBMIT, PRE_TOOL_USE, POST_TOOL_USE, STOP]


def run_hook(
    stdin: str | dict[str, Any], agent_id: str | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run the hook like the CLI does; the layer_env fixture has set database and fallback."""
    environment = {**os.environ, "CLAUDE_PROJECT_DIR": str(PROJECT.root), **env}
    if agent_id is not None:
        environment["TAC_AGENT_ID"] = agent_id
    return subprocess.run(
        [sys.executable, str(HOOK)],
        input=stdin if isinstance(stdin, str) else json.dumps(stdin),
        env=environment,
        capture_output=True,
        text=True,
        timeout=30,  # a guard against hanging, not a measurement
    )


def query(database: str, sql: str, *params: Any) -> list[sqlite3.Row]:
    with sqlite3.connect(database) as conn:
        conn.row_factory = sqlite3.Row
        return list(conn.execute(sql, params))


def fallback_lines(layer_env: dict[str, str]) -> list[dict[str, Any]]:
    path = Path(layer_env["TAC_HOOK_FALLBACK_LOG"])
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture
def agent_id(layer_env: dict[str, str]) -> str:
    with OrchestratorDB.open() as db:
        owner = db.register_orchestrator_agent("adw_build", "builder")
        return db.start_agent(owner.id, "adw-hooks", adw_id="adw-hooks", name="build").id


def test_hook_is_the_one_settings_json_runs() -> None:
    settings_path = PROJECT.path("claude_dir", ".claude") / "settings.json"
    settings = json.loads(settings_path.read_text(encoding="utf-8"))
    for name in ("UserPromptSubmit", "PreToolUse", "PostToolUse", "Stop"):
        commands = [h["command"] for g in settings["hooks"][name] for h in g["hooks"]]
        assert any(HOOK.relative_to(PROJECT.root).as_posix() in c for c in commands), name
    assert HOOK.is_file()


def test_events_of_a_workflow_agent_go_to_agent_logs(
    layer_env: dict[str, str], agent_id: str
) -> None:
    for payload in EVENTS:
        result = run_hook(payload, agent_id)
        assert (result.returncode, result.stdout) == (0, ""), result.stderr
    logs = query(
        layer_env["TAC_ORCHESTRATOR_DB"],
        "SELECT log_type, log_level, message, details FROM agent_logs WHERE agent_id = ? "
        "ORDER BY rowid",
        agent_id,
    )
    assert [(r["log_type"], r["message"]) for r in logs] == [
        ("hook", "UserPromptSubmit: /implement specs/feature-1.md"),
        ("tool_call", "PreToolUse: Bash pytest -q"),
        ("tool_result", "PostToolUse: Bash pytest -q"),
        ("hook", "Stop"),
    ]
    assert {r["log_level"] for r in logs} == {"INFO"}
    details = [json.loads(r["details"]) for r in logs]
    for sent, kept in zip(EVENTS, details, strict=True):
        assert "transcript_path" not in kept
        assert kept == {k: v for k, v in sent.items() if k != "transcript_path"}
    assert query(layer_env["TAC_ORCHESTRATOR_DB"], "SELECT * FROM system_logs") == []
    assert fallback_lines(layer_env) == []


def test_events_outside_a_workflow_go_to_system_logs(layer_env: dict[str, str]) -> None:
    for payload in EVENTS:
        result = run_hook(payload)
        assert (result.returncode, result.stdout) == (0, ""), result.stderr
    logs = query(
        layer_env["TAC_ORCHESTRATOR_DB"],
        "SELECT component, log_level, message, details FROM system_logs ORDER BY rowid",
    )
    assert [r["message"] for r in logs] == [
        "UserPromptSubmit: /implement specs/feature-1.md",
        "PreToolUse: Bash pytest -q",
        "PostToolUse: Bash pytest -q",
        "Stop",
    ]
    assert {r["component"] for r in logs} == {"hook"}
    assert json.loads(logs[1]["details"])["tool_use_id"] == "toolu_01ABCDEF"
    assert query(layer_env["TAC_ORCHESTRATOR_DB"], "SELECT * FROM agent_logs") == []
    assert fallback_lines(layer_env) == []


def test_blank_agent_id_counts_as_outside_a_workflow(layer_env: dict[str, str]) -> None:
    result = run_hook(STOP, agent_id="  ")
    assert (result.returncode, result.stdout) == (0, "")
    assert len(query(layer_env["TAC_ORCHESTRATOR_DB"], "SELECT * FROM system_logs")) == 1


@pytest.mark.parametrize(
    ("stdin", "problem"),
    [
        ("{not json", "JSONDecodeError"),
        ("", "JSONDecodeError"),
        ("[1, 2, 3]", "hook_event_name"),
        ('"PreToolUse"', "hook_event_name"),
        (json.dumps({"session_id": SESSION, "tool_name": "Bash"}), "hook_event_name"),
        (json.dumps({**STOP, "hook_event_name": 7}), "hook_event_name"),
    ],
)
def test_bad_input_goes_to_the_fallback_log(
    layer_env: dict[str, str], agent_id: str, stdin: str, problem: str
) -> None:
    result = run_hook(stdin, agent_id)
    assert (result.returncode, result.stdout) == (0, "")
    lines = fallback_lines(layer_env)
    assert len(lines) == 1
    assert problem in lines[0]["error"]
    assert lines[0]["input"] == stdin
    assert lines[0]["time"].endswith("Z")
    assert query(layer_env["TAC_ORCHESTRATOR_DB"], "SELECT * FROM agent_logs") == []


def test_unknown_agent_goes_to_the_fallback_log(layer_env: dict[str, str], agent_id: str) -> None:
    result = run_hook(PRE_TOOL_USE, "no-such-agent")
    assert (result.returncode, result.stdout) == (0, "")
    lines = fallback_lines(layer_env)
    assert len(lines) == 1
    assert "no-such-agent" in lines[0]["error"]
    assert json.loads(lines[0]["input"]) == PRE_TOOL_USE
    assert query(layer_env["TAC_ORCHESTRATOR_DB"], "SELECT * FROM agent_logs") == []
    # The next event with a good agent id is recorded as usual.
    assert run_hook(PRE_TOOL_USE, agent_id).returncode == 0
    assert len(query(layer_env["TAC_ORCHESTRATOR_DB"], "SELECT * FROM agent_logs")) == 1
    assert len(fallback_lines(layer_env)) == 1


def test_database_is_a_directory(layer_env: dict[str, str], tmp_path: Path) -> None:
    directory = tmp_path / "a-directory.db"
    directory.mkdir()
    result = run_hook(PRE_TOOL_USE, TAC_ORCHESTRATOR_DB=str(directory))
    assert (result.returncode, result.stdout) == (0, "")
    lines = fallback_lines(layer_env)
    assert len(lines) == 1
    assert json.loads(lines[0]["input"]) == PRE_TOOL_USE
    assert list(directory.iterdir()) == []


def test_database_is_not_a_database(layer_env: dict[str, str], tmp_path: Path) -> None:
    not_a_database = tmp_path / "notes.db"
    content = b"these are notes, not SQLite\n" * 200
    not_a_database.write_bytes(content)
    for payload in (PRE_TOOL_USE, STOP):
        result = run_hook(payload, TAC_ORCHESTRATOR_DB=str(not_a_database))
        assert (result.returncode, result.stdout) == (0, "")
    lines = fallback_lines(layer_env)
    assert len(lines) == 2  # one line per event, appended
    assert all("database" in line["error"].lower() for line in lines)
    assert [json.loads(line["input"])["hook_event_name"] for line in lines] == [
        "PreToolUse",
        "Stop",
    ]
    assert not_a_database.read_bytes() == content  # left exactly as it was


def test_unwritable_fallback_log_still_exits_0(tmp_path: Path, layer_env: dict[str, str]) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the fallback log's directory should be")
    result = run_hook(
        "{not json",
        TAC_HOOK_FALLBACK_LOG=str(blocker / "fallback.jsonl"),
    )
    assert (result.returncode, result.stdout) == (0, "")


def test_huge_tool_response_is_truncated(layer_env: dict[str, str], agent_id: str) -> None:
    stdout = "x" * 200_000
    payload = {
        **POST_TOOL_USE,
        "tool_response": {"stdout": stdout, "lines": [f"line {i}" for i in range(1_000)]},
    }
    result = run_hook(payload, agent_id)
    assert (result.returncode, result.stdout) == (0, ""), result.stderr
    (row,) = query(
        layer_env["TAC_ORCHESTRATOR_DB"],
        "SELECT log_type, details FROM agent_logs WHERE agent_id = ?",
        agent_id,
    )
    assert row["log_type"] == "tool_result"
    assert len(row["details"]) < 10_000
    response = json.loads(row["details"])["tool_response"]
    assert response["stdout"].startswith("x" * MAX_TEXT)
    assert response["stdout"].endswith("[200000 chars]")
    assert len(response["stdout"]) < MAX_TEXT + 40
    assert len(response["lines"]) == 50
    assert fallback_lines(layer_env) == []
