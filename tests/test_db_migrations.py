"""The migration runner: bookkeeping, crash safety, refusing edited history, SQL splitting."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tac_bootstrap.runtime.adw_database import OrchestratorDB
from tac_bootstrap.runtime.adw_db_migrations import (
    MigrationError,
    current_version,
    discover,
    split_statements,
)

from .db_helpers import (
    ISO_MS,
    MIGRATIONS,
    copy_migrations,
    open_db,
    python_env,
    run_python,
    snapshot,
)

BIG_ROWS = 600_000
SUM_TO = 5_000_000
# Heavy but bounded (a few seconds): a big table (its pages spill into the WAL while the
# transaction is open), an index on it, then a long aggregate that writes almost nothing.
SLOW_003 = f"""-- Migration 003 (test only): slow on purpose.
CREATE TABLE started_003 (x INTEGER);
INSERT INTO started_003 VALUES (1);
CREATE TABLE big AS
    WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < {BIG_ROWS})
    SELECT x, x * 2 AS y, printf('row-%d', x) AS label FROM n;
CREATE INDEX big_label ON big (label);
CREATE TABLE big_total AS
    WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < {SUM_TO})
    SELECT sum(x) AS total FROM n;
"""

OPEN_SCRIPT = """
import sys
from tac_bootstrap.runtime.adw_database import OrchestratorDB
db = OrchestratorDB.open(sys.argv[1], migrations_dir=sys.argv[2])
print(db.schema_version())
db.close()
"""


def read_only(db_path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)


def versions(db_path: Path) -> list[int]:
    conn = read_only(db_path)
    try:
        has_table = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE name = 'schema_migrations'"
        ).fetchone()
        if not has_table:
            return []
        return [row[0] for row in conn.execute("SELECT version FROM schema_migrations")]
    finally:
        conn.close()


def table_names(conn: sqlite3.Connection) -> set[str]:
    return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def test_sigkill_during_a_migration_leaves_the_previous_version(tmp_path: Path) -> None:
    migrations = copy_migrations(tmp_path / "migrations")
    (migrations / "003_slow_backfill.sql").write_text(SLOW_003)
    db_path = tmp_path / "orchestrator.db"

    proc = subprocess.Popen(
        [sys.executable, "-c", OPEN_SCRIPT, str(db_path), str(migrations)],
        env=python_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, "the migrating process ended before it could be killed"
            assert time.monotonic() < deadline, "migration 002 was never committed"
            try:
                if db_path.exists() and 2 in versions(db_path):
                    break
            except sqlite3.OperationalError:
                pass  # the file is still being created
            time.sleep(0.01)
        wal = db_path.with_name(db_path.name + "-wal")
        wal_at_002 = wal.stat().st_size
        # 003 is under way once its uncommitted pages start spilling into the WAL.
        while wal.stat().st_size < wal_at_002 + 1_000_000:
            assert proc.poll() is None, "003 finished before the kill; make it slower"
            assert time.monotonic() < deadline, "003 never started writing"
            time.sleep(0.005)
        assert proc.poll() is None, "003 finished before the kill; make it slower"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL

    conn = sqlite3.connect(db_path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert [r[0] for r in conn.execute("SELECT version FROM schema_migrations")] == [1, 2]
        # Not even 003's first, quick statements survive: the migration is one transaction.
        assert table_names(conn).isdisjoint({"started_003", "big", "big_total"})
    finally:
        conn.close()

    rerun = run_python(OPEN_SCRIPT, str(db_path), str(migrations))
    assert rerun.returncode == 0, rerun.stderr
    assert rerun.stdout.strip() == "3"
    conn = sqlite3.connect(db_path)
    try:
        assert conn.execute("SELECT count(*) FROM started_003").fetchone()[0] == 1
        assert conn.execute("SELECT count(*) FROM big").fetchone()[0] == BIG_ROWS
        assert (
            conn.execute("SELECT total FROM big_total").fetchone()[0] == SUM_TO * (SUM_TO + 1) // 2
        )
        assert [r[0] for r in conn.execute("SELECT version FROM schema_migrations")] == [1, 2, 3]
    finally:
        conn.close()


def test_history_is_recorded_with_checksums_and_reopening_applies_nothing(
    tmp_path: Path,
) -> None:
    db_path = tmp_path / "orchestrator.db"
    with open_db(db_path) as db:
        rows = db.conn.execute(
            "SELECT version, name, checksum, applied_at FROM schema_migrations ORDER BY version"
        ).fetchall()
    found = discover(MIGRATIONS)
    assert [(r[0], r[1], r[2]) for r in rows] == [(m.version, m.name, m.checksum) for m in found]
    assert [m.filename for m in found] == [
        "001_initial.sql",
        "002_rollup_and_retention_indexes.sql",
    ]
    assert all(re.match(ISO_MS, r[3]) for r in rows)

    conn = sqlite3.connect(db_path)
    before = snapshot(conn)
    conn.close()
    with open_db(db_path) as db:
        assert db.schema_version() == 2
        assert db.pending_migrations() == []
        assert snapshot(db.conn) == before


def test_a_new_migration_is_applied_on_the_next_open(tmp_path: Path) -> None:
    migrations = copy_migrations(tmp_path / "migrations")
    db_path = tmp_path / "orchestrator.db"
    with OrchestratorDB.open(db_path, migrations_dir=migrations) as db:
        assert db.schema_version() == 2
    (migrations / "003_add_notes.sql").write_text("CREATE TABLE notes (id TEXT PRIMARY KEY);\n")
    with OrchestratorDB.open(db_path, migrations_dir=migrations, apply_migrations=False) as db:
        assert [m.filename for m in db.pending_migrations()] == ["003_add_notes.sql"]
        assert db.status().pending == ["003_add_notes.sql"]
        assert db.schema_version() == 2
    with OrchestratorDB.open(db_path, migrations_dir=migrations) as db:
        assert db.schema_version() == 3
        assert "notes" in table_names(db.conn)


def test_an_edited_applied_migration_is_refused_and_nothing_changes(tmp_path: Path) -> None:
    migrations = copy_migrations(tmp_path / "migrations")
    db_path = tmp_path / "orchestrator.db"
    open_db(db_path, migrations).close()
    conn = sqlite3.connect(db_path)
    before = snapshot(conn)
    schema_before = conn.execute("SELECT * FROM sqlite_master ORDER BY name").fetchall()
    conn.close()

    edited = migrations / "002_rollup_and_retention_indexes.sql"
    edited.write_text(edited.read_text() + "\nCREATE INDEX idx_extra ON agents (name);\n")
    (migrations / "003_add_notes.sql").write_text("CREATE TABLE notes (id TEXT PRIMARY KEY);\n")
    with pytest.raises(MigrationError) as raised:
        OrchestratorDB.open(db_path, migrations_dir=migrations)
    message = str(raised.value)
    assert "002_rollup_and_retention_indexes.sql" in message
    assert "changed after it was applied" in message

    conn = sqlite3.connect(db_path)
    try:
        assert snapshot(conn) == before
        assert conn.execute("SELECT * FROM sqlite_master ORDER BY name").fetchall() == (
            schema_before
        )
    finally:
        conn.close()


def test_a_vanished_applied_migration_is_refused(tmp_path: Path) -> None:
    migrations = copy_migrations(tmp_path / "migrations")
    db_path = tmp_path / "orchestrator.db"
    open_db(db_path, migrations).close()
    (migrations / "002_rollup_and_retention_indexes.sql").unlink()
    with pytest.raises(MigrationError, match="002_rollup_and_retention_indexes applied, but"):
        OrchestratorDB.open(db_path, migrations_dir=migrations)


def test_a_failing_migration_applies_nothing_of_itself(tmp_path: Path) -> None:
    migrations = copy_migrations(tmp_path / "migrations")
    db_path = tmp_path / "orchestrator.db"
    open_db(db_path, migrations).close()
    (migrations / "003_half_broken.sql").write_text(
        "CREATE TABLE first_half (id INTEGER);\nINSERT INTO no_such_table VALUES (1);\n"
    )
    with pytest.raises(MigrationError) as raised:
        OrchestratorDB.open(db_path, migrations_dir=migrations)
    assert "003_half_broken.sql" in str(raised.value)
    assert "nothing of it was applied" in str(raised.value)
    conn = sqlite3.connect(db_path)
    try:
        assert current_version(conn) == 2
        assert "first_half" not in table_names(conn)
        assert not conn.in_transaction
    finally:
        conn.close()


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (["001_initial.sql", "003_third.sql"], "002 is missing"),
        (["002_second.sql"], "001 is missing"),
        (["001_initial.sql", "002_a.sql", "002_b.sql"], "duplicate migration number 002"),
        (["001_initial.sql", "2_second.sql"], "must be named NNN_description.sql"),
        (["001_initial.sql", "002_Second.sql"], "must be named NNN_description.sql"),
        (["001_initial.sql", "002-second.sql"], "must be named NNN_description.sql"),
    ],
)
def test_bad_migration_directories_are_errors(
    tmp_path: Path, files: list[str], message: str
) -> None:
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    for name in files:
        (migrations / name).write_text("CREATE TABLE t_" + str(len(name)) + " (x);\n")
    (migrations / ".gitkeep").write_text("")  # not .sql: ignored
    (migrations / "README.md").write_text("notes")
    db_path = tmp_path / "orchestrator.db"
    with pytest.raises(MigrationError, match=message):
        OrchestratorDB.open(db_path, migrations_dir=migrations)
    conn = sqlite3.connect(db_path)
    try:
        assert table_names(conn) == set()  # nothing applied, not even the bookkeeping table
    finally:
        conn.close()


def test_a_missing_migrations_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(MigrationError, match="does not exist"):
        OrchestratorDB.open(tmp_path / "x.db", migrations_dir=tmp_path / "nowhere")


TRICKY_SQL = """-- a comment; with a semicolon
CREATE TABLE t (id INTEGER PRIMARY KEY, note TEXT, "odd;name" TEXT);
/* block comment; also with one */
CREATE TRIGGER t_note AFTER INSERT ON t
BEGIN
    UPDATE t SET note = note || ';tail' WHERE id = NEW.id;
    INSERT INTO t_audit VALUES ('inserted; ' || NEW.id);
END;
CREATE TABLE t_audit (what TEXT);
INSERT INTO t (id, note, "odd;name") VALUES (1, 'a;b', 'c;''d');
INSERT INTO t (id, note) VALUES (2, 'it''s; fine')
"""


def test_split_statements_keeps_trigger_bodies_and_quoted_semicolons() -> None:
    statements = list(split_statements(TRICKY_SQL))
    assert len(statements) == 5
    assert statements[0].startswith("-- a comment; with a semicolon\nCREATE TABLE t (")
    assert statements[1].startswith("/* block comment; also with one */\nCREATE TRIGGER t_note")
    assert statements[1].endswith("END;")
    assert "';tail'" in statements[1] and "'inserted; '" in statements[1]
    assert statements[3].endswith("""VALUES (1, 'a;b', 'c;''d');""")
    assert statements[4].startswith("INSERT INTO t (id, note) VALUES (2, 'it''s; fine')")
    assert all(sqlite3.complete_statement(s) for s in statements)


def test_split_statements_ignores_comment_only_tails_and_refuses_incomplete_ones() -> None:
    assert list(split_statements("SELECT 1;\n-- the end; really\n/* done */\n")) == ["SELECT 1;"]
    assert list(split_statements("  \n;;\n")) == []
    with pytest.raises(MigrationError, match="incomplete SQL statement"):
        list(split_statements("SELECT 1;\nCREATE TRIGGER x AFTER INSERT ON t BEGIN SELECT 1;"))


def test_a_migration_with_triggers_and_quoted_semicolons_applies_as_written(
    tmp_path: Path,
) -> None:
    migrations = copy_migrations(tmp_path / "migrations")
    (migrations / "003_tricky.sql").write_text(TRICKY_SQL)
    with open_db(tmp_path / "orchestrator.db", migrations) as db:
        assert db.schema_version() == 3
        rows = db.conn.execute('SELECT id, note, "odd;name" FROM t ORDER BY id').fetchall()
        assert [tuple(r) for r in rows] == [(1, "a;b;tail", "c;'d"), (2, "it's; fine;tail", None)]
        audit = [r[0] for r in db.conn.execute("SELECT what FROM t_audit ORDER BY rowid")]
        assert audit == ["inserted; 1", "inserted; 2"]
