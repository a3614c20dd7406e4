"""Every hook event the real Claude Code CLI fires, recorded by a generated project's hooks.

The CLI is the real one (tests/real_claude.py) talking to the fake Messages API; the project
is generated with `tac-bootstrap init`, and the CLI runs in it with the test's database and
fallback file. Beside the project's own hook, settings.json gets a *witness* hook that keeps
every payload the CLI sent, so "N events in, N rows out" is checked against the CLI itself.
The recorder runs with a python3 that has no pydantic (the system one) where there is one.

The last tests need no CLI: the recorder's rules (log types, levels, ids, where the database
is) must be the models', the schema's and the runtime's, or they fail.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import warnings
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from tac_bootstrap.runtime import hook_recorder
from tac_bootstrap.runtime.adw_database import OrchestratorDB
from tac_bootstrap.runtime.adw_db_connection import resolve_location
from tac_bootstrap.runtime.adw_db_operations import uuid_key
from tac_bootstrap.runtime.orch_database_models import (
    AgentLog,
    AgentStatus,
    AgentType,
    LogLevel,
    LogType,
    format_timestamp,
)

from .conftest import REPO_ROOT, ProjectFactory
from .fake_anthropic import CREDIT_TOO_LOW, FakeAnthropic, Fault, Request, text, tool_use
from .real_claude import CliRun, claude_env, print_mode, run_claude

ALLOWED_TOOLS = "Bash Read Write Edit"
WITNESS_COMMAND = 'trap "" HUP INT TERM; cat > "$TAC_TEST_WITNESS/$(date +%s%N)-$$.json"'


def bare_python() -> str:
    """A python3 >= 3.10 without pydantic (the system one), else this interpreter."""
    for candidate in ("/usr/bin/python3", shutil.which("python3") or ""):
        if not candidate or not os.access(candidate, os.X_OK):
            continue
        probe = subprocess.run(
            [candidate, "-c", "import sys; assert sys.version_info >= (3, 10); import pydantic"],
            capture_output=True,
        )
        if probe.returncode != 0 and b"pydantic" in probe.stderr:
            return candidate
    return sys.executable


def responder(request: Request) -> list[dict[str, Any]]:
    """The model: scripts chosen by a marker in the prompt, turns read from the conversation."""
    if not request.has_tools:
        return [text("ok")]  # side requests (titles, summaries)
    prompt = request.first_user_text
    turn = request.turn
    if "[[sub]]" in prompt:  # the subagent's own conversation
        if turn == 0:
            return [tool_use("Read", {"file_path": "tac_bootstrap.yml"})]
        return [text("sub done")]
    if "[[many]]" in prompt:
        if turn == 0:  # forty calls in one message: the CLI runs them, and their hooks, at once
            return [tool_use("Read", {"file_path": "tac_bootstrap.yml"}) for _ in range(40)]
        return [text("Read them all.")]
    if "[[session]]" in prompt:
        script = [
            [tool_use("Bash", {"command": "echo hi", "description": "say hi"})],
            [tool_use("Bash", {"command": "false", "description": "fail on purpose"})],
            [tool_use("WebFetch", {"url": "http://127.0.0.1:9/", "prompt": "read it"})],
            [
                tool_use(
                    "Agent",
                    {
                        "description": "read the config",
                        "prompt": "[[sub]] read tac_bootstrap.yml",
                        "subagent_type": "general-purpose",
                    },
                )
            ],
        ]
        return script[turn] if turn < len(script) else [text("All done.")]
    if turn == 0:  # one tool
        return [tool_use("Bash", {"command": "echo one", "description": "one tool"})]
    return [text("Done.")]


@dataclass
class Project:
    root: Path
    database: Path
    fallback: Path
    witness: Path
    home: Path
    cli: Path
    api: FakeAnthropic

    recorded_at_exit: bool = False

    @property
    def spool(self) -> hook_recorder.Spool:
        return hook_recorder.Spool(self.fallback, self.fallback.parent / "hooks-spool")

    def env(self, **extra: str) -> dict[str, str]:
        settings = {
            "TAC_ORCHESTRATOR_DB": str(self.database),
            "TAC_HOOK_FALLBACK_LOG": str(self.fallback),
            "TAC_PYTHON": bare_python(),
            "TAC_TEST_WITNESS": str(self.witness),
        }
        return claude_env(self.api.base_url, self.home, **{**settings, **extra})

    def run(self, prompt: str, *args: str, **env: str) -> CliRun:
        """One `claude -p` run in the project; returns once its events are recorded."""
        run = run_claude(
            self.cli,
            print_mode(prompt, "--allowedTools", ALLOWED_TOOLS, *args),
            cwd=self.root,
            env=self.env(**env),
        )
        # Stop and SessionEnd return once the recorder caught up: nothing is left to write
        # when the CLI exits.
        self.recorded_at_exit = hook_recorder.wait_until_recorded(self.spool, timeout=0)
        assert hook_recorder.wait_until_recorded(self.spool, timeout=30), "spool not drained"
        return run

    def witnessed(self) -> list[dict[str, Any]]:
        """Every payload the CLI sent to its hooks, in the order it sent them."""
        return [
            json.loads(path.read_text(encoding="utf-8")) for path in sorted(self.witness.iterdir())
        ]

    def logs(self) -> list[dict[str, Any]]:
        with sqlite3.connect(self.database) as conn:
            conn.row_factory = sqlite3.Row
            rows = [dict(r) for r in conn.execute("SELECT * FROM agent_logs ORDER BY id")]
        for row in rows:
            row["details"] = json.loads(row["details"])
        return rows

    def query(self, sql: str, *params: Any) -> list[dict[str, Any]]:
        with sqlite3.connect(self.database) as conn:
            conn.row_factory = sqlite3.Row
            return [dict(r) for r in conn.execute(sql, params)]

    def fallback_lines(self) -> list[dict[str, Any]]:
        if not self.fallback.exists():
            return []
        return [json.loads(line) for line in self.fallback.read_text().splitlines()]


def expect_recorded_at_exit(project: Project) -> None:
    """Stop and SessionEnd wait for the recorder, but at most 2 s by design: on an overloaded
    machine it can need longer, so this is reported, not failed (a timed assertion would be
    flaky). That nothing is lost is asserted by every run (the spool drains, N in N out)."""
    if not project.recorded_at_exit:
        warnings.warn(
            "the recorder had not caught up when the CLI exited (Stop waits at most 2 s); "
            "the machine is probably overloaded",
            stacklevel=2,
        )


def add_witness(root: Path) -> None:
    """A second hook on every event that keeps the payload, one file per event."""
    settings_path = root / ".claude" / "settings.json"
    settings = json.loads(settings_path.read_text(encoding="utf-8"))
    for groups in settings["hooks"].values():
        groups[0]["hooks"].append({"type": "command", "command": WITNESS_COMMAND, "timeout": 10})
    settings_path.write_text(json.dumps(settings, indent=2), encoding="utf-8")


@pytest.fixture
def project(
    new_project: ProjectFactory,
    tmp_path: Path,
    claude_cli: Path,
    claude_home: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Project]:
    root = new_project(tmp_path / "out", "demo", "--no-git")
    add_witness(root)
    witness = tmp_path / "witness"
    witness.mkdir()
    database = tmp_path / "orchestrator.db"
    fallback = tmp_path / "hooks" / "hooks-fallback.jsonl"
    # The test process opens the same database and spool as the hooks (its replays too).
    monkeypatch.setenv("TAC_ORCHESTRATOR_DB", str(database))
    monkeypatch.setenv("TAC_HOOK_FALLBACK_LOG", str(fallback))
    open_db(root, database).close()  # the hooks never create a database
    with FakeAnthropic(responder) as api:
        yield Project(root, database, fallback, witness, claude_home, claude_cli, api)


def open_db(root: Path, database: Path | str, backend: str = "sqlite") -> OrchestratorDB:
    """The runtime on the project's database (opening it replays what the hooks left)."""
    schema = root / "adws" / "schema"
    migrations = (
        schema / "postgres" / "migrations" if backend == "postgresql" else schema / "migrations"
    )
    return OrchestratorDB.open(str(database), migrations_dir=migrations)


def event_keys(payloads: list[dict[str, Any]]) -> Counter[tuple[Any, ...]]:
    """What identifies an event, as a multiset: N sent must be N recorded."""
    return Counter(
        (p["hook_event_name"], p.get("tool_use_id"), p.get("agent_id"), p.get("prompt_id"))
        for p in payloads
    )


def tool_use_ids(run: CliRun) -> set[str]:
    """The tool calls the model made, from the CLI's stream-json (main agent and subagent)."""
    found = set()
    for line in run.events:
        message = line.get("message")
        if line.get("type") == "assistant" and isinstance(message, dict):
            for block in message.get("content") or []:
                if isinstance(block, dict) and block.get("type") == "tool_use":
                    found.add(str(block["id"]))
    return found


def test_every_event_the_cli_fires_is_recorded_once_paired_and_in_its_session_agent(
    project: Project,
) -> None:
    run = project.run("[[session]] say hi, fail, fetch, then ask a subagent")
    assert run.returncode == 0, run.stderr
    expect_recorded_at_exit(project)
    session = run.result["session_id"]
    sent = project.witnessed()
    logs = project.logs()

    # N in, N out: every payload the CLI sent is one row, none is missing or doubled.
    assert event_keys([row["details"] for row in logs]) == event_keys(sent)
    fired = {p["hook_event_name"] for p in sent}
    assert fired >= {
        "SessionStart",
        "UserPromptSubmit",
        "PreToolUse",
        "PostToolUse",
        "PostToolUseFailure",
        "PermissionRequest",
        "SubagentStart",
        "SubagentStop",
        "Stop",
        "SessionEnd",
    }, fired
    assert fired <= set(hook_recorder.EVENTS)
    by_event: dict[str, list[dict[str, Any]]] = {}
    for row in logs:
        by_event.setdefault(row["details"]["hook_event_name"], []).append(row)

    # Tool calls pair with their result or failure by tool_use_id, as the model sent them.
    calls = {r["tool_use_id"]: r for r in by_event["PreToolUse"]}
    results = by_event["PostToolUse"] + by_event["PostToolUseFailure"]
    assert all(r["log_type"] == "tool_call" for r in calls.values())
    assert all(r["log_type"] == "tool_result" for r in results)
    assert {r["tool_use_id"] for r in results} <= set(calls)
    assert set(calls) == tool_use_ids(run)
    assert None not in calls
    unanswered = {
        calls[i]["details"]["tool_name"] for i in set(calls) - {r["tool_use_id"] for r in results}
    }
    assert unanswered == {"WebFetch"}  # denied: a PermissionRequest instead of a result
    (failure,) = by_event["PostToolUseFailure"]
    assert (failure["log_level"], failure["details"]["error"]) == ("WARNING", "Exit code 1")
    assert failure["message"] == "PostToolUseFailure: Bash false: Exit code 1"
    assert calls[failure["tool_use_id"]]["details"]["tool_input"]["command"] == "false"
    (permission,) = by_event["PermissionRequest"]
    assert permission["details"]["tool_name"] == "WebFetch"

    # Subagent events carry the subagent's id and type; so do the subagent's own tool calls.
    (start,) = by_event["SubagentStart"]
    (stop,) = by_event["SubagentStop"]
    subagent = start["details"]["agent_id"]
    assert start["details"]["agent_type"] == stop["details"]["agent_type"] == "general-purpose"
    assert stop["details"]["agent_id"] == subagent
    inside = [r for r in logs if r["details"].get("agent_id") == subagent]
    assert {r["details"]["hook_event_name"] for r in inside} >= {"PreToolUse", "SubagentStop"}
    assert any(r["details"].get("tool_name") == "Read" for r in inside)
    # Every event after the prompt names it.
    prompts = {
        r["details"].get("prompt_id")
        for r in logs
        if r["details"]["hook_event_name"] != "SessionStart"
    }
    assert None not in prompts

    # Outside a workflow: all of it in the session's own agent, completed by SessionEnd.
    agent = hook_recorder.interactive_agent_id(session)
    assert {r["agent_id"] for r in logs} == {agent}
    (row,) = project.query(
        "SELECT a.*, o.name AS owner, o.agent_type FROM agents a "
        "JOIN orchestrator_agents o ON o.id = a.orchestrator_agent_id"
    )
    assert (row["id"], row["session_id"], row["name"], row["status"]) == (
        agent,
        session,
        "interactive",
        "completed",
    )
    assert (row["owner"], row["agent_type"]) == ("claude_code", "custom")
    assert Path(row["working_dir"]).resolve() == project.root.resolve()
    assert row["completed_at"] == by_event["SessionEnd"][0]["created_at"]
    assert logs[0]["details"]["hook_event_name"] == "SessionStart"
    assert logs[-1]["details"]["hook_event_name"] == "SessionEnd"
    assert project.query("SELECT * FROM system_logs") == []
    assert project.fallback_lines() == []
    with open_db(project.root, project.database) as db:
        assert db.interactive_agent(session).id == agent  # what the transcript reader calls


def test_inside_a_workflow_tac_agent_id_names_the_agent(project: Project) -> None:
    with open_db(project.root, project.database) as db:
        owner = db.register_orchestrator_agent("adw_build", "builder")
        agent = db.start_agent(owner.id, "adw-real", adw_id="adw-real", name="build").id
    run = project.run("one tool please", TAC_AGENT_ID=agent)
    assert run.returncode == 0, run.stderr
    logs = project.logs()
    assert event_keys([r["details"] for r in logs]) == event_keys(project.witnessed())
    assert {r["agent_id"] for r in logs} == {agent}
    assert [r["log_type"] for r in logs if r["tool_use_id"]] == ["tool_call", "tool_result"]
    assert len(project.query("SELECT * FROM agents")) == 1  # no interactive agent
    assert project.fallback_lines() == []


def without(event: str, keys: Counter[tuple[Any, ...]]) -> Counter[tuple[Any, ...]]:
    return Counter({key: n for key, n in keys.items() if key[0] != event})


def test_stop_failure_and_pre_compact_are_recorded(project: Project) -> None:
    # The CLI fires StopFailure as it tears down, without waiting, and ends the hooks still
    # running when it exits: the hook ignores SIGTERM, but one that is not yet running can
    # be lost. So: a few tries, and any StopFailure a witness saw must be recorded too.
    project.api.sticky_fault = Fault("http", 400, CREDIT_TOO_LOW)
    for _ in range(3):
        failed = project.run("one tool please")
        assert failed.result["is_error"] is True
        if any(r["details"]["hook_event_name"] == "StopFailure" for r in project.logs()):
            break
    project.api.sticky_fault = None
    recorded = event_keys([r["details"] for r in project.logs()])
    witnessed = event_keys(project.witnessed())
    assert without("StopFailure", recorded) == without("StopFailure", witnessed)
    assert {k for k in witnessed if k[0] == "StopFailure"} <= set(recorded)
    stop_failure = next(
        r for r in project.logs() if r["details"]["hook_event_name"] == "StopFailure"
    )
    assert (stop_failure["log_type"], stop_failure["log_level"]) == ("error", "ERROR")
    assert stop_failure["message"] == "StopFailure: billing_error"

    first = project.run("one tool please")
    session = first.result["session_id"]
    compact = project.run("/compact", "--resume", session)
    assert compact.returncode == 0, compact.stderr
    logs = project.logs()
    assert without("StopFailure", event_keys([r["details"] for r in logs])) == without(
        "StopFailure", event_keys(project.witnessed())
    )
    (pre_compact,) = [r for r in logs if r["details"]["hook_event_name"] == "PreCompact"]
    assert (pre_compact["log_type"], pre_compact["message"]) == ("hook", "PreCompact: manual")
    # The resumed session keeps its agent; its completion moves to the last SessionEnd.
    agent = hook_recorder.interactive_agent_id(session)
    assert pre_compact["agent_id"] == agent
    ends = [
        r["created_at"]
        for r in logs
        if r["agent_id"] == agent and r["details"]["hook_event_name"] == "SessionEnd"
    ]
    assert len(ends) == 2
    (row,) = project.query("SELECT status, completed_at FROM agents WHERE id = ?", agent)
    assert row == {"status": "completed", "completed_at": max(ends)}


def test_forty_parallel_tool_calls_give_eighty_paired_rows(project: Project) -> None:
    run = project.run("[[many]] read it forty times")
    assert run.returncode == 0, run.stderr
    logs = project.logs()
    assert event_keys([r["details"] for r in logs]) == event_keys(project.witnessed())
    calls = [r["tool_use_id"] for r in logs if r["log_type"] == "tool_call"]
    results = [r["tool_use_id"] for r in logs if r["log_type"] == "tool_result"]
    assert len(calls) == len(set(calls)) == 40
    assert sorted(calls) == sorted(results)
    assert set(calls) == tool_use_ids(run)
    assert project.fallback_lines() == []


def test_a_locked_database_loses_nothing_and_the_replay_records_each_event_once(
    project: Project,
) -> None:
    lock = sqlite3.connect(project.database, isolation_level=None)
    lock.execute("BEGIN EXCLUSIVE")  # held for the whole run: longer than the busy timeout
    try:
        run = project.run("one tool please", TAC_HOOK_BUSY_TIMEOUT_MS="200")
        expect_recorded_at_exit(project)  # in the fallback file by then
    finally:
        lock.execute("COMMIT")
        lock.close()
    assert run.returncode == 0, run.stderr
    sent = project.witnessed()
    pending = project.fallback_lines()
    assert event_keys([line["row"]["details"] for line in pending]) == event_keys(sent)
    assert all("locked" in line["error"] for line in pending)
    assert project.logs() == []

    with open_db(project.root, project.database) as db:  # the next open replays them
        assert db.replay_hook_events() == 0  # already done on open
    logs = project.logs()
    assert event_keys([r["details"] for r in logs]) == event_keys(sent)
    assert len({r["id"] for r in logs}) == len(sent)
    assert not project.fallback.exists()
    # Replayed rows keep the ids and times of the moment the CLI fired the events.
    assert sorted(r["id"] for r in logs) == sorted(line["row"]["id"] for line in pending)


@pytest.mark.postgres
def test_on_postgresql_events_wait_for_the_runtime_and_are_recorded_once(
    project: Project, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TAC_ORCHESTRATOR_DB", pg_url)
    open_db(project.root, pg_url, "postgresql").close()
    run = project.run("one tool please", TAC_ORCHESTRATOR_DB=pg_url)
    assert run.returncode == 0, run.stderr
    sent = project.witnessed()
    pending = project.fallback_lines()
    assert len(pending) == len(sent)
    assert "t_" not in json.dumps([line["database"] for line in pending])  # a digest, no URL
    with open_db(project.root, pg_url, "postgresql") as db:
        logs = db.recent_logs(limit=100)
        assert db.replay_hook_events() == 0
        session = run.result["session_id"]
        assert db.interactive_agent(session).status is AgentStatus.COMPLETED
    assert event_keys([r.details for r in logs]) == event_keys(sent)
    assert {r.agent_id for r in logs} == {hook_recorder.interactive_agent_id(session)}
    assert not project.fallback.exists()


# -- the recorder's rules are the models', the schema's and the runtime's (no CLI needed) ---


def check_list(schema: str, table: str, column: str) -> tuple[str, ...]:
    """The values of `column IN (...)` in the CHECK constraints of `table`."""
    body = re.search(rf"CREATE TABLE (?:IF NOT EXISTS )?{table} \((.*?)\n\);", schema, re.S)
    assert body, table
    found = re.search(rf"CHECK \({column} IN \(([^)]*)\)\)", body.group(1), re.S)
    assert found, (table, column)
    return tuple(re.findall(r"'([^']*)'", found.group(1)))


@pytest.mark.parametrize(
    "schema_file",
    ["adws/schema/schema_orchestrator.sql", "adws/schema/postgres/schema_orchestrator.sql"],
)
def test_the_recorders_allowed_values_are_the_models_and_the_schemas(schema_file: str) -> None:
    schema = (REPO_ROOT / schema_file).read_text(encoding="utf-8")
    log_types = hook_recorder.LOG_TYPES
    levels = hook_recorder.LOG_LEVELS
    assert log_types == tuple(t.value for t in LogType)
    assert log_types == check_list(schema, "agent_logs", "log_type")
    assert levels == tuple(level.value for level in LogLevel)
    assert levels == check_list(schema, "agent_logs", "log_level")
    assert levels == check_list(schema, "system_logs", "log_level")
    assert hook_recorder.INTERACTIVE_AGENT_TYPE in check_list(
        schema, "orchestrator_agents", "agent_type"
    )
    statuses = check_list(schema, "agents", "status")
    assert {hook_recorder.INTERACTIVE_STATUS, hook_recorder.COMPLETED_STATUS} <= set(statuses)
    assert AgentType(hook_recorder.INTERACTIVE_AGENT_TYPE)
    assert AgentStatus(hook_recorder.INTERACTIVE_STATUS) is AgentStatus.RUNNING
    assert AgentStatus(hook_recorder.COMPLETED_STATUS) is AgentStatus.COMPLETED
    for log_type, level in hook_recorder.EVENTS.values():
        assert log_type in hook_recorder.LOG_TYPES and level in hook_recorder.LOG_LEVELS


def test_the_settings_subscribe_exactly_the_events_the_recorder_knows() -> None:
    settings = json.loads((REPO_ROOT / ".claude" / "settings.json").read_text(encoding="utf-8"))
    assert set(settings["hooks"]) == set(hook_recorder.EVENTS)


VALID_ROW = hook_recorder.make_row(
    {
        "hook_event_name": "PreToolUse",
        "session_id": "s-1",
        "tool_name": "Bash",
        "tool_use_id": "t1",
    },
    "",
    hook_recorder.new_id(),
    hook_recorder.timestamp(1_700_000_000_123_456_789),
)


@pytest.mark.parametrize(
    "change",
    [
        {},
        {"log_type": "tool_use"},
        {"log_type": "TOOL_CALL"},
        {"log_level": "info"},
        {"log_level": "FATAL"},
        {"message": None},
        {"details": "not an object"},
        {"details": ["a", "list"]},
        {"created_at": "2023-11-14 22:13:20"},
        {"created_at": "2023-11-14T22:13:20.123+00:00"},
        {"id": "not-a-uuid"},
        {"agent_id": "planner"},
    ],
)
def test_the_recorder_accepts_and_refuses_the_rows_the_models_do(change: dict[str, Any]) -> None:
    row = {**VALID_ROW, **change, "interactive": False}
    try:
        hook_recorder.validate_row(row)
        recorder_ok = True
    except hook_recorder.Rejected:
        recorder_ok = False
    # The runtime's verdict: the pydantic row model, its canonical ids (uuid_key) and the one
    # timestamp text the schema's GLOB accepts (format_timestamp).
    fields = ("id", "agent_id", "log_type", "log_level", "message", "details", "created_at")
    try:
        model = AgentLog.model_validate({k: row[k] for k in fields})
    except ValidationError:
        runtime_ok = False
    else:
        runtime_ok = (
            uuid_key(row["id"]) == row["id"]
            and uuid_key(row["agent_id"]) == row["agent_id"]
            and format_timestamp(model.created_at) == row["created_at"]
        )
    assert recorder_ok == runtime_ok, change


@pytest.mark.parametrize(
    "setting",
    [
        "",
        "orch.db",
        "data/orch.db",
        "/var/tmp/orch.db",
        "~/orch.db",
        "sqlite:///rel/orch.db",
        "sqlite:////abs/orch.db",
        "postgresql://alice@db.example.com:5432/orch",
        "postgresql+psycopg://alice:s3cret@db.example.com/orch",
        "postgres://db.example.com/orch",
    ],
)
def test_the_hook_finds_the_database_the_runtime_finds(setting: str, tmp_path: Path) -> None:
    location = resolve_location(tmp_path, adws_dir="adws", configured=setting, environ={})
    target = hook_recorder.resolve_target(setting, tmp_path, "adws")
    assert target.key == hook_recorder.database_key(path=location.path, url=location.url)
    assert target.writable == (location.backend == "sqlite")
    if location.url:
        assert "s3cret" not in target.key and "alice" not in target.key


def test_ids_and_times_are_the_runtimes() -> None:
    from datetime import datetime, timezone

    ns = 1_700_000_000_123_456_789
    moment = datetime.fromtimestamp(ns / 1e9, timezone.utc)
    assert hook_recorder.timestamp(ns) == format_timestamp(moment) == "2023-11-14T22:13:20.123Z"
    ids = [hook_recorder.new_id(ns + i * 1000, bytes([i]) * 8) for i in range(50)]
    assert ids == sorted(ids)  # sub-millisecond order is kept
    assert all(uuid_key(i) == i for i in ids)
    assert hook_recorder.new_id(ns, b"12345678") == hook_recorder.new_id(ns, b"12345678")
