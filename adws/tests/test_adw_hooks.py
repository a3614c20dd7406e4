"""The project's real Claude Code hook, run as the agent CLI runs it: a process with JSON on stdin.

Two ways in: the command settings.json gives the CLI (`exec sh .../orchestrator_hook.py`: the
shell half spools the event and returns at once, a background recorder writes it), and the
file run with Python (records the event on stdin synchronously). Whatever the input or the
state of the database, the hook prints nothing and exits 0; what it cannot write goes to the
fallback file (TAC_HOOK_FALLBACK_LOG, in tmp here) and is replayed, never duplicated.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from adw_modules import hook_recorder
from adw_modules.adw_database import OrchestratorDB
from adw_modules.adw_project import current_project
from adw_modules.hook_recorder import MAX_TEXT, Spool, interactive_agent_id

PROJECT = current_project()
HOOK = PROJECT.path("claude_dir", ".claude") / "hooks" / "orchestrator_hook.py"
SETTINGS = PROJECT.path("claude_dir", ".claude") / "settings.json"
SESSION = "0b6c2a5e-3f4d-4e8a-9c1b-7d2e5f6a8b90"
TOOL_USE = "toolu_01ABCDEF"


def event(name: str, **fields: Any) -> dict[str, Any]:
    """A hook input with the common fields the CLI sends with every event."""
    return {
        "session_id": SESSION,
        "transcript_path": f"/home/dev/.claude/projects/demo/{SESSION}.jsonl",
        "cwd": str(PROJECT.root),
        "prompt_id": "52927f97-45b5-4209-95fa-4afc422f2b97",
        "permission_mode": "default",
        "hook_event_name": name,
        **fields,
    }


PRE_TOOL_USE = event(
    "PreToolUse",
    tool_name="Bash",
    tool_input={"command": "pytest -q", "description": "Run the tests"},
    tool_use_id=TOOL_USE,
)
POST_TOOL_USE = event(
    "PostToolUse",
    tool_name="Bash",
    tool_input={"command": "pytest -q", "description": "Run the tests"},
    tool_response={"stdout": "3 passed", "stderr": "", "interrupted": False},
    tool_use_id=TOOL_USE,
)
USER_PROMPT_SUBMIT = event("UserPromptSubmit", prompt="/implement specs/feature-1.md")
STOP = event("Stop", stop_hook_active=False, last_assistant_message="Done.")
EVENTS = [USER_PROMPT_SUBMIT, PRE_TOOL_USE, POST_TOOL_USE, STOP]

# Every event the current CLI fires, with the fields it sends (2.1.x), and what each becomes.
SUBAGENT = {"agent_id": "a4f7abc17c392e3fb", "agent_type": "general-purpose"}
EVERY_EVENT: list[tuple[dict[str, Any], str, str, str]] = [
    (event("SessionStart", source="startup"), "lifecycle", "INFO", "SessionStart: startup"),
    (USER_PROMPT_SUBMIT, "hook", "INFO", "UserPromptSubmit: /implement specs/feature-1.md"),
    (PRE_TOOL_USE, "tool_call", "INFO", "PreToolUse: Bash pytest -q"),
    (
        event(
            "PermissionRequest",
            tool_name="Write",
            tool_input={"file_path": "/srv/app/out.txt", "content": "hi"},
            permission_suggestions=[{"type": "addDirectories", "directories": ["/srv"]}],
        ),
        "hook",
        "INFO",
        "PermissionRequest: Write /srv/app/out.txt",
    ),
    (POST_TOOL_USE, "tool_result", "INFO", "PostToolUse: Bash pytest -q"),
    (
        event(
            "PostToolUseFailure",
            tool_name="Bash",
            tool_input={"command": "false", "description": "fail"},
            tool_use_id="toolu_02FAILED",
            error="Exit code 1",
            is_interrupt=False,
            duration_ms=19,
        ),
        "tool_result",
        "WARNING",
        "PostToolUseFailure: Bash false: Exit code 1",
    ),
    (
        event("SubagentStart", **SUBAGENT),
        "lifecycle",
        "INFO",
        "SubagentStart: general-purpose a4f7abc17c392e3fb",
    ),
    (
        event(
            "SubagentStop",
            **SUBAGENT,
            stop_hook_active=False,
            agent_transcript_path="/home/dev/.claude/projects/demo/agent-a4f7.jsonl",
        ),
        "lifecycle",
        "INFO",
        "SubagentStop: general-purpose a4f7abc17c392e3fb",
    ),
    (
        event("Notification", message="Claude needs your permission to use Bash"),
        "hook",
        "INFO",
        "Notification: Claude needs your permission to use Bash",
    ),
    (
        event("PreCompact", trigger="manual", custom_instructions=""),
        "hook",
        "INFO",
        "PreCompact: manual",
    ),
    (STOP, "hook", "INFO", "Stop"),
    (
        event("StopFailure", error="rate_limit", error_details="429 Too Many Requests"),
        "error",
        "ERROR",
        "StopFailure: rate_limit",
    ),
    (event("SessionEnd", reason="other"), "lifecycle", "INFO", "SessionEnd: other"),
]


def hook_env(agent_id: str | None = None, **env: str) -> dict[str, str]:
    environment = {**os.environ, "CLAUDE_PROJECT_DIR": str(PROJECT.root), **env}
    if agent_id is not None:
        environment["TAC_AGENT_ID"] = agent_id
    return environment


def run_hook(
    stdin: str | dict[str, Any], agent_id: str | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run the hook file with Python: it records the event before it exits."""
    return subprocess.run(
        [sys.executable, str(HOOK)],
        input=stdin if isinstance(stdin, str) else json.dumps(stdin),
        env=hook_env(agent_id, **env),
        capture_output=True,
        text=True,
        timeout=30,  # a guard against hanging, not a measurement
    )


def hook_command() -> str:
    settings = json.loads(SETTINGS.read_text(encoding="utf-8"))
    hooks = [h for g in settings["hooks"]["PreToolUse"] for h in g["hooks"]]
    (command,) = {h["command"] for h in hooks if "/orchestrator_hook.py" in h["command"]}
    return str(command)


def run_command(
    stdin: str | dict[str, Any], agent_id: str | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run the command settings.json gives the CLI, through a shell as the CLI does; it
    returns once the event is spooled (the recorder runs on in the background)."""
    return subprocess.run(
        ["/bin/sh", "-c", hook_command()],
        input=stdin if isinstance(stdin, str) else json.dumps(stdin),
        env=hook_env(agent_id, **env),
        capture_output=True,
        text=True,
        timeout=30,
    )


def spool(layer_env: dict[str, str]) -> Spool:
    return Spool.locate(PROJECT.root, "logs", layer_env)


def wait_recorded(layer_env: dict[str, str]) -> None:
    assert hook_recorder.wait_until_recorded(spool(layer_env), timeout=20), "spool not drained"


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
def database(layer_env: dict[str, str]) -> str:
    """The test's database, created and migrated (the hook never creates one)."""
    OrchestratorDB.open().close()
    return layer_env["TAC_ORCHESTRATOR_DB"]


@pytest.fixture
def agent_id(database: str) -> str:
    with OrchestratorDB.open() as db:
        owner = db.register_orchestrator_agent("adw_build", "builder")
        return db.start_agent(owner.id, "adw-hooks", adw_id="adw-hooks", name="build").id


def test_settings_json_runs_the_hook_for_every_event_the_cli_fires() -> None:
    settings = json.loads(SETTINGS.read_text(encoding="utf-8"))
    assert set(settings["hooks"]) == set(hook_recorder.EVENTS)
    relative = HOOK.relative_to(PROJECT.root).as_posix()
    for name, groups in settings["hooks"].items():
        hooks = [h for g in groups for h in g["hooks"]]
        wait = " --wait" if name in ("Stop", "SessionEnd") else ""
        command = f'exec sh "$CLAUDE_PROJECT_DIR/{relative}"{wait}'
        # The recorder runs once per event (PreToolUse also runs the tool guard).
        recorder = [h["command"] for h in hooks if "/orchestrator_hook.py" in h["command"]]
        assert recorder == [command], name
        assert not any(h.get("async") for h in hooks), name  # -p would kill them at exit
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


@pytest.mark.parametrize(
    ("stdin", "problem"),
    [
        ("{not json", "JSONDecodeError"),
        ("", "JSONDecodeError"),
        ("[1, 2, 3]", "hook_event_name"),
        ('"PreToolUse"', "hook_event_name"),
        (json.dumps({"session_id": SESSION, "tool_name": "Bash"}), "hook_event_name"),
        (json.dumps({**STOP, "hook_event_name": 7}), "hook_event_name"),
        ('{"hook_event_name": "Stop", "x": NaN}', "NaN"),
    ],
)
def test_bad_input_goes_to_the_fallback_log(
    layer_env: dict[str, str], agent_id: str, stdin: str, problem: str
) -> None:
    result = run_hook(stdin, agent_id)
    assert (result.returncode, result.stdout) == (0, "")
    (line,) = fallback_lines(layer_env)
    assert problem in line["error"]
    assert line["input"] == stdin
    assert line["time"].endswith("Z")
    assert "row" not in line  # never replayed
    assert query(layer_env["TAC_ORCHESTRATOR_DB"], "SELECT * FROM agent_logs") == []


@pytest.mark.parametrize("unknown", ["no-such-agent", "0190b2c4-0000-7000-8000-000000000000"])
def test_unknown_agent_goes_to_the_fallback_log(
    layer_env: dict[str, str], agent_id: str, unknown: str
) -> None:
    result = run_hook(PRE_TOOL_USE, unknown)
    assert (result.returncode, result.stdout) == (0, "")
    (line,) = fallback_lines(layer_env)
    assert unknown in line["error"]
    assert json.loads(line["input"]) == PRE_TOOL_USE
    assert query(layer_env["TAC_ORCHESTRATOR_DB"], "SELECT * FROM agent_logs") == []
    # The next event with a good agent id is recorded as usual; the rejected one stays put.
    assert run_hook(PRE_TOOL_USE, agent_id).returncode == 0
    assert len(query(layer_env["TAC_ORCHESTRATOR_DB"], "SELECT * FROM agent_logs")) == 1
    assert len(fallback_lines(layer_env)) == 1


def test_database_is_a_directory(layer_env: dict[str, str], tmp_path: Path) -> None:
    directory = tmp_path / "a-directory.db"
    directory.mkdir()
    result = run_hook(PRE_TOOL_USE, TAC_ORCHESTRATOR_DB=str(directory))
    assert (result.returncode, result.stdout) == (0, "")
    (line,) = fallback_lines(layer_env)
    assert "database" in line["error"]
    kept = {k: v for k, v in PRE_TOOL_USE.items() if k != "transcript_path"}
    assert line["row"]["details"] == kept
    assert line["database"] == hook_recorder.database_key(path=directory)
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
    assert [line["row"]["event"] for line in lines] == ["PreToolUse", "Stop"]
    assert not_a_database.read_bytes() == content  # left exactly as it was


def test_a_missing_database_is_not_created_and_its_events_are_replayed_once(
    layer_env: dict[str, str],
) -> None:
    database = Path(layer_env["TAC_ORCHESTRATOR_DB"])
    for payload in EVENTS:
        assert run_hook(payload).returncode == 0
    assert not database.exists()
    assert [line["row"]["event"] for line in fallback_lines(layer_env)] == [
        e["hook_event_name"] for e in EVENTS
    ]
    saved = Path(layer_env["TAC_HOOK_FALLBACK_LOG"]).read_text(encoding="utf-8")
    with OrchestratorDB.open() as db:  # creates it, and replays on open
        messages = [r.message for r in reversed(db.recent_logs(limit=10))]
    assert messages == [
        "UserPromptSubmit: /implement specs/feature-1.md",
        "PreToolUse: Bash pytest -q",
        "PostToolUse: Bash pytest -q",
        "Stop",
    ]
    assert fallback_lines(layer_env) == []
    # The same entries again (a copy restored from a backup, a crashed replay): no duplicates.
    Path(layer_env["TAC_HOOK_FALLBACK_LOG"]).write_text(saved, encoding="utf-8")
    with OrchestratorDB.open() as db:
        assert db.replay_hook_events() == 0
        assert len(db.recent_logs(limit=50)) == len(EVENTS)
    assert fallback_lines(layer_env) == []


def test_spool_files_nobody_writes_are_recorded_by_the_runtime(
    layer_env: dict[str, str], database: str
) -> None:
    """A recorder that died (or never started: no python3) leaves its spool files; one whose
    lock names a live process that is not a recorder leaves them too. The runtime writes
    them on open, the second kind once they are a minute old."""
    directory = spool(layer_env).directory
    dead, taken = directory / "4000001", directory / "4000002"
    for folder, pid, event_name in ((dead, 4_999_999, "Stop"), (taken, os.getpid(), "SessionEnd")):
        folder.mkdir(parents=True)
        (folder / ".recorder").write_text(f"{pid}\n")
        spooled = folder / f"{time.time_ns()}-77-0.json"
        spooled.write_text("\n" + json.dumps(event(event_name)), encoding="utf-8")
    old = time.time() - 120
    for path in taken.iterdir():
        os.utime(path, (old, old))
    with OrchestratorDB.open() as db:  # replays on open
        messages = sorted(r.message for r in db.recent_logs(limit=10))
    assert messages == ["SessionEnd", "Stop"]
    assert not list(directory.glob("*/*.json*"))
    with OrchestratorDB.open() as db:
        assert db.replay_hook_events() == 0  # nothing twice


def test_forty_concurrent_hooks_give_forty_rows(layer_env: dict[str, str], database: str) -> None:
    payloads = [
        {**PRE_TOOL_USE, "tool_use_id": f"toolu_{i:02d}", "tool_input": {"command": f"echo {i}"}}
        for i in range(40)
    ]
    results: list[subprocess.CompletedProcess[str]] = []
    threads = [
        threading.Thread(target=lambda p=p: results.append(run_command(p))) for p in payloads
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [(r.returncode, r.stdout) for r in results] == [(0, "")] * 40
    wait_recorded(layer_env)
    rows = query(database, "SELECT tool_use_id FROM agent_logs")
    assert sorted(r["tool_use_id"] for r in rows) == [f"toolu_{i:02d}" for i in range(40)]
    assert fallback_lines(layer_env) == []


@pytest.fixture
def locked(database: str) -> Iterator[sqlite3.Connection]:
    """A connection holding BEGIN EXCLUSIVE on the database until the test commits."""
    conn = sqlite3.connect(database, isolation_level=None)
    conn.execute("BEGIN EXCLUSIVE")
    try:
        yield conn
    finally:
        if conn.in_transaction:
            conn.execute("COMMIT")
        conn.close()


def test_a_locked_database_sends_events_to_the_fallback_then_they_are_replayed(
    layer_env: dict[str, str], database: str, locked: sqlite3.Connection
) -> None:
    payloads = [{**PRE_TOOL_USE, "tool_use_id": f"toolu_{i}"} for i in range(5)]
    started = time.monotonic()
    for payload in payloads:
        result = run_command(payload, TAC_HOOK_BUSY_TIMEOUT_MS="200")
        assert (result.returncode, result.stdout) == (0, "")
    assert time.monotonic() - started < 5  # the agent never waited for the lock
    wait_recorded(layer_env)
    lines = fallback_lines(layer_env)
    assert sorted(line["row"]["tool_use_id"] for line in lines) == [f"toolu_{i}" for i in range(5)]
    assert all("locked" in line["error"] for line in lines)
    locked.execute("COMMIT")
    # The next successful write replays them: every event once, and the fallback file is gone.
    assert run_command({**PRE_TOOL_USE, "tool_use_id": "toolu_next"}).returncode == 0
    wait_recorded(layer_env)
    rows = query(database, "SELECT id, tool_use_id FROM agent_logs")
    assert sorted(r["tool_use_id"] for r in rows) == sorted(
        [f"toolu_{i}" for i in range(5)] + ["toolu_next"]
    )
    assert len({r["id"] for r in rows}) == 6
    assert fallback_lines(layer_env) == []


def test_postgresql_events_wait_in_the_fallback_file_without_the_password(
    layer_env: dict[str, str],
) -> None:
    url = "postgresql://hooker:t0ps3cret@db.invalid:5432/orch"
    started = time.monotonic()
    result = run_hook(STOP, TAC_ORCHESTRATOR_DB=url)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    assert time.monotonic() - started < 10  # no connection was even tried
    (line,) = fallback_lines(layer_env)
    assert line["database"] == hook_recorder.database_key(url=url)
    assert line["row"]["message"] == "Stop"
    assert "PostgreSQL" in line["error"]
    assert "t0ps3cret" not in Path(layer_env["TAC_HOOK_FALLBACK_LOG"]).read_text()


def test_the_recorder_imports_nothing_outside_the_standard_library() -> None:
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]); import adw_modules.hook_recorder; "
        "import adw_modules.hook_rows, adw_modules.hook_spool, adw_modules.hook_writer; "
        "third = {'pydantic', 'yaml', 'psycopg', 'aiosqlite', 'typer', 'rich', 'jinja2'}; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in third))"
    )
    result = subprocess.run(
        [sys.executable, "-S", "-c", probe, str(PROJECT.root / PROJECT.adws_dir)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert (result.returncode, result.stdout.strip()) == (0, "[]"), result.stderr


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


def test_a_recorder_started_after_the_last_file_was_taken_leaves_quietly(
    layer_env: dict[str, str], database: str
) -> None:
    """The shell half may start a recorder just as a lingering one took the last file and
    removed the directory: the late one finds nothing to do and writes no fallback line."""
    gone = spool(layer_env).directory / "424242"
    assert not gone.exists()
    late = subprocess.run(
        [sys.executable, "-S", str(HOOK), "--drain", str(gone)],
        env=hook_env(None),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert (late.returncode, late.stdout, late.stderr) == (0, "", "")
    assert fallback_lines(layer_env) == []
    assert not gone.exists()
