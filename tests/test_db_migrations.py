"""The migration runner: bookkeeping, crash safety, refusing edited history, SQL splitting.

The bookkeeping and refusal cases run on both backends (`db_target`: a fresh SQLite file or
PostgreSQL database and that backend's migrations directory); crash safety, statement
splitting and the migration lock are tested per engine.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest

from tac_bootstrap.runtime.adw_database import OrchestratorDB
from tac_bootstrap.runtime.adw_db_migrations import (
    MigrationError,
    discover,
    split_statements,
)
from tac_bootstrap.runtime.adw_db_ops_shared import tables_at
from tac_bootstrap.runtime.adw_db_postgres import MIGRATION_LOCK_KEY

from .conftest import REPO_ROOT
from .db_helpers import (
    ISO_MS,
    copy_migrations,
    open_db,
    python_env,
    run_python,
    sql,
)

PG_MIGRATIONS = REPO_ROOT / "adws" / "schema" / "postgres" / "migrations"
# The runner is tested on a frozen baseline, the first three released migrations of each
# backend, so releasing a real 004 changes nothing here (the tests fabricate their own 004).
BASELINE = (
    "001_initial.sql",
    "002_rollup_and_retention_indexes.sql",
    "003_usage_by_kind_and_model.sql",
)

BIG_ROWS = 600_000
SUM_TO = 5_000_000
# Heavy but bounded (a few seconds): a big table (its pages spill into the WAL while the
# transaction is open), an index on it, then a long aggregate that writes almost nothing.
SLOW_004 = f"""-- Migration 004 (test only): slow on purpose.
CREATE TABLE started_004 (x INTEGER);
INSERT INTO started_004 VALUES (1);
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


def sqlite_tables(conn: sqlite3.Connection) -> set[str]:
    return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


# -- backend-neutral helpers -----------------------------------------------------------------


def copy_dir(source: Path, target: Path) -> Path:
    """A private copy of one backend's baseline migrations, for a test to add files to."""
    target.mkdir(parents=True)
    for name in BASELINE:
        shutil.copy2(source / name, target / name)
    return target


@pytest.fixture
def db_target(db_target: tuple[str, Path], tmp_path: Path) -> tuple[str, Path]:
    """conftest's fresh database, with the baseline migrations of its backend."""
    database, source = db_target
    return database, copy_dir(source, tmp_path / "baseline_migrations")


def inspect_db(database: str, migrations: Path) -> OrchestratorDB:
    """Open without migrating, to look at the database as it is."""
    return OrchestratorDB.open(database, migrations_dir=migrations, apply_migrations=False)


def table_names(db: OrchestratorDB) -> set[str]:
    sql = (
        "SELECT name FROM sqlite_master WHERE type = 'table'"
        if db.backend == "sqlite"
        else "SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema()"
    )
    return {row["name"] for row in db.conn.execute(sql)}


def schema_objects(db: OrchestratorDB) -> list[tuple[str, str, str]]:
    """Every table, index, trigger and function with its definition."""
    if db.backend == "sqlite":
        sql = "SELECT type, name, coalesce(sql, '') AS sql FROM sqlite_master"
    else:
        sql = """
            SELECT 'table' AS type, tablename AS name, '' AS sql FROM pg_tables
                WHERE schemaname = current_schema()
            UNION ALL SELECT 'index', indexname, indexdef FROM pg_indexes
                WHERE schemaname = current_schema()
            UNION ALL SELECT 'trigger', tgname, pg_get_triggerdef(t.oid) FROM pg_trigger t
                WHERE NOT tgisinternal
            UNION ALL SELECT 'function', proname, prosrc FROM pg_proc p
                JOIN pg_namespace n ON n.oid = p.pronamespace WHERE nspname = current_schema()
        """
    return sorted((row["type"], row["name"], row["sql"]) for row in db.conn.execute(sql))


def history(db: OrchestratorDB) -> list[dict[str, Any]]:
    if "schema_migrations" not in table_names(db):
        return []
    rows = db.conn.execute(
        "SELECT version, name, checksum, applied_at FROM schema_migrations ORDER BY version"
    )
    return [dict(row) for row in rows]


def contents(db: OrchestratorDB) -> dict[str, Any]:
    """Every row of every table, bookkeeping included, and the schema: proof nothing changed."""
    present = tables_at(db.schema_version())
    rows = {table: [dict(row) for row in db.iter_rows(table)] for table in present}
    return {"rows": rows, "history": history(db), "schema": schema_objects(db)}


def test_sigkill_during_a_migration_leaves_the_previous_version(tmp_path: Path) -> None:
    migrations = copy_migrations(tmp_path / "migrations", *BASELINE)
    (migrations / "004_slow_backfill.sql").write_text(SLOW_004)
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
        # 004 is under way once its uncommitted pages start spilling into the WAL.
        while wal.stat().st_size < wal_at_002 + 1_000_000:
            assert proc.poll() is None, "004 finished before the kill; make it slower"
            assert time.monotonic() < deadline, "004 never started writing"
            time.sleep(0.005)
        assert proc.poll() is None, "004 finished before the kill; make it slower"
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
        assert [r[0] for r in conn.execute("SELECT version FROM schema_migrations")] == [1, 2, 3]
        # Not even 004's first, quick statements survive: the migration is one transaction.
        assert sqlite_tables(conn).isdisjoint({"started_004", "big", "big_total"})
    finally:
        conn.close()

    rerun = run_python(OPEN_SCRIPT, str(db_path), str(migrations))
    assert rerun.returncode == 0, rerun.stderr
    assert rerun.stdout.strip() == "4"
    conn = sqlite3.connect(db_path)
    try:
        assert conn.execute("SELECT count(*) FROM started_004").fetchone()[0] == 1
        assert conn.execute("SELECT count(*) FROM big").fetchone()[0] == BIG_ROWS
        assert (
            conn.execute("SELECT total FROM big_total").fetchone()[0] == SUM_TO * (SUM_TO + 1) // 2
        )
        assert [r[0] for r in conn.execute("SELECT version FROM schema_migrations")] == [1, 2, 3, 4]
    finally:
        conn.close()


def test_history_is_recorded_with_checksums_and_reopening_applies_nothing(
    db_target: tuple[str, Path],
) -> None:
    database, migrations = db_target
    with OrchestratorDB.open(database, migrations_dir=migrations) as db:
        db.log_system("first open")
        rows = history(db)
    found = discover(migrations)
    assert [(r["version"], r["name"], r["checksum"]) for r in rows] == [
        (m.version, m.name, m.checksum) for m in found
    ]
    assert [m.filename for m in found] == list(BASELINE)
    assert all(re.match(ISO_MS, r["applied_at"]) for r in rows)

    with inspect_db(database, migrations) as db:
        before = contents(db)
    with OrchestratorDB.open(database, migrations_dir=migrations) as db:
        assert db.schema_version() == 3
        assert db.pending_migrations() == []
        assert contents(db) == before
        assert before["rows"]["system_logs"][0]["message"] == "first open"


def test_a_new_migration_is_applied_on_the_next_open(
    db_target: tuple[str, Path], tmp_path: Path
) -> None:
    database, source = db_target
    migrations = copy_dir(source, tmp_path / "migrations")
    with OrchestratorDB.open(database, migrations_dir=migrations) as db:
        assert db.schema_version() == 3
    (migrations / "004_add_notes.sql").write_text("CREATE TABLE notes (id TEXT PRIMARY KEY);\n")
    with OrchestratorDB.open(database, migrations_dir=migrations, apply_migrations=False) as db:
        assert [m.filename for m in db.pending_migrations()] == ["004_add_notes.sql"]
        assert db.status().pending == ["004_add_notes.sql"]
        assert db.schema_version() == 3
        assert "notes" not in table_names(db)
    with OrchestratorDB.open(database, migrations_dir=migrations) as db:
        assert db.schema_version() == 4
        assert "notes" in table_names(db)
        assert [(r["version"], r["name"]) for r in history(db)][-1] == (4, "add_notes")


def test_an_edited_applied_migration_is_refused_and_nothing_changes(
    db_target: tuple[str, Path], tmp_path: Path
) -> None:
    database, source = db_target
    migrations = copy_dir(source, tmp_path / "migrations")
    with OrchestratorDB.open(database, migrations_dir=migrations) as db:
        before = contents(db)

    edited = migrations / "002_rollup_and_retention_indexes.sql"
    edited.write_text(edited.read_text() + "\nCREATE INDEX idx_extra ON agents (name);\n")
    (migrations / "004_add_notes.sql").write_text("CREATE TABLE notes (id TEXT PRIMARY KEY);\n")
    with pytest.raises(MigrationError) as raised:
        OrchestratorDB.open(database, migrations_dir=migrations)
    message = str(raised.value)
    assert "002_rollup_and_retention_indexes.sql" in message
    assert "changed after it was applied" in message

    with inspect_db(database, migrations) as db:
        assert contents(db) == before


def test_a_vanished_applied_migration_is_refused(
    db_target: tuple[str, Path], tmp_path: Path
) -> None:
    database, source = db_target
    migrations = copy_dir(source, tmp_path / "migrations")
    OrchestratorDB.open(database, migrations_dir=migrations).close()
    (migrations / "003_usage_by_kind_and_model.sql").unlink()
    with pytest.raises(MigrationError, match="003_usage_by_kind_and_model applied, but"):
        OrchestratorDB.open(database, migrations_dir=migrations)


def test_a_failing_migration_applies_nothing_of_itself(
    db_target: tuple[str, Path], tmp_path: Path
) -> None:
    database, source = db_target
    migrations = copy_dir(source, tmp_path / "migrations")
    OrchestratorDB.open(database, migrations_dir=migrations).close()
    (migrations / "004_half_broken.sql").write_text(
        "CREATE TABLE first_half (id INTEGER);\nINSERT INTO no_such_table VALUES (1);\n"
    )
    with pytest.raises(MigrationError) as raised:
        OrchestratorDB.open(database, migrations_dir=migrations)
    assert "004_half_broken.sql" in str(raised.value)
    assert "no_such_table" in str(raised.value)
    assert "nothing of it was applied" in str(raised.value)
    with inspect_db(database, migrations) as db:
        assert db.schema_version() == 3
        assert "first_half" not in table_names(db)
        assert not db.in_transaction
        assert [m.filename for m in db.pending_migrations()] == ["004_half_broken.sql"]


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (["001_initial.sql", "004_third.sql"], "002 is missing"),
        (["002_second.sql"], "001 is missing"),
        (["001_initial.sql", "002_a.sql", "002_b.sql"], "duplicate migration number 002"),
        (["001_initial.sql", "2_second.sql"], "must be named NNN_description.sql"),
        (["001_initial.sql", "002_Second.sql"], "must be named NNN_description.sql"),
        (["001_initial.sql", "002-second.sql"], "must be named NNN_description.sql"),
    ],
)
def test_bad_migration_directories_are_errors(
    db_target: tuple[str, Path], tmp_path: Path, files: list[str], message: str
) -> None:
    database, _ = db_target
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    for name in files:  # valid SQL on both engines: only the names are wrong
        (migrations / name).write_text(f"CREATE TABLE t_{len(name)} (x INTEGER);\n")
    (migrations / ".gitkeep").write_text("")  # not .sql: ignored
    (migrations / "README.md").write_text("notes")
    with pytest.raises(MigrationError, match=message):
        OrchestratorDB.open(database, migrations_dir=migrations)
    with inspect_db(database, migrations) as db:
        assert table_names(db) == set()  # nothing applied, not even the bookkeeping table


def test_a_missing_migrations_directory_is_an_error(
    db_target: tuple[str, Path], tmp_path: Path
) -> None:
    database, _ = db_target
    with pytest.raises(MigrationError, match="does not exist"):
        OrchestratorDB.open(database, migrations_dir=tmp_path / "nowhere")


# -- SQLite only: statement splitting (PostgreSQL gets each file whole) ------------------------


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
    migrations = copy_migrations(tmp_path / "migrations", *BASELINE)
    (migrations / "004_tricky.sql").write_text(TRICKY_SQL)
    with open_db(tmp_path / "orchestrator.db", migrations) as db:
        assert db.schema_version() == 4
        rows = db.conn.execute('SELECT id, note, "odd;name" FROM t ORDER BY id').fetchall()
        assert [tuple(r) for r in rows] == [(1, "a;b;tail", "c;'d"), (2, "it's; fine;tail", None)]
        audit = [r[0] for r in db.conn.execute("SELECT what FROM t_audit ORDER BY rowid")]
        assert audit == ["inserted; 1", "inserted; 2"]


# -- PostgreSQL only: whole-file execution, CONCURRENTLY, SIGKILL, the advisory lock ----------

# One file, sent whole: a PL/pgSQL body between $$ (semicolons inside), quoted `;`, `%` and `?`
# that must reach the server untouched (no splitting, no placeholder rewriting).
PG_TRICKY_SQL = """-- a comment; with a semicolon
CREATE TABLE t (id INTEGER PRIMARY KEY, note TEXT, "odd;name" TEXT);
/* block comment; also with one */
CREATE TABLE t_audit (seq SERIAL PRIMARY KEY, what TEXT NOT NULL);
CREATE FUNCTION t_note() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    tail CONSTANT TEXT := ';tail';
BEGIN
    UPDATE t SET note = note || tail WHERE id = NEW.id;
    INSERT INTO t_audit (what) VALUES ('inserted; ' || NEW.id);
    RETURN NULL;
END;
$$;
CREATE TRIGGER t_note AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION t_note();
DO $body$ BEGIN RAISE NOTICE 'done; really'; END $body$;
INSERT INTO t (id, note, "odd;name") VALUES (1, 'a;b', 'c;''d');
INSERT INTO t (id, note) VALUES (2, 'it''s; 50% fine?')
"""

SLEEPY_004 = "CREATE TABLE started_004 (x int);\nSELECT pg_sleep(30);\n"
FAST_004 = "CREATE TABLE started_004 (x int);\nINSERT INTO started_004 VALUES (3);\n"

# pg_locks shows a bigint advisory key as classid (high 32 bits) and objid (low 32 bits).
MIGRATION_LOCKS = """
SELECT l.pid, l.granted, a.state, a.query
FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.objsubid = 1
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND l.classid = %s::oid AND l.objid = %s::oid
"""
LOCK_PARAMS = ((MIGRATION_LOCK_KEY >> 32) & 0xFFFFFFFF, MIGRATION_LOCK_KEY & 0xFFFFFFFF)


def pg_admin(url: str) -> Any:
    """A plain psycopg connection (autocommit, dict rows) beside the runtime's own."""
    import psycopg
    from psycopg.rows import dict_row

    return psycopg.connect(url, autocommit=True, row_factory=dict_row)


def migration_locks(admin: Any) -> list[dict[str, Any]]:
    return list(admin.execute(MIGRATION_LOCKS, LOCK_PARAMS).fetchall())


def wait_for(condition: Any, what: str, proc: subprocess.Popen[bytes] | None = None) -> float:
    """Poll until condition() is true (60 s at most); returns the seconds it took."""
    started = time.monotonic()
    while not condition():
        if proc is not None:
            assert proc.poll() is None, f"the process ended before {what}: {proc.communicate()!r}"
        assert time.monotonic() - started < 60, f"timed out waiting for {what}"
        time.sleep(0.01)
    return time.monotonic() - started


@pytest.mark.postgres
def test_a_pl_pgsql_function_body_and_quoted_semicolons_apply_as_written(
    pg_url: str, tmp_path: Path
) -> None:
    migrations = copy_dir(PG_MIGRATIONS, tmp_path / "migrations")
    (migrations / "004_tricky.sql").write_text(PG_TRICKY_SQL)
    with OrchestratorDB.open(pg_url, migrations_dir=migrations) as db:
        assert db.schema_version() == 4
        rows = db.conn.execute('SELECT id, note, "odd;name" AS odd FROM t ORDER BY id').fetchall()
        assert [(r["id"], r["note"], r["odd"]) for r in rows] == [
            (1, "a;b;tail", "c;'d"),
            (2, "it's; 50% fine?;tail", None),
        ]
        audit = [r["what"] for r in db.conn.execute("SELECT what FROM t_audit ORDER BY seq")]
        assert audit == ["inserted; 1", "inserted; 2"]
        bodies = [body for kind, name, body in schema_objects(db) if name == "t_note"]
        assert len(bodies) == 2  # the function and its trigger
        assert any("UPDATE t SET note = note || tail WHERE id = NEW.id;" in b for b in bodies)


@pytest.mark.postgres
def test_a_concurrently_migration_is_refused_by_name(pg_url: str, tmp_path: Path) -> None:
    migrations = copy_dir(PG_MIGRATIONS, tmp_path / "migrations")
    OrchestratorDB.open(pg_url, migrations_dir=migrations).close()
    (migrations / "004_agents_by_name.sql").write_text(
        "CREATE INDEX CONCURRENTLY idx_agents_name ON agents (name);\n"
    )
    with inspect_db(pg_url, migrations) as db:
        before = contents(db)
    with pytest.raises(MigrationError) as raised:
        OrchestratorDB.open(pg_url, migrations_dir=migrations)
    message = str(raised.value)
    assert "004_agents_by_name.sql" in message
    assert "CONCURRENTLY cannot run inside a transaction" in message
    with inspect_db(pg_url, migrations) as db:
        assert contents(db) == before
        assert "idx_agents_name" not in {name for _, name, _ in schema_objects(db)}


@pytest.mark.postgres
def test_concurrently_in_a_comment_does_not_refuse_a_migration(pg_url: str, tmp_path: Path) -> None:
    migrations = copy_dir(PG_MIGRATIONS, tmp_path / "migrations")
    (migrations / "004_agents_by_name.sql").write_text(
        "-- not CONCURRENTLY: migrations run in a transaction\n"
        "/* CONCURRENTLY would fail here */\n"
        "CREATE INDEX idx_agents_name ON agents (name);\n"
    )
    with OrchestratorDB.open(pg_url, migrations_dir=migrations) as db:
        assert db.schema_version() == 4
        assert "idx_agents_name" in {name for _, name, _ in schema_objects(db)}


@pytest.mark.postgres
def test_sigkill_during_a_postgres_migration_leaves_the_previous_version(
    pg_url: str, tmp_path: Path
) -> None:
    migrations = copy_dir(PG_MIGRATIONS, tmp_path / "migrations")
    (migrations / "004_slow_backfill.sql").write_text(SLEEPY_004)
    admin = pg_admin(pg_url)
    try:
        interval = admin.execute("SHOW client_connection_check_interval").fetchone()
        if interval["client_connection_check_interval"] in ("0", "0ms"):
            pytest.skip(
                "this server keeps a killed client's statement running "
                "(client_connection_check_interval = 0), so its lock outlives the kill"
            )
        proc = subprocess.Popen(
            [sys.executable, "-c", OPEN_SCRIPT, pg_url, str(migrations)],
            env=python_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:

            def running_004() -> bool:
                return any(
                    lock["granted"] and lock["state"] == "active" and "pg_sleep" in lock["query"]
                    for lock in migration_locks(admin)
                )

            wait_for(running_004, "004 ran under the migration lock", proc)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert proc.returncode == -signal.SIGKILL

        # The server notices the dead client within client_connection_check_interval, cancels
        # pg_sleep and rolls back: the lock is free long before the 30 s sleep would end.
        released = wait_for(lambda: not migration_locks(admin), "the lock to be released")
        assert released < 10, f"the migration lock was held {released:.1f} s after the kill"
        assert admin.execute("SELECT to_regclass('started_004') AS t").fetchone()["t"] is None
        versions = admin.execute("SELECT version FROM schema_migrations ORDER BY version")
        assert [row["version"] for row in versions] == [1, 2, 3]
    finally:
        admin.close()

    (migrations / "004_slow_backfill.sql").write_text(FAST_004)
    rerun = run_python(OPEN_SCRIPT, pg_url, str(migrations))
    assert rerun.returncode == 0, rerun.stderr
    assert rerun.stdout.strip() == "4"
    with inspect_db(pg_url, migrations) as db:
        assert [r["x"] for r in db.conn.execute("SELECT x FROM started_004")] == [3]
        assert [r["version"] for r in history(db)] == [1, 2, 3, 4]


@pytest.mark.postgres
def test_a_migrator_waiting_longer_than_the_lock_timeout_is_told_why(
    pg_url: str, tmp_path: Path
) -> None:
    migrations = copy_dir(PG_MIGRATIONS, tmp_path / "migrations")
    holder = pg_admin(pg_url)
    try:
        with holder.transaction():
            holder.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK_KEY,))
            with pytest.raises(MigrationError) as raised:
                OrchestratorDB.open(pg_url, migrations_dir=migrations, busy_timeout_ms=300)
        message = str(raised.value)
        assert "001_initial.sql" in message
        assert "another process has held the migration lock" in message
        assert "nothing of it was applied" not in message
    finally:
        holder.close()
    with inspect_db(pg_url, migrations) as db:
        assert table_names(db) == set()  # not even the bookkeeping table
    with OrchestratorDB.open(pg_url, migrations_dir=migrations, busy_timeout_ms=300) as db:
        assert db.schema_version() == 3


@pytest.mark.postgres
def test_a_migrator_queued_behind_the_lock_applies_once_it_is_free(
    pg_url: str, tmp_path: Path
) -> None:
    migrations = copy_dir(PG_MIGRATIONS, tmp_path / "migrations")
    holder = pg_admin(pg_url)
    # Not the holder: inside a transaction pg_stat_activity is a snapshot taken at first use.
    watcher = pg_admin(pg_url)
    try:
        holder.execute("BEGIN")
        holder.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK_KEY,))
        proc = subprocess.Popen(
            [sys.executable, "-c", OPEN_SCRIPT, pg_url, str(migrations)],
            env=python_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:

            def queued() -> bool:
                return any(not lock["granted"] for lock in migration_locks(watcher))

            wait_for(queued, "the migrator to queue on the lock", proc)
            holder.execute("COMMIT")
            stdout, stderr = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert proc.returncode == 0, stderr.decode()
        assert stdout.decode().strip() == "3"
    finally:
        holder.close()
        watcher.close()


@pytest.mark.postgres
def test_a_lock_timeout_inside_a_migration_is_not_blamed_on_the_migration_lock(
    pg_url: str, tmp_path: Path
) -> None:
    migrations = copy_dir(PG_MIGRATIONS, tmp_path / "migrations")
    OrchestratorDB.open(pg_url, migrations_dir=migrations).close()
    (migrations / "004_agent_notes.sql").write_text("ALTER TABLE agents ADD COLUMN note TEXT;\n")
    reader = pg_admin(pg_url)  # a long read keeps ALTER TABLE waiting, not another migrator
    try:
        with reader.transaction():
            reader.execute("SELECT count(*) FROM agents")
            with pytest.raises(MigrationError) as raised:
                OrchestratorDB.open(pg_url, migrations_dir=migrations, busy_timeout_ms=300)
    finally:
        reader.close()
    message = str(raised.value)
    assert "004_agent_notes.sql" in message
    assert "lock timeout" in message
    assert "nothing of it was applied" in message
    assert "migration lock" not in message
    with OrchestratorDB.open(pg_url, migrations_dir=migrations) as db:
        assert db.schema_version() == 4


def url_as(url: str, user: str) -> str:
    """The same database URL with another user (the test server trusts any local user)."""
    base, _, query = url.partition("?")
    params = [(k, v) for k, v in parse_qsl(query) if k != "user"] + [("user", user)]
    return f"{base}?{urlencode(params, safe='/')}"  # not urlunsplit: it drops the empty host


@contextlib.contextmanager
def dml_only_role(url: str) -> Iterator[str]:
    """A login role that may read and write the rows of every existing table (and use their
    sequences) but not create anything: what an application user is often given."""
    role = f"limited_{uuid.uuid4().hex[:12]}"  # roles are server-wide; tests share the server
    admin = pg_admin(url)
    try:
        admin.execute(f"CREATE ROLE {role} LOGIN".encode())
        for grant in (
            "USAGE ON SCHEMA public",
            "SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public",
            "USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public",
        ):
            admin.execute(f"GRANT {grant} TO {role}".encode())
        admin.execute(b"REVOKE CREATE ON SCHEMA public FROM PUBLIC")  # PostgreSQL 15's default
        can_create = admin.execute(
            "SELECT has_schema_privilege(%s, 'public', 'CREATE') AS ok", (role,)
        ).fetchone()
        assert can_create == {"ok": False}
        yield role
    finally:
        admin.execute(f"DROP OWNED BY {role}".encode())
        admin.execute(f"DROP ROLE {role}".encode())
        admin.close()


@pytest.mark.postgres
def test_a_role_without_create_applies_a_dml_migration_once_the_history_exists(
    pg_url: str, tmp_path: Path
) -> None:
    """CREATE TABLE IF NOT EXISTS checks CREATE on the schema even when the table exists, so
    the history table is created only when missing: a role that may only write rows applies
    a migration that only writes rows."""
    migrations = copy_dir(PG_MIGRATIONS, tmp_path / "migrations")
    OrchestratorDB.open(pg_url, migrations_dir=migrations).close()  # as the owner
    with dml_only_role(pg_url) as role:
        (migrations / "004_touch_descriptions.sql").write_text(
            "UPDATE orchestrator_agents SET description = description;\n"
        )
        with OrchestratorDB.open(url_as(pg_url, role), migrations_dir=migrations) as db:
            assert sql(db, "SELECT current_user AS u") == [{"u": role}]
            assert db.schema_version() == 4
            assert [r["version"] for r in history(db)] == [1, 2, 3, 4]
            assert db.pending_migrations() == []
            db.log_system("written by the limited role")
            assert db.table_counts()["system_logs"] == 1


@pytest.mark.postgres
def test_a_ddl_migration_without_create_names_itself_and_what_to_grant(
    pg_url: str, tmp_path: Path
) -> None:
    migrations = copy_dir(PG_MIGRATIONS, tmp_path / "migrations")
    OrchestratorDB.open(pg_url, migrations_dir=migrations).close()  # as the owner
    with dml_only_role(pg_url) as role:
        (migrations / "005_t5.sql").write_text("CREATE TABLE t5 (x int);\n")
        (migrations / "004_touch_descriptions.sql").write_text(
            "UPDATE orchestrator_agents SET description = description;\n"
        )
        with pytest.raises(MigrationError) as raised:
            OrchestratorDB.open(url_as(pg_url, role), migrations_dir=migrations)
        message = str(raised.value)
        assert "005_t5.sql" in message
        assert "001_initial.sql" not in message and "004_" not in message
        assert "permission denied" in message
        assert "GRANT CREATE ON SCHEMA public" in message
        assert "nothing of it was applied" in message
    with inspect_db(pg_url, migrations) as db:
        assert [r["version"] for r in history(db)] == [1, 2, 3, 4]  # 004 applied, 005 not
        assert "t5" not in table_names(db)
        assert not db.in_transaction


@pytest.mark.postgres
def test_an_owner_only_migration_is_not_answered_with_a_create_grant(
    pg_url: str, tmp_path: Path
) -> None:
    """ "must be owner of table" is also 42501, but granting CREATE would not help there."""
    migrations = copy_dir(PG_MIGRATIONS, tmp_path / "migrations")
    OrchestratorDB.open(pg_url, migrations_dir=migrations).close()  # as the owner
    with dml_only_role(pg_url) as role:
        (migrations / "004_agent_notes.sql").write_text(
            "ALTER TABLE agents ADD COLUMN note TEXT;\n"
        )
        with pytest.raises(MigrationError) as raised:
            OrchestratorDB.open(url_as(pg_url, role), migrations_dir=migrations)
    message = str(raised.value)
    assert "004_agent_notes.sql" in message and "must be owner of table agents" in message
    assert "GRANT CREATE" not in message
