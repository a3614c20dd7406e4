"""Shared helpers for the orchestrator database runtime tests: real files, real processes."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from tac_bootstrap.runtime.adw_database import OrchestratorDB
from tac_bootstrap.runtime.orch_database_models import format_timestamp

from .conftest import REPO_ROOT

MIGRATIONS = REPO_ROOT / "adws" / "schema" / "migrations"
PG_MIGRATIONS = REPO_ROOT / "adws" / "schema" / "postgres" / "migrations"
SCHEMA_SQL = REPO_ROOT / "adws" / "schema" / "schema_orchestrator.sql"
# The schema version a fully migrated database has: one per migration file.
LATEST_VERSION = len(list(MIGRATIONS.glob("*.sql")))
TABLES = (
    "orchestrator_agents", "agents", "prompts", "agent_logs", "system_logs",
    "prompt_model_usage", "session_usage", "runs", "run_checks", "webhook_deliveries",
)  # fmt: skip
ISO_MS = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$"
PROCESS_TIMEOUT = 60.0


def open_db(path: Path, migrations_dir: Path = MIGRATIONS) -> OrchestratorDB:
    return OrchestratorDB.open(path, migrations_dir=migrations_dir)


def integrity_errors() -> tuple[type[Exception], ...]:
    """The engines' integrity error classes (psycopg's only when it is installed)."""
    errors: tuple[type[Exception], ...] = (sqlite3.IntegrityError,)
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is a dev dependency
        return errors
    return (*errors, psycopg.errors.IntegrityError)


def copy_migrations(target: Path, *names: str) -> Path:
    """Copy the named migration files (all when none are named) into a fresh directory."""
    target.mkdir(parents=True, exist_ok=True)
    for source in sorted(MIGRATIONS.glob("*.sql")):
        if not names or source.name in names:
            shutil.copy2(source, target / source.name)
    return target


def snapshot(
    source: sqlite3.Connection | OrchestratorDB,
) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (bookkeeping included), to prove an operation wrote nothing.

    Given an OrchestratorDB it works on both backends (rows through `iter_rows`, values as
    the runtime shapes them); given a sqlite3 connection it reads every table the file has."""
    if isinstance(source, OrchestratorDB):
        return db_snapshot(source)
    conn = source
    names = [
        row[0]
        for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "ORDER BY name"
        )
    ]
    return {
        name: [tuple(row) for row in conn.execute(f"SELECT * FROM {name} ORDER BY rowid")]
        for name in names
    }


def db_snapshot(db: OrchestratorDB) -> dict[str, list[tuple[Any, ...]]]:
    """Backend-neutral snapshot: the five tables in insertion order plus the migration history."""
    rows: dict[str, list[tuple[Any, ...]]] = {
        table: [tuple(dict(row).values()) for row in db.iter_rows(table)] for table in TABLES
    }
    rows["schema_migrations"] = [
        tuple(row.values())
        for row in sql(
            db, "SELECT version, name, checksum, applied_at FROM schema_migrations ORDER BY version"
        )
    ]
    return rows


def sql(db: OrchestratorDB, query: str, *params: Any) -> list[dict[str, Any]]:
    """Run one statement written with `?` placeholders on either backend (autocommit), bypassing
    the API on purpose; returns its rows as dicts (empty for statements without rows)."""
    cursor = db.conn.execute(db.dialect.translate(query), params)
    if cursor.description is None:
        return []
    return [dict(row) for row in cursor.fetchall()]


def write(db: OrchestratorDB, query: str, *params: Any) -> int:
    """Run one statement with `?` placeholders in its own write transaction; its rowcount."""
    db.conn.execute(db.dialect.begin_write)
    try:
        count = int(db.conn.execute(db.dialect.translate(query), params).rowcount)
    except BaseException:
        db.conn.execute("ROLLBACK")
        raise
    db.conn.execute("COMMIT")
    return count


def days_ago(days: float) -> str:
    return format_timestamp(datetime.now(timezone.utc) - timedelta(days=days))


def set_column(
    target: sqlite3.Connection | OrchestratorDB, table: str, column: str, row_id: str, value: Any
) -> None:
    """Backdate (or otherwise set) one column of one row, bypassing the API on purpose.

    Takes a sqlite3 connection, or an OrchestratorDB of either backend (one write transaction)."""
    query = f"UPDATE {table} SET {column} = ? WHERE id = ?"
    if isinstance(target, OrchestratorDB):
        count = write(target, query, value, row_id)
    else:
        count = target.execute(query, (value, row_id)).rowcount
    assert count == 1, f"{table} {row_id!r} not found"


def python_env(**extra: str) -> dict[str, str]:
    """The environment for child interpreters, without a TAC_ORCHESTRATOR_DB from outside
    (compiled modules go to the suite's prefix directory: conftest.share_bytecode)."""
    env = {k: v for k, v in os.environ.items() if k != "TAC_ORCHESTRATOR_DB"}
    env.update(extra)
    return env


def run_python(
    script: str, *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", script, *args],
        cwd=cwd,
        env=env if env is not None else python_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=PROCESS_TIMEOUT,
    )


# A prelude for worker scripts: wait on a start barrier made of files, so that every worker
# has finished importing (and, if it wants, connecting) before any of them starts the work.
BARRIER_PRELUDE = """
import json, sys, time
from pathlib import Path

def barrier(ready: str, go: str) -> None:
    Path(ready).touch()
    deadline = time.monotonic() + 60
    while not Path(go).exists():
        if time.monotonic() > deadline:
            raise SystemExit("start barrier timed out")
        time.sleep(0.002)
"""


def run_workers(
    script: str, per_worker_args: list[list[str]], barrier_dir: Path
) -> list[subprocess.CompletedProcess[str]]:
    """Start one process per argument list, release them together, collect their results.

    Each worker gets `ready_file go_file *args` as its argv and must call
    barrier(ready_file, go_file) (see BARRIER_PRELUDE) before the overlapping part.
    """
    barrier_dir.mkdir(parents=True, exist_ok=True)
    go = barrier_dir / "go"
    procs = []
    readies = []
    for index, args in enumerate(per_worker_args):
        ready = barrier_dir / f"ready-{index}"
        readies.append(ready)
        procs.append(
            subprocess.Popen(
                [sys.executable, "-c", BARRIER_PRELUDE + script, str(ready), str(go), *args],
                env=python_env(),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    try:
        deadline = time.monotonic() + PROCESS_TIMEOUT
        while not all(r.exists() for r in readies):
            failed = [p for p in procs if p.poll() is not None]
            if failed:
                break  # a worker died before the barrier: collect its error below
            assert time.monotonic() < deadline, "workers never reached the start barrier"
            time.sleep(0.005)
        go.touch()
        results = []
        for proc in procs:
            stdout, stderr = proc.communicate(timeout=PROCESS_TIMEOUT)
            results.append(subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr))
        return results
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def worker_outputs(results: list[subprocess.CompletedProcess[str]]) -> list[Any]:
    """Every worker exited 0 with nothing on stderr; their JSON outputs, in order."""
    for index, result in enumerate(results):
        assert result.returncode == 0, f"worker {index} failed:\n{result.stderr}"
        assert result.stderr == "", f"worker {index} wrote to stderr:\n{result.stderr}"
    return [json.loads(result.stdout) for result in results]
