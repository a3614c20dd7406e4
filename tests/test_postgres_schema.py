"""The PostgreSQL schema files, loaded into a real server (tests/pg_server.py).

Same rules as the SQLite schema: CHECK lists, cascades, the updated_at trigger keeping explicit
values; plus what only PostgreSQL needs: NaN/Infinity costs and sub-millisecond timestamps
refused, identity `seq` on the log tables, and 001 + 002 giving exactly the schema file.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from psycopg import errors

from tac_bootstrap.application.scaffold_service import ScaffoldService
from tac_bootstrap.domain.config import new_config

TABLES = {
    "orchestrator_agents", "agents", "prompts", "agent_logs", "system_logs",
    "prompt_model_usage", "session_usage",
}  # fmt: skip
INDEXES_001 = {
    "idx_agents_session",
    "idx_agents_orch",
    "idx_prompts_agent",
    "idx_prompts_status",
    "idx_agent_logs_agent",
    "idx_system_logs_level",
}
INDEXES_002 = {
    "idx_agents_session_cover",
    "idx_prompts_agent_usage",
    "idx_agents_adw",
    "idx_agent_logs_created",
    "idx_system_logs_created",
}
INDEXES_003 = {
    "idx_prompt_model_usage_prompt",
    "idx_session_usage_session",
    "idx_session_usage_agent",
    "idx_prompts_agent_tokens",
    "idx_agent_logs_tool_use",
}
INDEXES_005 = {
    "idx_runs_status_created", "idx_runs_active_issue", "idx_runs_active_port",
    "idx_run_checks_run",
}  # fmt: skip
TABLES_005 = {"runs", "run_checks", "webhook_deliveries"}
TRIGGER = "update_orchestrator_agents_updated_at"


def _rendered_schema_files() -> dict[str, bytes]:
    """The schema files a project gets, by path relative to the schema directory."""
    config = new_config("demo")
    service = ScaffoldService()
    prefix = f"{config.schema_dir}/"
    return {
        op.path.removeprefix(prefix): service.content_for(op, config)
        for op in service.build_plan(config).files
        if op.path.startswith(prefix) and op.path.endswith(".sql")
    }


FILES = _rendered_schema_files()
PG_SCHEMA = FILES["postgres/schema_orchestrator.sql"]
PG_MIGRATIONS = sorted(
    name for name in FILES if name.startswith("postgres/migrations/") and name.endswith(".sql")
)


def _load(conninfo: str, *scripts: bytes) -> psycopg.Connection[Any]:
    """Run each script whole (no parameters: the simple protocol, several statements)."""
    conn = psycopg.connect(conninfo, autocommit=True)
    for script in scripts:
        conn.execute(script)
    return conn


@pytest.fixture
def db(pg_database: Callable[[], str]) -> Any:
    conn = _load(pg_database(), PG_SCHEMA)
    try:
        yield conn
    finally:
        conn.close()


def _orchestrator(conn: psycopg.Connection[Any], **values: Any) -> uuid.UUID:
    row_id = uuid.uuid4()
    conn.execute(
        "INSERT INTO orchestrator_agents (id, name, agent_type) VALUES (%s, %s, 'builder')",
        (row_id, values.get("name", f"orch-{row_id.hex[:8]}")),
    )
    return row_id


def _agent(conn: psycopg.Connection[Any], orchestrator_id: uuid.UUID) -> uuid.UUID:
    row_id = uuid.uuid4()
    conn.execute(
        "INSERT INTO agents (id, orchestrator_agent_id, session_id) VALUES (%s, %s, 's1')",
        (row_id, orchestrator_id),
    )
    return row_id


def _count(conn: psycopg.Connection[Any], table: str) -> int:
    row = conn.execute(f"SELECT count(*) FROM {table}".encode()).fetchone()
    assert row is not None
    return int(row[0])


def test_pg_migrations_are_numbered_like_the_sqlite_ones() -> None:
    sqlite = sorted(n.split("/")[-1] for n in FILES if n.startswith("migrations/"))
    assert [n.split("/")[-1] for n in PG_MIGRATIONS] == sqlite


def test_schema_creates_tables_indexes_and_trigger(db: psycopg.Connection[Any]) -> None:
    tables = {
        r[0]
        for r in db.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        )
    }
    assert tables == TABLES | {"prompt_totals"} | TABLES_005  # migrations 004 and 005
    indexes = {
        r[0] for r in db.execute("SELECT indexname FROM pg_indexes WHERE schemaname = 'public'")
    }
    assert {i for i in indexes if i.startswith("idx_")} == (
        INDEXES_001 | INDEXES_002 | INDEXES_003 | INDEXES_005
    )
    triggers = db.execute(
        "SELECT tgname, tgrelid::regclass::text FROM pg_trigger WHERE NOT tgisinternal"
    ).fetchall()
    assert sorted(triggers) == [
        ("prompt_totals_track", "prompts"),
        (TRIGGER, "orchestrator_agents"),
    ]


def test_schema_file_can_be_run_again(db: psycopg.Connection[Any]) -> None:
    db.execute(PG_SCHEMA)
    assert _count(db, "orchestrator_agents") == 0


def test_check_rejects_a_bad_status(db: psycopg.Connection[Any]) -> None:
    agent = _agent(db, _orchestrator(db))
    with pytest.raises(errors.CheckViolation):
        db.execute("UPDATE agents SET status = 'bogus' WHERE id = %s", (agent,))
    with pytest.raises(errors.CheckViolation):
        db.execute(
            "INSERT INTO orchestrator_agents (id, name, agent_type) VALUES (%s, 'x', 'wizard')",
            (uuid.uuid4(),),
        )
    with pytest.raises(errors.CheckViolation):
        db.execute(
            "INSERT INTO orchestrator_agents (id, name, agent_type) VALUES (%s, '', 'builder')",
            (uuid.uuid4(),),
        )


@pytest.mark.parametrize("cost", ["NaN", "Infinity", "-0.01"])
def test_bad_costs_are_refused(db: psycopg.Connection[Any], cost: str) -> None:
    agent = _agent(db, _orchestrator(db))
    with pytest.raises(errors.CheckViolation):
        db.execute("UPDATE agents SET total_cost_usd = %s::numeric WHERE id = %s", (cost, agent))
    with pytest.raises(errors.CheckViolation):
        db.execute(
            "INSERT INTO prompts (id, agent_id, prompt_text, cost_usd) "
            "VALUES (%s, %s, 'p', %s::numeric)",
            (uuid.uuid4(), agent, cost),
        )


def test_cost_is_stored_exactly(db: psycopg.Connection[Any]) -> None:
    agent = _agent(db, _orchestrator(db))
    db.execute("UPDATE agents SET total_cost_usd = %s WHERE id = %s", (Decimal("0.1"), agent))
    db.execute(
        "UPDATE agents SET total_cost_usd = total_cost_usd + %s WHERE id = %s",
        (Decimal("0.2"), agent),
    )
    row = db.execute("SELECT total_cost_usd FROM agents WHERE id = %s", (agent,)).fetchone()
    assert row == (Decimal("0.3"),)


def test_microsecond_timestamps_and_wrong_json_are_refused(db: psycopg.Connection[Any]) -> None:
    agent = _agent(db, _orchestrator(db))
    with pytest.raises(errors.CheckViolation):
        db.execute(
            "UPDATE agents SET started_at = '2026-01-01T00:00:00.123456Z' WHERE id = %s",
            (agent,),
        )
    db.execute("UPDATE agents SET started_at = '2026-01-01T00:00:00.123Z' WHERE id = %s", (agent,))
    with pytest.raises(errors.CheckViolation):
        db.execute("UPDATE agents SET context = '[]' WHERE id = %s", (agent,))


def test_delete_cascades_to_children(db: psycopg.Connection[Any]) -> None:
    orchestrator = _orchestrator(db)
    agent = _agent(db, orchestrator)
    db.execute(
        "INSERT INTO prompts (id, agent_id, prompt_text) VALUES (%s, %s, 'p')",
        (uuid.uuid4(), agent),
    )
    db.execute(
        "INSERT INTO agent_logs (id, agent_id, log_type, message) "
        "VALUES (%s, %s, 'lifecycle', 'm')",
        (uuid.uuid4(), agent),
    )
    with pytest.raises(errors.ForeignKeyViolation):
        _agent(db, uuid.uuid4())
    db.execute("DELETE FROM orchestrator_agents WHERE id = %s", (orchestrator,))
    assert [_count(db, t) for t in ("agents", "prompts", "agent_logs")] == [0, 0, 0]


def test_log_seq_follows_insertion_order(db: psycopg.Connection[Any]) -> None:
    ids = [uuid.uuid4() for _ in range(5)]
    for row_id in ids:
        db.execute("INSERT INTO system_logs (id, message) VALUES (%s, 'm')", (row_id,))
    assert [r[0] for r in db.execute("SELECT id FROM system_logs ORDER BY seq")] == ids
    with pytest.raises(errors.GeneratedAlways):
        db.execute("INSERT INTO system_logs (id, message, seq) VALUES (%s, 'm', 1)", (ids[0],))


def test_trigger_refreshes_updated_at_and_keeps_an_explicit_value(
    db: psycopg.Connection[Any],
) -> None:
    orchestrator = _orchestrator(db, name="planner-1")
    old = datetime(2019, 1, 1, tzinfo=timezone.utc)
    explicit = datetime(2019, 5, 5, 0, 0, 0, 123000, tzinfo=timezone.utc)

    def updated_at() -> datetime:
        row = db.execute(
            "SELECT updated_at FROM orchestrator_agents WHERE id = %s", (orchestrator,)
        ).fetchone()
        assert row is not None
        value: datetime = row[0]
        return value

    db.execute("UPDATE orchestrator_agents SET updated_at = %s WHERE id = %s", (old, orchestrator))
    assert updated_at() == old
    db.execute("UPDATE orchestrator_agents SET description = 'd' WHERE id = %s", (orchestrator,))
    refreshed = updated_at()
    assert refreshed > old
    assert refreshed.microsecond % 1000 == 0
    db.execute(
        "UPDATE orchestrator_agents SET description = 'e', updated_at = %s WHERE id = %s",
        (explicit, orchestrator),
    )
    assert updated_at() == explicit
    # The upsert path fires it too: id kept, updated_at refreshed.
    db.execute(
        "INSERT INTO orchestrator_agents (id, name, agent_type) VALUES (%s, 'planner-1', "
        "'planner') ON CONFLICT (name) DO UPDATE SET agent_type = EXCLUDED.agent_type",
        (uuid.uuid4(),),
    )
    row = db.execute("SELECT id, agent_type FROM orchestrator_agents").fetchall()
    assert row == [(orchestrator, "planner")]
    assert updated_at() > explicit


CATALOG_QUERIES = {
    "columns": """
        SELECT table_name, column_name, ordinal_position, data_type, is_nullable,
               column_default, is_identity, identity_generation
          FROM information_schema.columns WHERE table_schema = 'public'
    """,
    "constraints": """
        SELECT conrelid::regclass::text, conname, contype, pg_get_constraintdef(oid)
          FROM pg_constraint WHERE connamespace = 'public'::regnamespace
    """,
    "indexes": "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'",
    "triggers": """
        SELECT tgrelid::regclass::text, tgname, pg_get_triggerdef(oid)
          FROM pg_trigger WHERE NOT tgisinternal
    """,
    "functions": """
        SELECT proname, pg_get_function_identity_arguments(oid), prosrc
          FROM pg_proc WHERE pronamespace = 'public'::regnamespace
    """,
    "sequences": """
        SELECT c.relname, s.seqtypid::regtype::text, s.seqstart, s.seqincrement
          FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid
         WHERE c.relnamespace = 'public'::regnamespace
    """,
}


def _catalog(conn: psycopg.Connection[Any]) -> dict[str, list[tuple[Any, ...]]]:
    return {
        name: sorted(conn.execute(query.encode()).fetchall(), key=repr)
        for name, query in CATALOG_QUERIES.items()
    }


def test_migrations_together_equal_the_schema_file(pg_database: Callable[[], str]) -> None:
    with _load(pg_database(), PG_SCHEMA) as from_schema:
        expected = _catalog(from_schema)
    with _load(pg_database(), *(FILES[name] for name in PG_MIGRATIONS)) as migrated:
        actual = _catalog(migrated)
    assert all(expected.values())
    assert actual == expected
