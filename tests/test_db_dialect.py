"""The dialect seam (adw_db_dialect.py) and the neutral SQL of the operations, on SQLite."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tac_bootstrap.runtime import adw_db_operations as ops
from tac_bootstrap.runtime.adw_db_dialect import SQLITE, IntegrityViolation
from tac_bootstrap.runtime.orch_database_models import InvalidInput, NotFound

from .db_helpers import open_db


def test_sqlite_translation_replaces_macros_and_keeps_placeholders() -> None:
    sql = "SELECT {seq} AS seq, {day} AS day FROM t WHERE id = ? AND d = '{}' {for_update}"
    assert SQLITE.translate(sql) == (
        "SELECT rowid AS seq, substr(p.created_at, 1, 10) AS day FROM t WHERE id = ? AND d = '{}' "
    )
    assert SQLITE.translate("SELECT 1 WHERE x = ?") == "SELECT 1 WHERE x = ?"


def test_an_unknown_macro_fails_at_first_use() -> None:
    with pytest.raises(KeyError, match="nope"):
        SQLITE.translate("SELECT {nope}")


@pytest.mark.parametrize(
    ("sql", "kind"),
    [
        ("INSERT INTO c (p) VALUES ('missing')", "foreign_key"),
        ("INSERT INTO p (id, n) VALUES ('a', -1)", "check"),
        ("INSERT INTO p (id, n) VALUES ('x', 1)", "unique"),
        ("INSERT INTO p (id, n) VALUES ('b', NULL)", "not_null"),
    ],
)
def test_sqlite_integrity_errors_are_classified(sql: str, kind: str) -> None:
    conn = sqlite3.connect(":memory:")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("CREATE TABLE p (id TEXT PRIMARY KEY, n INTEGER NOT NULL CHECK (n >= 0))")
    conn.execute("CREATE TABLE c (p TEXT REFERENCES p (id))")
    conn.execute("INSERT INTO p VALUES ('x', 1)")
    with pytest.raises(sqlite3.IntegrityError) as raised:
        conn.execute(sql)
    violation = SQLITE.classify(raised.value)
    assert isinstance(violation, IntegrityViolation)
    assert violation.kind == kind
    assert str(violation) == str(raised.value)
    assert SQLITE.classify(sqlite3.OperationalError("no such table: t")) is None


def test_columns_match_the_schema(tmp_path: Path) -> None:
    with open_db(tmp_path / "orch.db") as db:
        assert tuple(ops.COLUMNS) == ops.TABLES
        for table in ops.TABLES:
            declared = [row[1] for row in db.conn.execute(f"PRAGMA table_info({table})")]
            assert list(ops.COLUMNS[table]) == declared, table


def test_integrity_errors_reach_the_operations_as_violations(tmp_path: Path) -> None:
    with open_db(tmp_path / "orch.db") as db:
        with pytest.raises(NotFound, match="agent 'nope' does not exist"):
            db.start_prompt("nope", "hello")
        with pytest.raises(NotFound, match="agent 'nope' does not exist"):
            db.log_agent("nope", "lifecycle", "hello")
        assert not db.conn.in_transaction


def test_an_uncaught_violation_surfaces_as_the_engine_error(tmp_path: Path) -> None:
    def op() -> ops.Op[None]:
        yield ("exec", "INSERT INTO agent_logs (id, agent_id, log_type, message) "
               "VALUES ('l', 'nope', 'hook', 'm')", ())  # fmt: skip

    with open_db(tmp_path / "orch.db") as db:
        with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
            db._write(op())
        assert not db.conn.in_transaction
        with pytest.raises(InvalidInput):
            db.rollup("week")  # type: ignore[arg-type]
