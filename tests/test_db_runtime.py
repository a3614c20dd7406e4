"""OrchestratorDB on real SQLite files and a real PostgreSQL server: models, lifecycle,
cascades, retention, bad input, rollups, log queries and maintenance.

Tests taking the `db` or `world` fixture run on both backends (the `backend` parameter);
pragmas, WAL, backup files, VACUUM page counts and the GLOB timestamp guard are SQLite's own."""

from __future__ import annotations

import json
import math
import re
import sqlite3
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import Enum
from pathlib import Path
from typing import Any

import pytest

from tac_bootstrap.runtime import adw_db_operations as ops
from tac_bootstrap.runtime.adw_database import OrchestratorDB
from tac_bootstrap.runtime.adw_db_connection import connect
from tac_bootstrap.runtime.orch_database_models import (
    Agent,
    AgentLog,
    AgentStatus,
    AgentType,
    FailureKind,
    InvalidInput,
    LogLevel,
    LogType,
    NotFound,
    OrchestratorAgent,
    OrchestratorError,
    Prompt,
    PromptStatus,
    SystemLog,
    format_timestamp,
    parse_timestamp,
)
from tac_bootstrap.runtime.orch_run_models import IssueSource, IssueType, RunStatus

from .db_helpers import (
    ISO_MS,
    LATEST_VERSION,
    MIGRATIONS,
    SCHEMA_SQL,
    TABLES,
    days_ago,
    integrity_errors,
    set_column,
    snapshot,
    sql,
    write,
)


@pytest.fixture
def db(db_target: tuple[str, Path]) -> Iterator[OrchestratorDB]:
    """A fresh, migrated database on the test's backend."""
    database, migrations = db_target
    opened = OrchestratorDB.open(database, migrations_dir=migrations)
    yield opened
    opened.close()


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[OrchestratorDB]:
    """A fresh SQLite file, for the tests about SQLite's own machinery."""
    opened = OrchestratorDB.open(tmp_path / "orchestrator.db", migrations_dir=MIGRATIONS)
    yield opened
    opened.close()


@dataclass
class World:
    db: OrchestratorDB
    owner: OrchestratorAgent
    running: Agent
    done: Agent
    open_prompt: Prompt
    done_prompt: Prompt


@pytest.fixture
def world(db: OrchestratorDB) -> World:
    return make_world(db)


@pytest.fixture
def sqlite_world(sqlite_db: OrchestratorDB) -> World:
    return make_world(sqlite_db)


def make_world(db: OrchestratorDB) -> World:
    """Two agents of one owner: one running with an open prompt, one completed."""
    owner = db.register_orchestrator_agent("builder", "builder", config={"retries": 2})
    running = db.start_agent(owner.id, "s-1", adw_id="adw-1", name="build")
    done = db.start_agent("builder", "s-1", adw_id="adw-1", name="build-2")
    done_prompt = db.start_prompt(done.id, "/build", model="sonnet")
    done_prompt = db.complete_prompt(done_prompt.id, cost_usd=0.5, input_tokens=10)
    done = db.set_agent_status(done.id, "completed")
    open_prompt = db.start_prompt(running.id, "/test")
    db.log_agent(running.id, "lifecycle", "started")
    db.log_system("boot")
    return World(db, owner, running, done, open_prompt, done_prompt)


# -- the models equal the schema ------------------------------------------------------------

CHECK_COLUMNS: dict[tuple[str, str], type[Enum]] = {
    ("orchestrator_agents", "agent_type"): AgentType,
    ("agents", "status"): AgentStatus,
    ("prompts", "status"): PromptStatus,
    ("agent_logs", "log_type"): LogType,
    ("agent_logs", "log_level"): LogLevel,
    ("system_logs", "log_level"): LogLevel,
    ("prompts", "failure_kind"): FailureKind,
    ("runs", "status"): RunStatus,
    ("runs", "issue_source"): IssueSource,
    ("runs", "issue_type"): IssueType,
}
# CHECK lists that no model field reads as an enum: derived totals keyed by dimension, and a
# 0/1 flag the model reads as a bool.
NOT_ENUMS = {("prompt_totals", "dimension"), ("run_checks", "timed_out")}


def schema_check_lists() -> dict[tuple[str, str], list[str]]:
    text = SCHEMA_SQL.read_text()
    found: dict[tuple[str, str], list[str]] = {}
    for table, body in re.findall(
        r"CREATE TABLE IF NOT EXISTS (\w+) \((.*?)\n\)[^;\n]*;", text, flags=re.S
    ):
        for column, values in re.findall(r"(\w+)\s+IN\s*\(([^)]*)\)", body):
            found[(table, column)] = re.findall(r"'([^']*)'", values)
    return found


def test_every_enum_equals_its_schema_check_list() -> None:
    lists = schema_check_lists()
    assert set(lists) == set(CHECK_COLUMNS) | NOT_ENUMS  # no CHECK list without a model enum
    for key, enum in CHECK_COLUMNS.items():
        assert [member.value for member in enum] == lists[key], key


def test_rows_read_back_validate_with_utc_millisecond_timestamps(world: World) -> None:
    db = world.db
    models: dict[str, type[Any]] = {
        "orchestrator_agents": OrchestratorAgent,
        "agents": Agent,
        "prompts": Prompt,
        "agent_logs": AgentLog,
        "system_logs": SystemLog,
    }
    for table, model in models.items():
        rows = list(db.iter_rows(table))
        assert rows, table
        for row in map(dict, rows):  # sqlite3.Row or psycopg's dict: the same dict
            record = model.model_validate(row)
            for column in row:
                if column.endswith("_at") and row[column] is not None:
                    assert re.match(ISO_MS, row[column]), (table, column, row[column])
                    moment = getattr(record, column)
                    assert moment.tzinfo is not None
                    assert moment.utcoffset() == timedelta(0)
                    assert format_timestamp(moment) == row[column]
    [raw] = sql(db, "SELECT * FROM agents WHERE id = ?", world.done.id)
    assert db.get_agent(world.done.id) == Agent.model_validate(raw)
    assert isinstance(raw["id"], str) and isinstance(raw["total_cost_usd"], float)


def test_timestamps_are_formatted_and_parsed_as_utc() -> None:
    plus_two = timezone(timedelta(hours=2))
    moment = datetime(2026, 11, 26, 12, 24, 19, 123999, tzinfo=plus_two)
    assert format_timestamp(moment) == "2026-11-26T10:24:19.123Z"
    parsed = parse_timestamp("2026-11-26T10:24:19.123Z")
    assert parsed == datetime(2026, 11, 26, 10, 24, 19, 123000, tzinfo=timezone.utc)
    assert parse_timestamp("2026-11-26T12:24:19+02:00").hour == 10
    with pytest.raises(InvalidInput, match="no time zone"):
        format_timestamp(datetime(2026, 11, 26, 10, 24, 19))
    with pytest.raises(ValueError, match="no time zone"):
        parse_timestamp("2026-11-26T10:24:19")


def test_json_columns_round_trip(db: OrchestratorDB) -> None:
    owner = db.register_orchestrator_agent(
        "reviewer",
        AgentType.REVIEWER,
        capabilities=["read", {"tool": "grep", "args": [1, 2.5, None]}],
        config='{"nested": {"ok": true}, "ünï": "cödé"}',
    )
    assert owner.capabilities == ["read", {"tool": "grep", "args": [1, 2.5, None]}]
    assert owner.config == {"nested": {"ok": True}, "ünï": "cödé"}
    agent = db.start_agent(owner.id, "s", context={"issue": 42, "labels": ["a", "b"]})
    assert db.get_agent(agent.id).context == {"issue": 42, "labels": ["a", "b"]}
    db.log_agent(agent.id, "hook", "h", details={"k": [1, {"x": "y"}]})
    [record] = db.recent_logs(agent_id=agent.id)
    assert record.details == {"k": [1, {"x": "y"}]}
    [raw] = sql(db, "SELECT capabilities, config FROM orchestrator_agents")
    # Compact JSON text on both; PostgreSQL's jsonb keeps keys in its own order.
    capabilities = ["read", {"tool": "grep", "args": [1, 2.5, None]}]
    config = {"nested": {"ok": True}, "ünï": "cödé"}
    assert (json.loads(raw["capabilities"]), json.loads(raw["config"])) == (capabilities, config)
    for text in raw.values():
        assert text == json.dumps(json.loads(text), separators=(",", ":"), ensure_ascii=False)
    if db.backend == "sqlite":
        assert raw["capabilities"] == '["read",{"tool":"grep","args":[1,2.5,null]}]'
        assert raw["config"] == '{"nested":{"ok":true},"ünï":"cödé"}'
    assert db.get_orchestrator_agent("reviewer") == owner
    assert db.get_orchestrator_agent(owner.id) == owner


def test_registering_again_updates_by_name_and_keeps_id_and_created_at(
    db: OrchestratorDB,
) -> None:
    first = db.register_orchestrator_agent("planner", "planner", description="v1")
    set_column(db, "orchestrator_agents", "updated_at", first.id, days_ago(1))
    second = db.register_orchestrator_agent(
        "planner", "custom", description="v2", default_model="opus"
    )
    assert (second.id, second.created_at) == (first.id, first.created_at)
    assert (second.agent_type, second.description, second.default_model) == (
        AgentType.CUSTOM,
        "v2",
        "opus",
    )
    # The trigger moved updated_at from yesterday (set above) to now.
    assert second.updated_at > datetime.now(timezone.utc) - timedelta(minutes=5)
    assert second.updated_at >= first.created_at
    assert [a.name for a in db.list_orchestrator_agents()] == ["planner"]


def test_agent_lifecycle_sets_times_and_never_resets_cost(world: World) -> None:
    db, agent = world.db, world.running
    assert agent.status is AgentStatus.RUNNING
    assert agent.started_at is not None and agent.completed_at is None
    assert db.set_agent_status(agent.id, "running") == db.get_agent(agent.id)  # no-op

    db.add_agent_usage(agent.id, cost_usd=0.25, input_tokens=3, output_tokens=4)
    after = db.add_agent_usage(agent.id, cost_usd=0.5, input_tokens=10, output_tokens=20)
    assert (after.total_cost_usd, after.input_tokens, after.output_tokens) == (0.75, 13, 24)

    failed = db.set_agent_status(agent.id, AgentStatus.FAILED, error_message="tests red")
    assert failed.status is AgentStatus.FAILED
    assert failed.completed_at is not None and failed.completed_at >= failed.created_at
    assert failed.error_message == "tests red"
    assert (failed.total_cost_usd, failed.input_tokens, failed.output_tokens) == (0.75, 13, 24)
    assert failed.started_at == agent.started_at

    # Usage reported late still accumulates on a finished agent; nothing resets it.
    late = db.add_agent_usage(agent.id, cost_usd=0.125)
    assert late.total_cost_usd == 0.875
    assert db.set_agent_status(agent.id, "failed").completed_at == failed.completed_at


def test_finishing_prompts_records_the_outcome_and_adds_usage_to_the_agent(
    world: World,
) -> None:
    db = world.db
    prompt = db.complete_prompt(
        world.open_prompt.id,
        response_text="done",
        model="opus",
        input_tokens=100,
        output_tokens=50,
        cost_usd=1.25,
        latency_ms=900,
    )
    assert prompt.status is PromptStatus.COMPLETED
    assert (prompt.response_text, prompt.model, prompt.latency_ms) == ("done", "opus", 900)
    assert prompt.completed_at is not None
    second = db.start_prompt(world.running.id, "/retry", model="sonnet")
    failed = db.fail_prompt(second.id, "rate limited", input_tokens=5, cost_usd=0.25)
    assert failed.status is PromptStatus.FAILED and failed.error_message == "rate limited"
    assert failed.model == "sonnet"  # kept when the result names no model
    agent = db.get_agent(world.running.id)
    assert (agent.total_cost_usd, agent.input_tokens, agent.output_tokens) == (1.5, 105, 50)
    assert {p.id for p in db.list_prompts(agent_id=world.running.id)} == {prompt.id, second.id}
    assert len(db.list_prompts(session_id="s-1")) == 3
    assert db.list_prompts(session_id="other") == []


def test_every_connection_enables_foreign_keys_wal_and_the_busy_timeout(tmp_path: Path) -> None:
    """SQLite keeps these settings per connection: every connection must set them."""
    path = tmp_path / "nested" / "dir" / "orchestrator.db"
    conn = connect(path, busy_timeout_ms=1234)
    try:
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 1234
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()
    with OrchestratorDB.open(path, migrations_dir=MIGRATIONS, busy_timeout_ms=2500) as db:
        assert db.conn.execute("PRAGMA busy_timeout").fetchone()[0] == 2500
        assert db.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1


# -- cascades and retention -----------------------------------------------------------------


def agent_tree(db: OrchestratorDB, owner: str, session: str, prompts: int, logs: int) -> Agent:
    agent = db.start_agent(owner, session)
    for i in range(prompts):
        db.start_prompt(agent.id, f"prompt {i}")
    for i in range(logs):
        db.log_agent(agent.id, "tool_call", f"log {i}")
    return agent


def test_deleting_an_orchestrator_agent_cascades_to_its_whole_tree(db: OrchestratorDB) -> None:
    builder = db.register_orchestrator_agent("builder", "builder")
    planner = db.register_orchestrator_agent("planner", "planner")
    agent_tree(db, builder.id, "s", prompts=2, logs=3)
    agent_tree(db, builder.id, "s", prompts=1, logs=1)
    kept = agent_tree(db, planner.id, "s", prompts=1, logs=2)
    db.log_system("unrelated")
    assert db.table_counts() == {
        "orchestrator_agents": 2,
        "agents": 3,
        "prompts": 4,
        "agent_logs": 6,
        "system_logs": 1,
        "prompt_model_usage": 0,
        "session_usage": 0,
        "runs": 0,
        "run_checks": 0,
        "webhook_deliveries": 0,
    }

    write(db, "DELETE FROM orchestrator_agents WHERE id = ?", builder.id)
    assert db.table_counts() == {
        "orchestrator_agents": 1,
        "agents": 1,
        "prompts": 1,
        "agent_logs": 2,
        "system_logs": 1,
        "prompt_model_usage": 0,
        "session_usage": 0,
        "runs": 0,
        "run_checks": 0,
        "webhook_deliveries": 0,
    }
    assert [a.id for a in db.list_agents()] == [kept.id]

    write(db, "DELETE FROM agents WHERE id = ?", kept.id)
    counts = db.table_counts()
    assert (counts["prompts"], counts["agent_logs"]) == (0, 0)
    orphans = sql(
        db,
        "SELECT count(*) AS n FROM agents a WHERE NOT EXISTS "
        "(SELECT 1 FROM orchestrator_agents o WHERE o.id = a.orchestrator_agent_id)",
    )
    assert orphans == [{"n": 0}]


def test_prune_removes_old_logs_and_old_finished_agents_only(db: OrchestratorDB) -> None:

    owner = db.register_orchestrator_agent("builder", "builder").id

    old_done = agent_tree(db, owner, "s", prompts=2, logs=3)  # finished 40 days ago: goes
    db.set_agent_status(old_done.id, "completed")
    set_column(db, "agents", "created_at", old_done.id, days_ago(41))
    set_column(db, "agents", "completed_at", old_done.id, days_ago(40))

    old_running = agent_tree(db, owner, "s", prompts=1, logs=1)  # still running: stays
    set_column(db, "agents", "created_at", old_running.id, days_ago(45))
    for age in (35, 36):
        log_id = db.log_agent(old_running.id, "hook", f"old {age}")
        set_column(db, "agent_logs", "created_at", log_id, days_ago(age))

    recent_done = agent_tree(db, owner, "s", prompts=1, logs=1)  # finished today: stays
    db.set_agent_status(recent_done.id, "completed")
    old_log = db.log_agent(recent_done.id, "hook", "ancient")  # but its old log goes
    set_column(db, "agent_logs", "created_at", old_log, days_ago(50))

    old_failed = agent_tree(db, owner, "s", prompts=1, logs=0)  # finished 31 days ago: goes
    db.set_agent_status(old_failed.id, "failed")
    set_column(db, "agents", "completed_at", old_failed.id, days_ago(31))

    late_cancel = agent_tree(db, owner, "s", prompts=1, logs=0)  # created long ago, ended
    db.set_agent_status(late_cancel.id, "cancelled")  # recently: stays
    set_column(db, "agents", "created_at", late_cancel.id, days_ago(60))

    for age in (40, 90):
        log_id = db.log_system(f"system {age}")
        set_column(db, "system_logs", "created_at", log_id, days_ago(age))
    db.log_system("system today")

    expected = {
        "agents": 2, "prompts": 3, "agent_logs": 6, "system_logs": 2, "session_usage": 0,
        "runs": 0, "run_checks": 0, "webhook_deliveries": 0,
    }  # fmt: skip
    before_rows = snapshot(db)
    before_counts = db.table_counts()

    assert db.prune(30, dry_run=True) == expected
    assert snapshot(db) == before_rows

    assert db.prune(30) == expected
    after_counts = db.table_counts()
    assert {t: before_counts[t] - after_counts[t] for t in expected} == expected
    assert {a.id for a in db.list_agents()} == {old_running.id, recent_done.id, late_cancel.id}
    assert {r.message for r in db.recent_logs(include_system=False)} == {
        "log 0"
    }  # one recent log each for old_running and recent_done
    assert len(db.recent_logs(include_system=False)) == 2
    assert [r.message for r in db.recent_logs() if r.source == "system"] == ["system today"]
    assert db.prune(30) == dict.fromkeys(expected, 0)


# -- bad input is rejected and writes nothing ---------------------------------------------

NAIVE = datetime(2026, 1, 1, 12, 0)
GHOST = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"  # a UUIDv7 no row has
Case = tuple[Callable[[World], object], type[Exception], str]

BAD_INPUT: dict[str, Case] = {
    "unknown agent_type": (
        lambda w: w.db.register_orchestrator_agent("x", "wizard"),
        InvalidInput,
        "invalid agent_type: 'wizard' is not one of planner, builder",
    ),
    "empty orchestrator name": (
        lambda w: w.db.register_orchestrator_agent(" ", "planner"),
        InvalidInput,
        "orchestrator agent name",
    ),
    "config list where an object is required": (
        lambda w: w.db.register_orchestrator_agent("x", "planner", config="[1, 2]"),
        InvalidInput,
        "invalid config: must be a JSON dict",
    ),
    "capabilities object where a list is required": (
        lambda w: w.db.register_orchestrator_agent("x", "planner", capabilities='{"a": 1}'),
        InvalidInput,
        "invalid capabilities: must be a JSON list",
    ),
    "malformed JSON config": (
        lambda w: w.db.register_orchestrator_agent("x", "planner", config="{bad"),
        InvalidInput,
        "invalid config: malformed JSON",
    ),
    "unknown orchestrator agent in start_agent": (
        lambda w: w.db.start_agent("no-such-owner", "s"),
        NotFound,
        "orchestrator agent 'no-such-owner' does not exist",
    ),
    "empty session": (
        lambda w: w.db.start_agent(w.owner.id, ""),
        InvalidInput,
        "invalid session_id",
    ),
    "context that is a list": (
        lambda w: w.db.start_agent(w.owner.id, "s", context=[1]),  # type: ignore[arg-type]
        InvalidInput,
        "invalid context: must be a JSON dict",
    ),
    "unknown status": (
        lambda w: w.db.set_agent_status(w.running.id, "sleeping"),
        InvalidInput,
        "invalid status: 'sleeping' is not one of pending, running",
    ),
    "completed -> running": (
        lambda w: w.db.set_agent_status(w.done.id, "running"),
        InvalidInput,
        "cannot go from completed to running",
    ),
    "completed -> failed": (
        lambda w: w.db.set_agent_status(w.done.id, AgentStatus.FAILED),
        InvalidInput,
        "cannot go from completed to failed",
    ),
    "status of an unknown agent": (
        lambda w: w.db.set_agent_status("no-such-agent", "completed"),
        NotFound,
        "agent 'no-such-agent' does not exist",
    ),
    "negative input tokens": (
        lambda w: w.db.add_agent_usage(w.running.id, input_tokens=-1),
        InvalidInput,
        "invalid usage: input_tokens: Input should be greater than or equal to 0",
    ),
    "negative cost": (
        lambda w: w.db.add_agent_usage(w.running.id, cost_usd=-0.5),
        InvalidInput,
        "invalid usage: cost_usd: Input should be greater than or equal to 0",
    ),
    "NaN cost": (
        lambda w: w.db.add_agent_usage(w.running.id, cost_usd=math.nan),
        InvalidInput,
        "invalid usage: cost_usd: Input should be a finite number",
    ),
    "infinite cost": (
        lambda w: w.db.add_agent_usage(w.running.id, cost_usd=math.inf),
        InvalidInput,
        "invalid usage: cost_usd",
    ),
    "usage of an unknown agent": (
        lambda w: w.db.add_agent_usage("no-such-agent", cost_usd=1.0),
        NotFound,
        "agent 'no-such-agent' does not exist",
    ),
    "prompt of an unknown agent": (
        lambda w: w.db.start_prompt("no-such-agent", "hello"),
        NotFound,
        "agent 'no-such-agent' does not exist",
    ),
    "completing a prompt twice": (
        lambda w: w.db.complete_prompt(w.done_prompt.id, cost_usd=1.0),
        InvalidInput,
        "is already completed",
    ),
    "failing a completed prompt": (
        lambda w: w.db.fail_prompt(w.done_prompt.id, "late"),
        InvalidInput,
        "is already completed",
    ),
    "negative prompt tokens": (
        lambda w: w.db.complete_prompt(w.open_prompt.id, output_tokens=-5),
        InvalidInput,
        "invalid prompt result: output_tokens",
    ),
    "NaN prompt cost": (
        lambda w: w.db.complete_prompt(w.open_prompt.id, cost_usd=math.nan),
        InvalidInput,
        "invalid prompt result: cost_usd: Input should be a finite number",
    ),
    "unknown prompt result field": (
        lambda w: w.db.complete_prompt(w.open_prompt.id, tokens=5),  # type: ignore[call-arg]
        TypeError,
        "unexpected keyword argument 'tokens'",
    ),
    "completing an unknown prompt": (
        lambda w: w.db.complete_prompt("no-such-prompt"),
        NotFound,
        "prompt 'no-such-prompt' does not exist",
    ),
    "unknown log_type": (
        lambda w: w.db.log_agent(w.running.id, "chatter", "m"),
        InvalidInput,
        "invalid agent log: log_type: Input should be 'lifecycle'",
    ),
    "unknown log level": (
        lambda w: w.db.log_agent(w.running.id, "hook", "m", level="LOUD"),
        InvalidInput,
        "invalid agent log: log_level",
    ),
    "malformed JSON details": (
        lambda w: w.db.log_agent(w.running.id, "hook", "m", details='{"a": '),
        InvalidInput,
        "invalid agent log: details: malformed JSON",
    ),
    "details that is a list (JSON text)": (
        lambda w: w.db.log_agent(w.running.id, "hook", "m", details="[1, 2]"),
        InvalidInput,
        "invalid agent log: details: Input should be a valid dictionary",
    ),
    "details that is a list": (
        lambda w: w.db.log_agent(w.running.id, "hook", "m", details=[1, 2]),  # type: ignore[arg-type]
        InvalidInput,
        "invalid agent log: details: Input should be a valid dictionary",
    ),
    "log of an unknown agent": (
        lambda w: w.db.log_agent("no-such-agent", "hook", "m"),
        NotFound,
        "agent 'no-such-agent' does not exist",
    ),
    "batch with one unknown agent among good entries": (
        lambda w: w.db.log_agent_batch(
            [
                {"agent_id": w.running.id, "log_type": "hook", "message": "good 1"},
                {"agent_id": "no-such-agent", "log_type": "hook", "message": "bad"},
                {"agent_id": w.done.id, "log_type": "hook", "message": "good 2"},
            ]
        ),
        NotFound,
        "agent(s) 'no-such-agent' do not exist",
    ),
    "batch with one invalid entry among good ones": (
        lambda w: w.db.log_agent_batch(
            [
                {"agent_id": w.running.id, "log_type": "hook", "message": "good"},
                {"agent_id": w.running.id, "log_type": "hook", "message": "x", "details": "[]"},
            ]
        ),
        InvalidInput,
        "invalid agent log batch: 1.details",
    ),
    "system log with a bad level": (
        lambda w: w.db.log_system("m", level="LOUD"),
        InvalidInput,
        "invalid system log: log_level",
    ),
    "system batch with one invalid entry": (
        lambda w: w.db.log_system_batch([{"message": "ok"}, {"message": "x", "component": ""}]),
        InvalidInput,
        "invalid system log batch: 1.component",
    ),
    "naive since": (
        lambda w: w.db.recent_logs(since=NAIVE),
        InvalidInput,
        "has no time zone; use UTC",
    ),
    "unknown min level": (
        lambda w: w.db.recent_logs(min_level="LOUD"),
        InvalidInput,
        "invalid level: 'LOUD' is not one of DEBUG",
    ),
    "zero limit": (
        lambda w: w.db.list_agents(limit=0),
        InvalidInput,
        "invalid limit: must be a positive integer",
    ),
    "negative retention": (
        lambda w: w.db.prune(-1),
        InvalidInput,
        "invalid older_than_days",
    ),
    "unknown rollup": (
        lambda w: w.db.rollup("week"),  # type: ignore[arg-type]
        InvalidInput,
        "invalid rollup: 'week' is not one of session, agent, model, day",
    ),
    # Well-formed ids of rows that do not exist reach the database (a foreign key refuses
    # them or no row matches), unlike 'no-such-agent', which is answered before any SQL.
    "owner with an unknown UUID": (
        lambda w: w.db.start_agent(GHOST, "s"),
        NotFound,
        f"orchestrator agent '{GHOST}' does not exist",
    ),
    "prompt of an unknown agent UUID": (
        lambda w: w.db.start_prompt(GHOST, "hello"),
        NotFound,
        f"agent '{GHOST}' does not exist",
    ),
    "log of an unknown agent UUID": (
        lambda w: w.db.log_agent(GHOST, "hook", "m"),
        NotFound,
        f"agent '{GHOST}' does not exist",
    ),
    "batch with an unknown agent UUID": (
        lambda w: w.db.log_agent_batch(
            [
                {"agent_id": w.running.id, "log_type": "hook", "message": "good"},
                {"agent_id": GHOST.upper(), "log_type": "hook", "message": "bad"},
            ]
        ),
        NotFound,
        f"agent(s) '{GHOST.upper()}' do not exist",
    ),
    "status of an unknown agent UUID": (
        lambda w: w.db.set_agent_status(GHOST, "completed"),
        NotFound,
        f"agent '{GHOST}' does not exist",
    ),
    "usage of an unknown agent UUID": (
        lambda w: w.db.add_agent_usage(GHOST, cost_usd=1.0),
        NotFound,
        f"agent '{GHOST}' does not exist",
    ),
    "completing an unknown prompt UUID": (
        lambda w: w.db.complete_prompt(GHOST, cost_usd=1.0),
        NotFound,
        f"prompt '{GHOST}' does not exist",
    ),
}


@pytest.mark.parametrize("case", BAD_INPUT.values(), ids=list(BAD_INPUT))
def test_bad_input_is_rejected_and_writes_nothing(world: World, case: Case) -> None:
    call, error, fragment = case
    before = snapshot(world.db)
    counts = world.db.table_counts()
    with pytest.raises(error) as raised:
        call(world)
    assert fragment in str(raised.value)
    assert "\n" not in str(raised.value)
    assert not world.db.in_transaction
    assert world.db.table_counts() == counts
    assert snapshot(world.db) == before
    world.db.log_system("still usable")  # the connection is not left in a broken state


GUARDED: dict[str, tuple[str, str, Any]] = {
    "timestamp with microseconds": ("agents", "created_at", "2026-01-01T10:00:00.123456Z"),
    "negative cost": ("agents", "total_cost_usd", -1.0),
    "negative tokens": ("agents", "input_tokens", -1),
    "unknown status": ("agents", "status", "sleeping"),
    "context that is a JSON list": ("agents", "context", "[1]"),
}


@pytest.mark.parametrize("case", GUARDED.values(), ids=list(GUARDED))
def test_the_schema_still_guards_what_the_api_lets_through(
    world: World, case: tuple[str, str, Any]
) -> None:
    """Defence in depth: the CHECK constraints refuse what bypasses validation, on both."""
    table, column, value = case
    before = snapshot(world.db)
    with pytest.raises(integrity_errors()) as raised:
        set_column(world.db, table, column, world.running.id, value)
    violation = world.db.dialect.classify(raised.value)
    assert violation is not None and violation.kind == "check"
    assert not world.db.in_transaction
    assert snapshot(world.db) == before


def test_sqlite_timestamps_must_have_the_one_text_format(sqlite_world: World) -> None:
    """SQLite stores timestamps as text: a GLOB check keeps every row in one sortable format."""
    with pytest.raises(sqlite3.IntegrityError):
        sqlite_world.db.conn.execute(
            "UPDATE agents SET created_at = '2026-01-01 10:00:00' WHERE id = ?",
            (sqlite_world.running.id,),
        )


# -- queries and maintenance --------------------------------------------------------------


@dataclass(frozen=True)
class PromptSpec:
    agent: str
    model: str | None
    cost: float
    tokens_in: int
    tokens_out: int
    day: str | None = None  # backdate to this UTC day
    finish: bool = True


SESSIONS = {"a1": "s1", "a2": "s1", "a3": "s2"}
PROMPT_SPECS = [
    PromptSpec("a1", "sonnet", 0.5, 100, 10),
    PromptSpec("a1", "sonnet", 0.25, 50, 5, day="2026-01-14"),
    PromptSpec("a1", "opus", 2.0, 300, 30),
    PromptSpec("a2", "haiku", 0.125, 10, 1),
    PromptSpec("a2", None, 0.0625, 20, 2),
    PromptSpec("a3", "opus", 1.0, 200, 20, day="2026-01-15"),
    PromptSpec("a3", "sonnet", 0.0, 0, 0, day="2026-01-15", finish=False),
]


def test_rollups_by_session_agent_model_and_day(db: OrchestratorDB) -> None:
    owner = db.register_orchestrator_agent("builder", "builder").id
    agents = {label: db.start_agent(owner, session).id for label, session in SESSIONS.items()}
    today = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    for index, spec in enumerate(PROMPT_SPECS):
        prompt = db.start_prompt(agents[spec.agent], f"p{index}", model=spec.model)
        if spec.finish:
            db.complete_prompt(
                prompt.id,
                cost_usd=spec.cost,
                input_tokens=spec.tokens_in,
                output_tokens=spec.tokens_out,
            )
        if spec.day:
            set_column(db, "prompts", "created_at", prompt.id, f"{spec.day}T23:59:59.999Z")

    key_of: dict[str, Callable[[PromptSpec], str]] = {
        "session": lambda s: SESSIONS[s.agent],
        "agent": lambda s: agents[s.agent],
        "model": lambda s: s.model or "unknown",
        "day": lambda s: s.day or today,
    }
    for by, key in key_of.items():
        expected: dict[str, list[float]] = {}
        for spec in PROMPT_SPECS:
            sums = expected.setdefault(key(spec), [0, 0, 0, 0.0])
            for i, value in enumerate((1, spec.tokens_in, spec.tokens_out, spec.cost)):
                sums[i] += value
        rows = db.rollup(by)  # type: ignore[arg-type]
        assert [(r.key, r.prompts, r.input_tokens, r.output_tokens, r.cost_usd) for r in rows] == [
            (k, *v) for k, v in sorted(expected.items(), key=lambda kv: (-kv[1][3], kv[0]))
        ], by

    s1_models = {r.key: r.cost_usd for r in db.rollup("model", session_id="s1")}
    assert s1_models == {"sonnet": 0.75, "opus": 2.0, "haiku": 0.125, "unknown": 0.0625}
    assert [r.key for r in db.rollup("session", session_id="s2")] == ["s2"]
    assert db.rollup("agent", session_id="nobody") == []


def test_recent_logs_filter_by_agent_level_since_and_limit(db: OrchestratorDB) -> None:
    owner = db.register_orchestrator_agent("builder", "builder").id
    a1 = db.start_agent(owner, "s").id
    a2 = db.start_agent(owner, "s").id
    base = datetime.now(timezone.utc) - timedelta(hours=1)
    plan: list[tuple[str | None, str]] = [
        (a1, "DEBUG"),
        (a1, "INFO"),
        (a1, "WARNING"),
        (a2, "ERROR"),
        (a2, "CRITICAL"),
        (None, "INFO"),
        (None, "ERROR"),
    ]
    for minute, (agent, level) in enumerate(plan):
        message = f"m{minute}"
        if agent is None:
            log_id = db.log_system(message, level=level, component="cli")
            table = "system_logs"
        else:
            log_id = db.log_agent(agent, "tool_call", message, level=level, details={"n": minute})
            table = "agent_logs"
        stamp = format_timestamp(base + timedelta(minutes=minute))
        set_column(db, table, "created_at", log_id, stamp)

    def messages(**filters: Any) -> list[str]:
        return [r.message for r in db.recent_logs(**filters)]

    assert messages() == ["m6", "m5", "m4", "m3", "m2", "m1", "m0"]
    assert messages(agent_id=a1) == ["m2", "m1", "m0"]
    assert messages(agent_id=a2, min_level="CRITICAL") == ["m4"]
    assert messages(min_level=LogLevel.WARNING) == ["m6", "m4", "m3", "m2"]
    assert messages(min_level="DEBUG") == messages()
    since = base + timedelta(minutes=2, seconds=30)
    assert messages(since=since) == ["m6", "m5", "m4", "m3"]
    assert messages(since=since.astimezone(timezone(timedelta(hours=-5)))) == messages(since=since)
    assert messages(since=base + timedelta(minutes=3)) == ["m6", "m5", "m4", "m3"]  # inclusive
    assert messages(limit=2) == ["m6", "m5"]
    assert messages(include_system=False) == ["m4", "m3", "m2", "m1", "m0"]
    assert messages(min_level="ERROR", since=since, limit=2) == ["m6", "m4"]

    records = db.recent_logs(limit=2)
    assert (records[0].source, records[0].component, records[0].agent_id) == (
        "system",
        "cli",
        None,
    )
    newest_agent_log = db.recent_logs(agent_id=a2, limit=1)[0]
    assert newest_agent_log.source == "agent"
    assert (newest_agent_log.log_type, newest_agent_log.details) == ("tool_call", {"n": 4})
    assert newest_agent_log.log_level is LogLevel.CRITICAL
    assert newest_agent_log.created_at == base.replace(
        microsecond=base.microsecond // 1000 * 1000
    ) + timedelta(minutes=4)


def test_logs_written_in_one_millisecond_come_back_newest_first(db: OrchestratorDB) -> None:
    """A batch shares one timestamp: only the insertion order ({seq}) can order it."""
    owner = db.register_orchestrator_agent("builder", "builder").id
    agent = db.start_agent(owner, "s").id
    messages = [f"m{i:02}" for i in range(60)]
    db.log_agent_batch([{"agent_id": agent, "log_type": "hook", "message": m} for m in messages])
    db.log_system_batch([{"message": f"sys {m}"} for m in messages])
    newest_first = list(reversed(messages))
    assert len({r.created_at for r in db.recent_logs(include_system=False, limit=60)}) == 1
    assert [r.message for r in db.recent_logs(agent_id=agent, limit=60)] == newest_first
    system = [r.message for r in db.recent_logs(limit=200) if r.source == "system"]
    assert system == [f"sys {m}" for m in newest_first]
    assert [r.message for r in db.recent_logs(agent_id=agent, limit=3)] == newest_first[:3]


def test_ids_are_accepted_in_any_case_and_spelling_of_the_same_uuid(world: World) -> None:
    """uuid.UUID parses upper case, braces and bare hex; every spelling names the same row."""
    db, agent = world.db, world.running
    for spelling in (agent.id.upper(), "{" + agent.id + "}", agent.id.replace("-", "")):
        assert db.get_agent(spelling) == db.get_agent(agent.id)
        prompt = db.start_prompt(spelling, "hello")
        assert prompt.agent_id == agent.id
        assert db.get_prompt(prompt.id.upper()) == prompt
        db.log_agent(spelling, "hook", spelling)
        assert db.recent_logs(agent_id=spelling, limit=1)[0].message == spelling
        assert prompt.id in {p.id for p in db.list_prompts(agent_id=spelling)}
    assert db.get_orchestrator_agent(world.owner.id.upper()) == db.get_orchestrator_agent("builder")
    assert db.start_agent(world.owner.id.upper(), "s-9").orchestrator_agent_id == world.owner.id
    db.log_agent_batch([{"agent_id": agent.id.upper(), "log_type": "hook", "message": "b"}])
    assert db.add_agent_usage(agent.id.upper(), cost_usd=0.5).total_cost_usd == 0.5
    assert db.set_agent_status(agent.id.upper(), "completed").status is AgentStatus.COMPLETED


def test_list_agents_filters(world: World) -> None:
    db = world.db
    other = db.start_agent(world.owner.id, "s-2", adw_id="adw-2")
    assert {a.id for a in db.list_agents(session_id="s-1")} == {world.running.id, world.done.id}
    assert [a.id for a in db.list_agents(status="completed")] == [world.done.id]
    assert [a.id for a in db.list_agents(adw_id="adw-2")] == [other.id]
    assert len(db.list_agents(limit=1)) == 1
    assert len(db.list_agents()) == 3
    with pytest.raises(NotFound, match="orchestrator agent 'ghost' does not exist"):
        db.get_orchestrator_agent("ghost")


def test_backup_opens_with_the_same_counts_and_refuses_an_existing_file(
    sqlite_world: World, tmp_path: Path
) -> None:
    world = sqlite_world
    db = world.db
    db.log_agent_batch(
        [{"agent_id": world.running.id, "log_type": "hook", "message": f"b{i}"} for i in range(50)]
    )
    progress: list[tuple[int, int]] = []
    target = tmp_path / "backups" / "copy.db"
    assert db.backup(target, progress=lambda done, total: progress.append((done, total))) == target
    assert progress and progress[-1][0] == progress[-1][1] > 0

    with OrchestratorDB.open(target, migrations_dir=MIGRATIONS) as copy:
        assert copy.table_counts() == db.table_counts()
        assert copy.schema_version() == LATEST_VERSION
        assert copy.pending_migrations() == []
        assert copy.get_agent(world.done.id) == db.get_agent(world.done.id)
        assert copy.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    existing = tmp_path / "backups" / "existing.db"
    existing.write_bytes(b"keep me")
    with pytest.raises(OrchestratorError, match="already exists"):
        db.backup(existing)
    assert existing.read_bytes() == b"keep me"
    assert sorted(p.name for p in existing.parent.iterdir()) == ["copy.db", "existing.db"]


def test_vacuum_reclaims_space_and_keeps_the_data(sqlite_world: World) -> None:
    db = sqlite_world.db
    db.log_system_batch([{"message": "x" * 2000, "details": {"i": i}} for i in range(500)])
    db.conn.execute("DELETE FROM system_logs WHERE message LIKE 'xxx%'")
    pages_before = db.conn.execute("PRAGMA page_count").fetchone()[0]
    assert db.conn.execute("PRAGMA freelist_count").fetchone()[0] > 0
    counts = db.table_counts()
    db.vacuum()
    assert db.conn.execute("PRAGMA freelist_count").fetchone()[0] == 0
    assert db.conn.execute("PRAGMA page_count").fetchone()[0] < pages_before
    assert db.table_counts() == counts
    assert db.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_status_and_iter_rows(world: World) -> None:
    db = world.db
    status = db.status()
    assert (status.exists, status.schema_version, status.backend) == (
        True,
        LATEST_VERSION,
        db.backend,
    )
    assert status.pending == []
    assert status.counts == db.table_counts()
    assert set(status.counts) == set(TABLES)
    assert status.size_bytes > 0
    assert status.location == db.location.display
    if db.backend == "sqlite":
        assert db.path is not None and status.path == db.path
        assert status.size_bytes >= db.path.stat().st_size > 0
        assert status.server_version == ""
    else:
        assert (db.path, status.path) == (None, None)
        assert re.fullmatch(r"\d+\.\d+", status.server_version)
    rows = list(db.iter_rows("agents"))
    assert {r["id"] for r in rows} == {world.running.id, world.done.id}
    assert [tuple(dict(r)) for r in rows] == [ops.COLUMNS["agents"]] * 2
    assert not db.in_transaction
    with pytest.raises(OrchestratorError, match="unknown table 'schema_migrations'"):
        list(db.iter_rows("schema_migrations"))


def test_iter_rows_streams_logs_in_insertion_order_and_ends_its_snapshot(
    db: OrchestratorDB,
) -> None:
    """Logs written in one millisecond still come back in the order they were written."""
    owner = db.register_orchestrator_agent("builder", "builder").id
    agent = db.start_agent(owner, "s").id
    db.log_agent_batch(
        [{"agent_id": agent, "log_type": "hook", "message": f"m{i:03}"} for i in range(300)]
    )
    assert [r["message"] for r in db.iter_rows("agent_logs")] == [f"m{i:03}" for i in range(300)]
    rows = db.iter_rows("agent_logs")
    assert isinstance(rows, Generator)
    assert next(rows)["message"] == "m000"
    rows.close()  # abandoned half way: its read transaction must not stay open
    assert not db.in_transaction
    db.log_system("still writable")
    assert db.table_counts()["system_logs"] == 1


def test_writes_between_the_rows_of_iter_rows_work(world: World) -> None:
    """A loop over iter_rows that writes per row: no read transaction may be held open across
    the rows (on PostgreSQL a read-only one refused the writes)."""
    db = world.db
    seen = []
    for row in db.iter_rows("agents"):
        assert not db.in_transaction
        seen.append(row["id"])
        db.log_agent(row["id"], "hook", "visited")
        if row["status"] == "running":
            db.set_agent_status(row["id"], "completed")
    assert sorted(seen) == sorted([world.running.id, world.done.id])
    assert {a.status for a in db.list_agents()} == {AgentStatus.COMPLETED}
    assert len(db.recent_logs(include_system=False)) == 3  # the world's one, and one per agent


def test_nested_loops_over_iter_rows_of_the_same_table_work(db: OrchestratorDB) -> None:
    """Each loop has its own cursor (on PostgreSQL a server-side cursor with its own name)."""
    owner = db.register_orchestrator_agent("builder", "builder").id
    agent = db.start_agent(owner, "s").id
    db.log_agent_batch(
        [{"agent_id": agent, "log_type": "hook", "message": f"m{i}"} for i in range(5)]
    )
    everything = [f"m{i}" for i in range(5)]
    outer = []
    for row in db.iter_rows("agent_logs"):
        outer.append(row["message"])
        assert [r["message"] for r in db.iter_rows("agent_logs")] == everything
    assert outer == everything
    assert not db.in_transaction
    with db.snapshot():  # inside a snapshot the cursors join its transaction; still nested
        pairs = [
            (a["message"], b["message"])
            for a in db.iter_rows("agent_logs")
            for b in db.iter_rows("agent_logs")
        ]
    assert pairs == [(a, b) for a in everything for b in everything]
    assert not db.in_transaction
    db.log_system("still writable")


def test_a_write_inside_a_snapshot_is_refused_and_the_snapshot_stays(
    db_target: tuple[str, Path],
) -> None:
    """A write would end the snapshot (PostgreSQL ignores the nested BEGIN, SQLite refuses it
    as an engine error): it is refused before it starts, and the reads go on."""
    database, migrations = db_target
    with (
        OrchestratorDB.open(database, migrations_dir=migrations) as db,
        OrchestratorDB.open(database, migrations_dir=migrations) as other,
    ):
        db.register_orchestrator_agent("first", "planner")
        with db.snapshot():
            assert db.table_counts()["orchestrator_agents"] == 1
            if db.backend == "postgresql":  # SQLite: only refusal and reads are asserted
                other.register_orchestrator_agent("second", "planner")
            for write_call in (
                lambda: db.register_orchestrator_agent("third", "planner"),
                lambda: db.log_system("inside"),
                lambda: db.prune(1),
                db.vacuum,  # PostgreSQL: VACUUM in a transaction would break the snapshot
            ):
                with pytest.raises(OrchestratorError, match="inside snapshot") as raised:
                    write_call()
                assert type(raised.value) is OrchestratorError  # not an engine error
                assert db.in_transaction  # the snapshot's transaction is still open
            names = [r["name"] for r in db.iter_rows("orchestrator_agents")]
            assert names == ["first"]  # on PostgreSQL "second" is committed, yet not seen
            assert db.table_counts()["system_logs"] == 0
        assert not db.in_transaction
        db.log_system("after")
        db.register_orchestrator_agent("third", "planner")
        counts = db.table_counts()
        expected = 3 if db.backend == "postgresql" else 2
        assert (counts["orchestrator_agents"], counts["system_logs"]) == (expected, 1)


def test_sqlite_stores_nul_characters_that_postgresql_refuses(sqlite_db: OrchestratorDB) -> None:
    """The backends differ here: SQLite keeps NUL in text and JSON as given (PostgreSQL raises
    InvalidInput, test_db_postgres_runtime.py), so `db copy` to PostgreSQL looks first."""
    db = sqlite_db
    owner = db.register_orchestrator_agent("builder", "builder")
    agent = db.start_agent(owner.id, "s")
    db.log_agent(agent.id, "hook", "a\x00b")
    db.log_agent(agent.id, "hook", "fine", details={"x": "a\x00b"})
    prompt = db.start_prompt(agent.id, "a\x00b")
    assert db.get_prompt(prompt.id).prompt_text == "a\x00b"
    logs = {log.message: log.details for log in db.recent_logs(include_system=False)}
    assert logs == {"a\x00b": {}, "fine": {"x": "a\x00b"}}
    assert not db.in_transaction


def test_a_prompt_on_several_models_is_split_by_model_and_totals_stay_exact(
    db: OrchestratorDB,
) -> None:
    """A subagent (or a fallback) on another model: each model's share goes to its own row
    of the by-model rollup, every other grouping and the totals are the prompts'."""
    owner = db.register_orchestrator_agent("splitter", "builder")
    agent = db.start_agent(owner.id, "split-session", name="split")
    single = db.start_prompt(agent.id, "one model")
    db.complete_prompt(single.id, model="sonnet-x", input_tokens=10, output_tokens=5, cost_usd=0.5)
    several = db.start_prompt(agent.id, "two models")
    shares = [
        {"model": "sonnet-x", "input_tokens": 7, "output_tokens": 3, "cache_read_tokens": 100,
         "cost_usd": 0.25},
        {"model": "haiku-y", "input_tokens": 2, "output_tokens": 1, "cache_read_tokens": 50,
         "cost_usd": 0.125},
    ]  # fmt: skip
    db.complete_prompt(
        several.id, model="sonnet-x", input_tokens=9, output_tokens=4, cache_read_tokens=150,
        cost_usd=0.375, model_usage=shares,
    )  # fmt: skip
    by_model = {r.key: r for r in db.rollup("model", session_id="split-session")}
    assert set(by_model) == {"sonnet-x", "haiku-y"}
    sonnet, haiku = by_model["sonnet-x"], by_model["haiku-y"]
    assert (sonnet.input_tokens, sonnet.output_tokens, sonnet.cache_read_tokens) == (17, 8, 100)
    assert (haiku.input_tokens, haiku.output_tokens, haiku.cache_read_tokens) == (2, 1, 50)
    assert (sonnet.cost_usd, haiku.cost_usd) == (0.75, 0.125)
    assert (sonnet.prompts, haiku.prompts) == (2, 0)  # a prompt counts under its main model
    [session] = db.rollup("session", session_id="split-session")
    assert (session.prompts, session.input_tokens, session.cost_usd) == (2, 19, 0.875)
    assert [s.model for s in db.prompt_model_usage(several.id)] == ["sonnet-x", "haiku-y"]
    # A single model's share is the prompt itself (nothing extra is stored for it).
    [own] = db.prompt_model_usage(single.id)
    assert (own.model, own.input_tokens, own.cost_usd) == ("sonnet-x", 10, 0.5)
    assert db.table_counts()["prompt_model_usage"] == 2


def test_model_shares_that_do_not_add_up_are_refused_before_writing(db: OrchestratorDB) -> None:
    owner = db.register_orchestrator_agent("splitter", "builder")
    agent = db.start_agent(owner.id, "split-session", name="split")
    prompt = db.start_prompt(agent.id, "two models")
    shares = [{"model": "a", "input_tokens": 1}, {"model": "b", "input_tokens": 1}]
    with pytest.raises(InvalidInput, match="input_tokens add up to 2, not the prompt's 3"):
        db.complete_prompt(prompt.id, model="a", input_tokens=3, model_usage=shares)
    assert db.get_prompt(prompt.id).status.value == "running"
    assert db.table_counts()["prompt_model_usage"] == 0
