"""The project's real Claude Code hook, run as the agent CLI runs it: a process with JSON on stdin.

Two ways in: the command settings.json gives the CLI (`exec sh .../orchestrator_hook.py`: the
shell half spools the event and returns at once, a background recorder writes it), and the
file run with Python (records the event on stdin synchronously). Whatever the input or the
state of the database, the hook prints nothing and exits 0; what it cannot write goes to the
fallback file (TAC_HOOK_FALLBACK_LOG, in tmp here) and is replayed, never duplicated.

Here: what each event becomes. The fallback and replay paths are in
test_adw_hook_fallback.py, what the hook imports in test_adw_hook_imports.py.
"""

from __future__ import annotations

import json
import os
import uuid

from hook_support import (
    EVENTS,
    EVERY_EVENT,
    HOOK,
    POST_TOOL_USE,
    PROJECT,
    SESSION,
    STOP,
    SUBAGENT,
    TOOL_USE,
    USER_PROMPT_SUBMIT,
    event,
    fallback_lines,
    layer_hooks,
    query,
    recorder_commands,
    run_command,
    run_hook,
    spool,
    wait_recorded,
)

from adw_modules import hook_recorder
from adw_modules.adw_database import OrchestratorDB
from adw_modules.hook_recorder import MAX_TEXT, interactive_agent_id


def test_settings_json_runs_the_hook_for_every_event_the_cli_fires() -> None:
    hooks = layer_hooks(*hook_recorder.EVENTS)  # fails in one line when they are not merged
    # Only the recorder's events run it (a user's own hooks for other events are theirs).
    wired = {name for name, groups in hooks.items() if recorder_commands(groups)}
    assert wired == set(hook_recorder.EVENTS)
    relative = HOOK.relative_to(PROJECT.root).as_posix()
    for name in hook_recorder.EVENTS:
        wait = " --wait" if name in ("Stop", "SessionEnd") else ""
        command = f'exec sh "$CLAUDE_PROJECT_DIR/{relative}"{wait}'
        # The recorder runs once per event (PreToolUse also runs the tool guard).
        assert recorder_commands(hooks[name]) == [command], name
        ours = [h for g in hooks[name] for h in g.get("hooks", []) if h.get("command") == command]
        assert not any(h.get("async") for h in ours), name  # -p would kill them at exit
    assert HOOK.is_file()
    assert os.access(HOOK, os.X_OK)


def test_events_of_a_workflow_agent_go_to_agent_logs(
    layer_env: dict[str, str], database: str, agent_id: str
) -> None:
    for payload in EVENTS:
        result = run_hook(payload, agent_id)
        assert (result.returncode, result.stdout) == (0, ""), result.stderr
    logs = query(
        database,
        "SELECT log_type, log_level, message, details, tool_use_id FROM agent_logs "
        "WHERE agent_id = ? ORDER BY id",
        agent_id,
    )
    assert [(r["log_type"], r["message"]) for r in logs] == [
        ("hook", "UserPromptSubmit: /implement specs/feature-1.md"),
        ("tool_call", "PreToolUse: Bash pytest -q"),
        ("tool_result", "PostToolUse: Bash pytest -q"),
        ("hook", "Stop"),
    ]
    assert [r["tool_use_id"] for r in logs] == [None, TOOL_USE, TOOL_USE, None]
    assert {r["log_level"] for r in logs} == {"INFO"}
    for sent, kept in zip(EVENTS, [json.loads(r["details"]) for r in logs], strict=True):
        assert kept == {k: v for k, v in sent.items() if k != "transcript_path"}
    assert query(database, "SELECT * FROM system_logs") == []
    assert len(query(database, "SELECT * FROM agents")) == 1  # no interactive agent
    assert fallback_lines(layer_env) == []


def test_the_cli_command_spools_returns_at_once_and_the_recorder_writes(
    layer_env: dict[str, str], database: str, agent_id: str
) -> None:
    for payload in EVENTS:
        result = run_command(payload, agent_id)
        assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    wait_recorded(layer_env)
    logs = query(
        database,
        "SELECT message, tool_use_id, created_at FROM agent_logs WHERE agent_id = ? ORDER BY id",
        agent_id,
    )
    assert [r["message"] for r in logs] == [
        "UserPromptSubmit: /implement specs/feature-1.md",
        "PreToolUse: Bash pytest -q",
        "PostToolUse: Bash pytest -q",
        "Stop",
    ]
    # Times and ids are those of the moment each event was spooled, in order.
    assert [r["created_at"] for r in logs] == sorted(r["created_at"] for r in logs)
    assert fallback_lines(layer_env) == []
    assert not list(spool(layer_env).directory.glob("*/*.json"))


def test_every_event_is_recorded_with_its_type_level_and_pairing(
    layer_env: dict[str, str], database: str
) -> None:
    for payload, *_ in EVERY_EVENT:
        result = run_command(payload)
        assert (result.returncode, result.stdout) == (0, ""), payload["hook_event_name"]
    wait_recorded(layer_env)
    agent = interactive_agent_id(SESSION)
    rows = query(
        database,
        "SELECT log_type, log_level, message, details, tool_use_id FROM agent_logs "
        "WHERE agent_id = ? ORDER BY id",
        agent,
    )
    assert [(r["log_type"], r["log_level"], r["message"]) for r in rows] == [
        (log_type, level, message) for _, log_type, level, message in EVERY_EVENT
    ]
    details = {json.loads(r["details"])["hook_event_name"]: json.loads(r["details"]) for r in rows}
    assert details["PostToolUseFailure"]["error"] == "Exit code 1"
    assert details["PostToolUseFailure"]["is_interrupt"] is False
    for name in ("SubagentStart", "SubagentStop"):
        assert {k: details[name][k] for k in SUBAGENT} == SUBAGENT
    assert {d["prompt_id"] for d in details.values()} == {USER_PROMPT_SUBMIT["prompt_id"]}
    pairs = query(
        database,
        "SELECT c.message AS call, r.message AS result FROM agent_logs c JOIN agent_logs r "
        "ON r.tool_use_id = c.tool_use_id AND r.log_type = 'tool_result' "
        "WHERE c.log_type = 'tool_call'",
    )
    assert [(p["call"], p["result"]) for p in pairs] == [
        ("PreToolUse: Bash pytest -q", "PostToolUse: Bash pytest -q")
    ]
    assert fallback_lines(layer_env) == []


def test_an_interactive_session_gets_its_own_agent(
    layer_env: dict[str, str], database: str
) -> None:
    other = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
    for payload in (event("SessionStart", source="startup"), USER_PROMPT_SUBMIT, STOP):
        assert run_command(payload).returncode == 0
    assert run_command({**USER_PROMPT_SUBMIT, "session_id": other}).returncode == 0
    wait_recorded(layer_env)
    agents = query(
        database,
        "SELECT a.id, a.session_id, a.name, a.status, a.working_dir, a.completed_at, a.context, "
        "o.name AS owner, o.agent_type FROM agents a "
        "JOIN orchestrator_agents o ON o.id = a.orchestrator_agent_id ORDER BY a.session_id",
    )
    assert [(a["session_id"], a["status"]) for a in agents] == [
        (SESSION, "running"),
        (other, "running"),
    ]
    first = agents[0]
    assert first["id"] == interactive_agent_id(SESSION)
    assert (first["name"], first["owner"], first["agent_type"]) == (
        "interactive",
        "claude_code",
        "custom",
    )
    assert first["working_dir"] == str(PROJECT.root)
    assert first["completed_at"] is None
    assert json.loads(first["context"]) == {"transcript_path": STOP["transcript_path"]}
    assert len(query(database, "SELECT * FROM agent_logs WHERE agent_id = ?", first["id"])) == 3

    assert run_command(event("SessionEnd", reason="other")).returncode == 0
    wait_recorded(layer_env)
    (ended,) = query(database, "SELECT * FROM agents WHERE id = ?", first["id"])
    assert ended["status"] == "completed"
    assert ended["completed_at"] is not None
    with OrchestratorDB.open() as db:  # the runtime names the same agent
        assert db.interactive_agent(SESSION).id == first["id"]
        assert len(db.list_agents()) == 2
    assert query(database, "SELECT * FROM system_logs") == []


def test_blank_agent_id_counts_as_an_interactive_session(
    layer_env: dict[str, str], database: str
) -> None:
    result = run_hook(STOP, agent_id="  ")
    assert (result.returncode, result.stdout) == (0, "")
    (row,) = query(database, "SELECT agent_id FROM agent_logs")
    assert row["agent_id"] == interactive_agent_id(SESSION)


def test_an_event_without_a_session_goes_to_system_logs(database: str) -> None:
    result = run_hook({"hook_event_name": "Notification", "message": "idle"})
    assert (result.returncode, result.stdout) == (0, "")
    (row,) = query(database, "SELECT component, message FROM system_logs")
    assert (row["component"], row["message"]) == ("hook", "Notification: idle")


def test_huge_tool_response_is_truncated(database: str, agent_id: str) -> None:
    stdout = "x" * 200_000
    payload = {
        **POST_TOOL_USE,
        "tool_response": {"stdout": stdout, "lines": [f"line {i}" for i in range(1_000)]},
    }
    result = run_hook(payload, agent_id)
    assert (result.returncode, result.stdout) == (0, ""), result.stderr
    (row,) = query(
        database, "SELECT log_type, details FROM agent_logs WHERE agent_id = ?", agent_id
    )
    assert row["log_type"] == "tool_result"
    assert len(row["details"]) < 10_000
    response = json.loads(row["details"])["tool_response"]
    assert response["stdout"].startswith("x" * MAX_TEXT)
    assert response["stdout"].endswith("[200000 chars]")
    assert len(response["stdout"]) < MAX_TEXT + 40
    assert len(response["lines"]) == 50


def test_ids_are_the_runtimes_uuid7_and_interactive_ids_are_uuid5() -> None:
    ids = [hook_recorder.new_id() for _ in range(100)]
    assert all(uuid.UUID(i).version == 7 for i in ids)
    moments = [i[:18] for i in ids]  # milliseconds and the sub-millisecond fraction
    assert moments == sorted(moments)
    assert interactive_agent_id(SESSION) == str(
        uuid.uuid5(uuid.UUID(hook_recorder.INTERACTIVE_NAMESPACE), SESSION)
    )
