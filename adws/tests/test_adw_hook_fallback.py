"""What the hook cannot write now goes to the fallback file and is replayed, never duplicated.

Bad input, unknown agents, a database that is a directory, not a database, missing, locked
or PostgreSQL, spool files nobody records, and many hooks at once: the hook still prints
nothing and exits 0.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hook_support import (
    EVENTS,
    HOOK,
    PRE_TOOL_USE,
    SESSION,
    STOP,
    event,
    fallback_lines,
    hook_env,
    query,
    run_command,
    run_hook,
    spool,
    wait_recorded,
)

from adw_modules import hook_recorder
from adw_modules.adw_database import OrchestratorDB


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
