"""The dialect seam (adw_db_dialect.py) and the neutral SQL of the operations, on SQLite and on
a real PostgreSQL server: translation, classification of real integrity errors, COLUMNS."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tac_bootstrap.runtime import adw_db_operations as ops
from tac_bootstrap.runtime.adw_database import OrchestratorDB
from tac_bootstrap.runtime.adw_db_dialect import SQLITE, Dialect, IntegrityViolation
from tac_bootstrap.runtime.adw_db_postgres import POSTGRES
from tac_bootstrap.runtime.orch_database_models import NotFound

from .db_helpers import integrity_errors, open_db, sql

GHOST = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"  # a well-formed id no row has


@pytest.fixture
def db(db_target: tuple[str, Path]) -> Iterator[OrchestratorDB]:
    database, migrations = db_target
    with OrchestratorDB.open(database, migrations_dir=migrations) as opened:
        yield opened


# -- translation ------------------------------------------------------------------------------


def test_sqlite_translation_replaces_macros_and_keeps_placeholders() -> None:
    sql = "SELECT {seq} AS seq, {day} AS day FROM t WHERE id = ? AND d = '{}' {for_update}"
    assert SQLITE.translate(sql) == (
        "SELECT rowid AS seq, substr(p.created_at, 1, 10) AS day FROM t WHERE id = ? AND d = '{}' "
    )
    assert SQLITE.translate("SELECT 1 WHERE x = ?") == "SELECT 1 WHERE x = ?"


def test_postgres_translation_rewrites_placeholders_percent_signs_and_macros() -> None:
    """`?` outside quotes becomes %s; every literal % doubles, inside quotes too, because
    psycopg reads %-sequences anywhere in the text."""
    sql = (
        "SELECT {seq} AS seq, {day} AS day FROM t "
        "WHERE id = ? AND n LIKE '5%?' AND \"odd?%name\" = ? AND m % 2 = 0 {for_update}"
    )
    assert POSTGRES.translate(sql) == (
        "SELECT seq AS seq, to_char(p.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day "
        "FROM t WHERE id = %s AND n LIKE '5%%?' AND \"odd?%%name\" = %s AND m %% 2 = 0 FOR UPDATE"
    )
    assert POSTGRES.translate("SELECT 'it''s ?' AS a, ? AS b") == "SELECT 'it''s ?' AS a, %s AS b"


@pytest.mark.postgres
def test_translated_sql_runs_on_a_real_server(pg_url: str) -> None:
    """What translate() produces is what psycopg and the server understand."""
    with psycopg.connect(pg_url, autocommit=True) as conn:
        row = conn.execute(
            POSTGRES.translate(
                "SELECT '100%' AS pct, 'a?b' AS q, 'it''s ?%' AS s, ? AS v, 7 % 4 AS m"
            ),
            (42,),
        ).fetchone()
    assert row == ("100%", "a?b", "it's ?%", 42, 3)


@pytest.mark.parametrize("dialect", [SQLITE, POSTGRES], ids=lambda d: d.name)
def test_an_unknown_macro_fails_at_first_use(dialect: Dialect) -> None:
    with pytest.raises(KeyError, match="nope"):
        dialect.translate("SELECT {nope}")


# -- integrity errors from real engines ---------------------------------------------------------


@pytest.fixture
def scratch(backend: str, request: pytest.FixtureRequest) -> Iterator[tuple[Any, Dialect]]:
    """A bare connection (autocommit) to an empty database of the test's backend."""
    conn: Any
    if backend == "sqlite":
        conn = sqlite3.connect(":memory:", isolation_level=None)
        conn.execute("PRAGMA foreign_keys = ON")
        dialect = SQLITE
    else:
        create: Callable[[], str] = request.getfixturevalue("pg_database")
        conn = psycopg.connect(create(), autocommit=True)
        dialect = POSTGRES
    try:
        conn.execute("CREATE TABLE p (id TEXT PRIMARY KEY, n INTEGER NOT NULL CHECK (n >= 0))")
        conn.execute("CREATE TABLE c (p TEXT REFERENCES p (id))")
        conn.execute("INSERT INTO p VALUES ('x', 1)")
        yield conn, dialect
    finally:
        conn.close()


@pytest.mark.parametrize(
    ("sql", "kind"),
    [
        ("INSERT INTO c (p) VALUES ('missing')", "foreign_key"),
        ("INSERT INTO p (id, n) VALUES ('a', -1)", "check"),
        ("INSERT INTO p (id, n) VALUES ('x', 1)", "unique"),
        ("INSERT INTO p (id, n) VALUES ('b', NULL)", "not_null"),
    ],
)
def test_integrity_errors_are_classified(scratch: tuple[Any, Dialect], sql: str, kind: str) -> None:
    conn, dialect = scratch
    with pytest.raises(integrity_errors()) as raised:
        conn.execute(sql)
    violation = dialect.classify(raised.value)
    assert isinstance(violation, IntegrityViolation)
    assert violation.kind == kind
    assert str(violation) == str(raised.value).strip().splitlines()[0]
    assert "\n" not in str(violation)


def test_other_engine_errors_are_not_violations(scratch: tuple[Any, Dialect]) -> None:
    conn, dialect = scratch
    with pytest.raises(dialect.errors) as raised:
        conn.execute("SELECT * FROM no_such_table")
    assert dialect.classify(raised.value) is None
    assert SQLITE.classify(sqlite3.OperationalError("no such table: t")) is None


# -- the operations on both engines -------------------------------------------------------------


def declared_columns(db: OrchestratorDB, table: str) -> list[str]:
    if db.backend == "sqlite":
        return [row[1] for row in db.conn.execute(f"PRAGMA table_info({table})")]
    rows = sql(
        db,
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position",
        table,
    )
    return [row["column_name"] for row in rows]


def test_columns_match_the_schema(db: OrchestratorDB) -> None:
    """COLUMNS is every column in schema order, PostgreSQL's log `seq` aside (bookkeeping)."""
    assert tuple(ops.COLUMNS) == ops.TABLES
    for table in ops.TABLES:
        declared = declared_columns(db, table)
        if db.backend == "postgresql" and table in ("agent_logs", "system_logs"):
            assert "seq" in declared, table
            declared = [column for column in declared if column != "seq"]
        assert list(ops.COLUMNS[table]) == declared, table


@pytest.mark.parametrize("missing", ["nope", GHOST], ids=["not-a-uuid", "unknown-uuid"])
def test_integrity_errors_reach_the_operations_as_violations(
    db: OrchestratorDB, missing: str
) -> None:
    with pytest.raises(NotFound, match=f"agent '{missing}' does not exist"):
        db.start_prompt(missing, "hello")
    assert not db.in_transaction
    with pytest.raises(NotFound, match=f"agent '{missing}' does not exist"):
        db.log_agent(missing, "lifecycle", "hello")
    assert not db.in_transaction
    with pytest.raises(NotFound, match=f"orchestrator agent '{missing}' does not exist"):
        db.start_agent(missing, "s")
    assert not db.in_transaction
    assert set(db.table_counts().values()) == {0}


def orphan_log() -> ops.Op[None]:
    """An operation that does not catch the foreign key error its INSERT causes."""
    yield (
        "exec",
        "INSERT INTO agent_logs (id, agent_id, log_type, message) VALUES (?, ?, 'hook', 'm')",
        (str(uuid.uuid4()), GHOST),
    )


def test_an_uncaught_violation_surfaces_as_the_engine_error(db: OrchestratorDB) -> None:
    expected: type[Exception] = (
        sqlite3.IntegrityError if db.backend == "sqlite" else psycopg.errors.ForeignKeyViolation
    )
    with pytest.raises(expected) as raised:
        db._write(orphan_log())
    violation = db.dialect.classify(raised.value)
    assert violation is not None and violation.kind == "foreign_key"
    assert not db.in_transaction
    db.log_system("the connection still works")
    assert db.table_counts()["system_logs"] == 1
    assert db.table_counts()["agent_logs"] == 0


def test_sqlite_lets_an_operation_go_on_after_a_caught_violation(tmp_path: Path) -> None:
    """SQLite keeps a transaction usable after an error, so an operation may recover and write
    on (PostgreSQL refuses that: test_db_postgres_runtime.py)."""

    def recovering() -> ops.Op[str]:
        try:
            yield from orphan_log()
        except IntegrityViolation as exc:
            assert exc.kind == "foreign_key"
        yield ("exec", "INSERT INTO system_logs (id, message) VALUES (?, 'recovered')", (GHOST,))
        return "done"

    with open_db(tmp_path / "orch.db") as db:
        assert db._write(recovering()) == "done"
        assert not db.in_transaction
        assert [r.message for r in db.recent_logs()] == ["recovered"]
