"""The generated layer on PostgreSQL: a whole workflow, its hooks included, recorded on a real
server through TAC_ORCHESTRATOR_DB; hooks spool their events, which the runtime replays."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tac_bootstrap.runtime import hook_recorder
from tac_bootstrap.runtime.adw_database import OrchestratorDB

from .test_agentic_layer import (
    AGENT_PHASES,
    COST,
    HOOK_EVENTS,
    INPUT_TOKENS,
    ISSUE,
    agent_env,
    clean_environment,  # noqa: F401 - autouse fixture, imported to apply here too
    generate,
    run_workflow,
)

pytestmark = pytest.mark.postgres


def test_a_workflow_and_its_hooks_are_recorded_on_postgresql(tmp_path: Path, pg_url: str) -> None:
    project = generate(tmp_path)
    adw_id = "pgdemo01"
    run = run_workflow(
        project,
        tmp_path,
        ISSUE,
        "--type",
        "feature",
        "--adw-id",
        adw_id,
        TAC_ORCHESTRATOR_DB=pg_url,
    )
    assert run.returncode == 0, run.stderr
    assert not (project / "adws" / "schema" / "orchestrator.db").exists()  # nothing on SQLite

    migrations = project / "adws" / "schema" / "postgres" / "migrations"
    # Hooks import no driver: their events wait in the fallback file, and the workflow
    # records them after each phase, so none is left once the run is over.
    assert not (project / "logs" / "hooks-fallback.jsonl").exists()
    with OrchestratorDB.open(pg_url, migrations_dir=migrations) as db:
        assert db.backend == "postgresql"
        (row,) = [r for r in db.rollup("session") if r.key == adw_id]
        assert (row.prompts, row.input_tokens, row.cost_usd) == (4, 4 * INPUT_TOKENS, 4 * COST)
        agents = db.list_agents(adw_id=adw_id)
        assert sorted(a.status.value for a in agents) == ["completed"] * len(AGENT_PHASES)
        assert sum(a.total_cost_usd for a in agents) == 4 * COST
        for agent in agents:
            logs = db.recent_logs(agent_id=agent.id, limit=200)
            events = {r.details.get("hook_event_name") for r in logs} - {None}
            assert events == HOOK_EVENTS, agent.name


def test_a_hook_on_postgresql_spools_its_event_without_connecting_or_the_password(
    tmp_path: Path,
) -> None:
    project = generate(tmp_path)
    fallback = tmp_path / "fallback.jsonl"
    env = agent_env(
        project,
        tmp_path,
        TAC_ORCHESTRATOR_DB="postgresql://hooker:t0ps3cret@db.invalid:5432/orch",
        TAC_HOOK_FALLBACK_LOG=str(fallback),
    )
    event = {"session_id": "s", "hook_event_name": "Stop", "stop_hook_active": False}
    result = subprocess.run(
        [sys.executable, str(project / ".claude" / "hooks" / "orchestrator_hook.py")],
        input=json.dumps(event),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    (entry,) = [json.loads(line) for line in fallback.read_text().splitlines()]
    assert entry["error"].startswith("PostgreSQL: hooks import no driver")
    assert entry["database"] == hook_recorder.database_key(url=str(env["TAC_ORCHESTRATOR_DB"]))
    assert "t0ps3cret" not in fallback.read_text()
    assert entry["row"]["details"] == event


def test_a_hook_event_with_nul_characters_is_recorded_on_postgresql(
    tmp_path: Path, pg_url: str
) -> None:
    """Binary tool output holds NUL characters, which PostgreSQL refuses: the hook records
    the event with U+FFFD in their place instead of falling back."""
    project = generate(tmp_path)
    fallback = tmp_path / "fallback.jsonl"
    env = agent_env(
        project, tmp_path, TAC_ORCHESTRATOR_DB=pg_url, TAC_HOOK_FALLBACK_LOG=str(fallback)
    )
    event = {
        "session_id": "s-nul",
        "hook_event_name": "PostToolUse",
        "tool_name": "Read",
        "tool_input": {"file_path": "/tmp/bin\x00ary.dat"},
        "tool_response": {"content": "\x7fELF\x00\x00head", "lines": ["a\x00b", 3]},
    }
    raw = json.dumps(event)
    assert "\\u0000" in raw  # what the agent CLI sends
    result = subprocess.run(
        [sys.executable, str(project / ".claude" / "hooks" / "orchestrator_hook.py")],
        input=raw,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    assert not (project / "logs" / "hooks-fallback.jsonl").exists()

    migrations = project / "adws" / "schema" / "postgres" / "migrations"
    with OrchestratorDB.open(pg_url, migrations_dir=migrations) as db:
        # The event waited in the fallback file (hooks import no driver) until this replay.
        assert db.replay_hook_events(hook_recorder.Spool.locate(project, "logs", env)) == 1
        (row,) = [r for r in db.recent_logs(limit=50) if r.details.get("session_id") == "s-nul"]
    assert not fallback.exists(), fallback.read_text()
    assert row.message == "PostToolUse: Read /tmp/bin\ufffdary.dat"
    assert row.details["tool_response"] == {
        "content": "\x7fELF\ufffd\ufffdhead",
        "lines": ["a\ufffdb", 3],
    }
    assert row.details["tool_input"] == {"file_path": "/tmp/bin\ufffdary.dat"}
    assert "\x00" not in json.dumps(row.details, ensure_ascii=False) + row.message
