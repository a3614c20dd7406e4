"""The rendered orchestrator schema in real SQLite databases: structure and constraints."""

from __future__ import annotations

import re
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

ISO_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
NAMED_INDEXES = {
    "idx_agents_session",
    "idx_agents_orch",
    "idx_prompts_agent",
    "idx_prompts_status",
    "idx_agent_logs_agent",
    "idx_system_logs_level",
}
TABLES = {
    "orchestrator_agents", "agents", "prompts", "agent_logs", "system_logs",
    "prompt_model_usage", "session_usage",
}  # fmt: skip
MIGRATION_003_TABLES = {"prompt_model_usage", "session_usage"}
# Migration 004: the prompts' totals by agent, day and model, kept by four triggers.
MIGRATION_004_TABLES = {"prompt_totals"}
MIGRATION_004_TRIGGERS = {
    "prompt_totals_insert", "prompt_totals_update", "prompt_totals_move", "prompt_totals_delete",
}  # fmt: skip
# Migration 005: the runs of workflows, their checks, and the webhook's deliveries.
MIGRATION_005_TABLES = {"runs", "run_checks", "webhook_deliveries"}
MIGRATION_005_INDEXES = {
    "idx_runs_status_created", "idx_runs_active_issue", "idx_runs_active_port",
    "idx_run_checks_run",
}  # fmt: skip
MIGRATION_003_INDEXES = {
    "idx_prompt_model_usage_prompt",
    "idx_session_usage_session",
    "idx_session_usage_agent",
    "idx_prompts_agent_tokens",
    "idx_agent_logs_tool_use",
}


@pytest.fixture(scope="module")
def schema_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from typer.testing import CliRunner

    from tac_bootstrap.cli.app import app

    root = tmp_path_factory.mktemp("schema")
    result = CliRunner().invoke(app, ["init", "demo", "-o", str(root), "--yes"])
    assert result.exit_code == 0
    return root / "demo" / "adws" / "schema"


def connect(path: Path | str, script: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.executescript(script.read_text())
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


@pytest.fixture
def db(schema_dir: Path, tmp_path: Path) -> Iterator[sqlite3.Connection]:
    conn = connect(tmp_path / "orchestrator.db", schema_dir / "schema_orchestrator.sql")
    yield conn
    conn.close()


def python_now() -> str:
    """The format Python code must write: the same as the schema's strftime default."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def add_agent_tree(db: sqlite3.Connection) -> None:
    db.execute(
        "INSERT INTO orchestrator_agents (id, name, agent_type) VALUES ('o1', 'p', 'planner')"
    )
    db.execute(
        "INSERT INTO agents (id, orchestrator_agent_id, session_id) VALUES ('a1', 'o1', 's1')"
    )
    db.execute("INSERT INTO prompts (id, agent_id, prompt_text) VALUES ('p1', 'a1', 'plan it')")
    db.execute(
        "INSERT INTO agent_logs (id, agent_id, log_type, message) "
        "VALUES ('l1', 'a1', 'lifecycle', 'started')"
    )


def _normalized(sql: str | None) -> str | None:
    """SQL text up to layout: ALTER TABLE ADD COLUMN appends `, <column>` to a table's stored
    CREATE TABLE text, which the schema file writes on a line of its own."""
    if sql is None:
        return None
    collapsed = re.sub(r"\s+", " ", sql)
    return re.sub(r"\s*([(),])\s*", r"\1", collapsed).strip()


def objects(conn: sqlite3.Connection) -> set[tuple[str, str, str, str | None]]:
    return {
        (kind, name, table, _normalized(sql))
        for kind, name, table, sql in conn.execute(
            "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"
        )
    }


def columns(conn: sqlite3.Connection) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's columns in order (name, type, not null, default, primary key)."""
    return {
        table: [tuple(row)[1:] for row in conn.execute(f"PRAGMA table_xinfo({table})")]
        for table in TABLES | MIGRATION_005_TABLES
    }


@pytest.mark.skipif(shutil.which("sqlite3") is None, reason="sqlite3 command-line tool missing")
def test_schema_loads_with_the_sqlite3_cli(schema_dir: Path) -> None:
    with (schema_dir / "schema_orchestrator.sql").open() as stdin:
        result = subprocess.run(
            ["sqlite3", ":memory:"], stdin=stdin, capture_output=True, text=True
        )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


def test_schema_has_tables_trigger_and_named_indexes(db: sqlite3.Connection) -> None:
    kinds: dict[str, set[str]] = {}
    for kind, name, _, _ in objects(db):
        kinds.setdefault(kind, set()).add(name)
    assert kinds["table"] == TABLES | MIGRATION_004_TABLES | MIGRATION_005_TABLES
    assert kinds["index"] == (
        NAMED_INDEXES | MIGRATION_002_INDEXES | MIGRATION_003_INDEXES | MIGRATION_005_INDEXES
    )
    assert kinds["trigger"] == {"update_orchestrator_agents_updated_at"} | MIGRATION_004_TRIGGERS
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_schema_file_can_be_run_twice(schema_dir: Path, tmp_path: Path) -> None:
    """A second run changes nothing: same objects, and rows written in between survive."""
    script = schema_dir / "schema_orchestrator.sql"
    with connect(tmp_path / "x.db", script) as first:
        add_agent_tree(first)
        before = objects(first)
    first.close()
    second = connect(tmp_path / "x.db", script)
    try:
        assert objects(second) == before
        rows = {
            table: second.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("orchestrator_agents", "agents", "prompts", "agent_logs")
        }
        assert rows == {"orchestrator_agents": 1, "agents": 1, "prompts": 1, "agent_logs": 1}
    finally:
        second.close()


MIGRATION_002_INDEXES = {
    "idx_agents_session_cover",
    "idx_prompts_agent_usage",
    "idx_agents_adw",
    "idx_agent_logs_created",
    "idx_system_logs_created",
}


def test_migrations_together_create_exactly_the_schema(schema_dir: Path) -> None:
    from_schema = connect(":memory:", schema_dir / "schema_orchestrator.sql")
    from_migrations = sqlite3.connect(":memory:")
    for migration in sorted((schema_dir / "migrations").glob("*.sql")):
        from_migrations.executescript(migration.read_text())
    assert objects(from_migrations) == objects(from_schema)
    assert columns(from_migrations) == columns(from_schema)


def test_initial_migration_is_the_schema_without_later_migrations(schema_dir: Path) -> None:
    from_schema = connect(":memory:", schema_dir / "schema_orchestrator.sql")
    from_initial = connect(":memory:", schema_dir / "migrations" / "001_initial.sql")
    later_names = MIGRATION_002_INDEXES | MIGRATION_003_INDEXES | MIGRATION_003_TABLES
    later_names |= MIGRATION_004_TABLES | MIGRATION_004_TRIGGERS
    later_names |= MIGRATION_005_TABLES | MIGRATION_005_INDEXES
    later = {o for o in objects(from_schema) if o[1] in later_names}
    assert len(later) == len(later_names)
    altered = {"agents", "prompts", "agent_logs"}  # migration 003 adds columns to them
    initial = {o for o in objects(from_initial) if o[1] not in altered}
    assert initial == {o for o in objects(from_schema) - later if o[1] not in altered}
    assert len(objects(from_initial)) == 5 + 6 + 1


def test_check_constraints_reject_bad_values(db: sqlite3.Connection) -> None:
    add_agent_tree(db)
    bad_statements = [
        "INSERT INTO agents (id, orchestrator_agent_id, session_id, status) "
        "VALUES ('a2', 'o1', 's', 'exploded')",
        "INSERT INTO orchestrator_agents (id, name, agent_type) VALUES ('o2', 'x', 'wizard')",
        "INSERT INTO prompts (id, agent_id, prompt_text, input_tokens) "
        "VALUES ('p2', 'a1', 'x', -1)",
        "INSERT INTO prompts (id, agent_id, prompt_text, cost_usd) VALUES ('p3', 'a1', 'x', -0.5)",
        "INSERT INTO system_logs (id, log_level, message) VALUES ('s1', 'LOUD', 'x')",
        "INSERT INTO agent_logs (id, agent_id, log_type, message) "
        "VALUES ('l2', 'a1', 'gossip', 'x')",
        "INSERT INTO system_logs (id, message, details) VALUES ('s2', 'x', '{not json')",
        "INSERT INTO orchestrator_agents (id, name, agent_type, capabilities) "
        "VALUES ('o3', 'y', 'custom', '{}')",
        # The design document's datetime('now') format is refused: one column, one format.
        "INSERT INTO system_logs (id, message, created_at) VALUES ('s3', 'x', datetime('now'))",
    ]
    for statement in bad_statements:
        with pytest.raises(sqlite3.IntegrityError, match="CHECK constraint failed"):
            db.execute(statement)
    assert db.execute("SELECT count(*) FROM system_logs").fetchone()[0] == 0


def test_foreign_keys_reject_orphans_and_cascade_deletes(db: sqlite3.Connection) -> None:
    add_agent_tree(db)
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
        db.execute("INSERT INTO prompts (id, agent_id, prompt_text) VALUES ('p9', 'nope', 'x')")
    db.execute("DELETE FROM orchestrator_agents WHERE id = 'o1'")
    for table in ("agents", "prompts", "agent_logs"):
        assert db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0


def test_foreign_keys_are_per_connection(schema_dir: Path, tmp_path: Path) -> None:
    """Why every connection must enable them: the schema file's PRAGMA does not persist."""
    path = tmp_path / "orchestrator.db"
    connect(path, schema_dir / "schema_orchestrator.sql").close()
    later = sqlite3.connect(path, isolation_level=None)
    assert later.execute("PRAGMA foreign_keys").fetchone()[0] == 0
    later.execute("PRAGMA foreign_keys = ON")
    with pytest.raises(sqlite3.IntegrityError):
        later.execute("INSERT INTO prompts (id, agent_id, prompt_text) VALUES ('p', 'nope', 'x')")


def test_timestamps_are_iso8601_utc_with_milliseconds(db: sqlite3.Connection) -> None:
    add_agent_tree(db)
    created, updated = db.execute(
        "SELECT created_at, updated_at FROM orchestrator_agents"
    ).fetchone()
    assert ISO_MS.match(created) and ISO_MS.match(updated)
    parsed = datetime.fromisoformat(created.replace("Z", "+00:00"))
    assert abs((datetime.now(timezone.utc) - parsed).total_seconds()) < 3600
    # Python writes the same format, and the CHECK accepts it.
    stamp = python_now()
    assert ISO_MS.match(stamp)
    db.execute("INSERT INTO system_logs (id, message, created_at) VALUES ('s', 'x', ?)", (stamp,))


@pytest.mark.parametrize("recursive", [0, 1])
def test_trigger_sets_updated_at_without_recursing(db: sqlite3.Connection, recursive: int) -> None:
    db.execute(f"PRAGMA recursive_triggers = {recursive}")
    old = "2020-01-01T00:00:00.000Z"
    db.execute(
        "INSERT INTO orchestrator_agents (id, name, agent_type, created_at, updated_at) "
        "VALUES ('o', 'n', 'builder', ?, ?)",
        (old, old),
    )
    db.execute("UPDATE orchestrator_agents SET description = 'changed' WHERE id = 'o'")
    (updated,) = db.execute("SELECT updated_at FROM orchestrator_agents").fetchone()
    assert updated > old and ISO_MS.match(updated)
    # Updating twice within the same millisecond must not recurse either.
    db.execute("UPDATE orchestrator_agents SET description = 'again' WHERE id = 'o'")
    db.execute("UPDATE orchestrator_agents SET description = 'and again' WHERE id = 'o'")


def test_trigger_keeps_an_explicit_updated_at(db: sqlite3.Connection) -> None:
    db.execute("PRAGMA recursive_triggers = ON")
    db.execute("INSERT INTO orchestrator_agents (id, name, agent_type) VALUES ('o', 'n', 'tester')")
    explicit = "2030-05-05T05:05:05.555Z"
    db.execute(
        "UPDATE orchestrator_agents SET description = 'x', updated_at = ? WHERE id = 'o'",
        (explicit,),
    )
    assert db.execute("SELECT updated_at FROM orchestrator_agents").fetchone()[0] == explicit


def test_json_columns_round_trip(db: sqlite3.Connection) -> None:
    db.execute(
        "INSERT INTO orchestrator_agents (id, name, agent_type, capabilities, config) "
        "VALUES ('o', 'n', 'reviewer', '[\"read\", \"review\"]', '{\"max_turns\": 5}')"
    )
    row: Any = db.execute(
        "SELECT json_extract(capabilities, '$[1]'), json_extract(config, '$.max_turns') "
        "FROM orchestrator_agents"
    ).fetchone()
    assert row == ("review", 5)
