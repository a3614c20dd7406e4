"""`tac-bootstrap db copy`: move an orchestrator database between SQLite and PostgreSQL.

The copy never touches a row that is already in DEST: every batch is an
`INSERT ... ON CONFLICT (id) DO NOTHING` in its own DEST transaction, so an interrupted copy is
resumed by running it again, a finished one copies nothing the second time, and `updated_at`
is kept (no UPDATE ever fires the trigger). SOURCE is read in one snapshot, tables in foreign
key order and rows in insertion order, so DEST numbers its logs as SOURCE did.

Nothing is written before the preflight has passed: schema versions, orchestrator agent names
that DEST already uses for another id, and (DEST on PostgreSQL) SQLite ids that a UUID column
would refuse. At the end row counts and token sums must be equal and the cost sums equal
within 1e-9 (SQLite adds REAL floats, PostgreSQL exact NUMERIC).

The values read from either backend look the same (ids text, timestamps `...Z`, JSON text,
costs float), so rows go into the other backend as they are.
"""

from __future__ import annotations

import json
import math
import os
import re
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

from tac_bootstrap.application.database_service import find_project, translated_errors
from tac_bootstrap.domain.config import CONFIG_FILENAME
from tac_bootstrap.domain.errors import ConfigError, OperationError, UsageError
from tac_bootstrap.infrastructure.config_loader import load_config
from tac_bootstrap.runtime import adw_db_operations as ops
from tac_bootstrap.runtime.adw_database import OrchestratorDB
from tac_bootstrap.runtime.adw_db_connection import (
    DatabaseLocation,
    UnsupportedDatabase,
    location_from_setting,
    migrations_dir_for,
)
from tac_bootstrap.runtime.adw_db_migrations import Migration, applied, migrate

Progress = Callable[[int, int], None]  # (rows done, rows in total)
DEFAULT_BATCH_SIZE = 1000
# Columns holding an id (the key, and foreign keys): all must be UUIDs for PostgreSQL.
ID_COLUMNS: dict[str, tuple[str, ...]] = {
    "orchestrator_agents": ("id",),
    "agents": ("id", "orchestrator_agent_id"),
    "prompts": ("id", "agent_id"),
    "agent_logs": ("id", "agent_id"),
    "system_logs": ("id",),
    "prompt_model_usage": ("id", "prompt_id"),
    "session_usage": ("id", "agent_id"),
}
TOKEN_COLUMNS = ops.TOKEN_KINDS
# Cost columns: REAL sums on SQLite, exact NUMERIC sums on PostgreSQL, so compared with isclose.
COST_COLUMNS = {
    "agents": "total_cost_usd",
    "prompts": "cost_usd",
    "prompt_model_usage": "cost_usd",
    "session_usage": "cost_usd",
}
COST_TOLERANCE = 1e-9
EXAMPLES = 5
# What PostgreSQL's uuid input accepts in practice: 32 hex digits, optionally hyphenated as
# 8-4-4-4-12 and wrapped in braces, any case.
_UUID_TEXT = re.compile(
    r"^\{?[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}\}?$", re.IGNORECASE
)
_CANONICAL_GLOB = "-".join("[0-9a-f]" * n for n in (8, 4, 4, 4, 12))
SOURCE_HINT = (
    "SOURCE and DEST are file paths, sqlite:///FILE, postgresql:// URLs or libpq keyword/value "
    "strings ('host=HOST dbname=DBNAME')"
)


@dataclass
class TableCopy:
    """One table's part of the copy; `copied + already_there == source_rows` when done."""

    table: str
    source_rows: int
    copied: int = 0
    already_there: int = 0
    dest_rows: int = 0


@dataclass(frozen=True)
class SumCheck:
    """A column sum in SOURCE and DEST; tokens must be equal, costs equal within 1e-9."""

    table: str
    column: str
    source: float | int
    dest: float | int

    @property
    def name(self) -> str:
        return f"{self.table}.{self.column}"

    @property
    def equal(self) -> bool:
        if isinstance(self.source, int) and isinstance(self.dest, int):
            return self.source == self.dest
        return math.isclose(self.source, self.dest, rel_tol=COST_TOLERANCE, abs_tol=COST_TOLERANCE)


@dataclass
class CopyReport:
    source: str  # where SOURCE is, password masked
    dest: str
    source_backend: str
    dest_backend: str
    schema_version: int = 0
    dest_migrated: list[str] = field(default_factory=list)
    tables: list[TableCopy] = field(default_factory=list)
    sums: list[SumCheck] = field(default_factory=list)
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def copied(self) -> int:
        return sum(t.copied for t in self.tables)

    @property
    def already_there(self) -> int:
        return sum(t.already_there for t in self.tables)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": not self.problems,
            "source": {"location": self.source, "backend": self.source_backend},
            "dest": {
                "location": self.dest,
                "backend": self.dest_backend,
                "migrations_applied": self.dest_migrated,
            },
            "schema_version": self.schema_version,
            "tables": {
                t.table: {
                    "source_rows": t.source_rows,
                    "copied": t.copied,
                    "already_there": t.already_there,
                    "dest_rows": t.dest_rows,
                }
                for t in self.tables
            },
            "sums": {
                s.name: {"source": s.source, "dest": s.dest, "equal": s.equal} for s in self.sums
            },
            "copied": self.copied,
            "already_there": self.already_there,
            "seconds": round(self.seconds, 3),
            "problems": self.problems,
        }


# -- where SOURCE and DEST are --------------------------------------------------------------


@dataclass(frozen=True)
class CopyPlan:
    source: DatabaseLocation
    dest: DatabaseLocation
    busy_timeout_ms: int


def plan(source: str, dest: str, project: Path | None) -> CopyPlan:
    """Resolve both arguments; refuse (exit 2) what cannot be a copy before opening anything.

    Paths are relative to the current directory (as a user typed them), but the migrations
    come from the project, each side from its own backend's directory."""
    root = find_project(project if project is not None else Path.cwd())
    if project is not None and root != project.resolve():
        raise ConfigError(f"{project / CONFIG_FILENAME}: no config file found")
    config = load_config(root / CONFIG_FILENAME)
    adws_dir = config.paths.adws_dir
    from_location = _location(source, "SOURCE", root, adws_dir)
    to_location = _location(dest, "DEST", root, adws_dir)
    if from_location.path is not None and not from_location.path.is_file():
        raise UsageError(
            f"SOURCE {from_location.path} does not exist",
            hint="check the path (a relative path is taken from the current directory)",
        )
    if _same_place(from_location, to_location):
        raise UsageError(
            f"SOURCE and DEST are the same database ({to_location.display})",
            hint="copy into another file or database",
        )
    return CopyPlan(from_location, to_location, config.orchestrator.busy_timeout_ms)


def _location(value: str, role: str, root: Path, adws_dir: str) -> DatabaseLocation:
    try:
        location = location_from_setting(value, Path.cwd(), adws_dir, role)
    except UnsupportedDatabase as exc:
        raise UsageError(str(exc), hint=SOURCE_HINT) from None
    if location.path is not None:
        location = replace(location, path=location.path.resolve())
    migrations = migrations_dir_for(root, adws_dir, location.backend)
    return replace(location, source="argument", migrations_dir=migrations)


def _same_place(a: DatabaseLocation, b: DatabaseLocation) -> bool:
    """Same file (also through a link) or same server and database name, judged from the
    arguments alone; `_same_server_database` checks PostgreSQL again once connected."""
    if a.path is not None and b.path is not None:
        if a.path == b.path:
            return True
        return a.path.exists() and b.path.exists() and os.path.samefile(a.path, b.path)
    if a.url is not None and b.url is not None:
        return _conninfo_key(a.url) == _conninfo_key(b.url)
    return False


def _conninfo_key(url: str) -> tuple[str, str, str]:
    try:
        from psycopg.conninfo import conninfo_to_dict

        info = conninfo_to_dict(url)
    except Exception:  # no psycopg, or a malformed URL: opening it gives the one-line error
        return (url, "", "")
    user = str(info.get("user") or os.environ.get("PGUSER") or "")
    host = str(info.get("host") or os.environ.get("PGHOST") or "")
    port = str(info.get("port") or os.environ.get("PGPORT") or "5432")
    return (host, port, str(info.get("dbname") or os.environ.get("PGDATABASE") or user))


def _same_server_database(a: OrchestratorDB, b: OrchestratorDB) -> bool:
    """Two URLs may name one database (localhost vs 127.0.0.1, a socket): ask the servers."""
    if a.location.url is None or b.location.url is None:
        return False
    sql = (
        "SELECT current_database() AS db, current_setting('port') AS port, "
        "pg_postmaster_start_time()::text AS started"
    )
    return bool(a.conn.execute(sql).fetchone() == b.conn.execute(sql).fetchone())


# -- the copy --------------------------------------------------------------------------------


def copy_database(
    copy_plan: CopyPlan,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Progress | None = None,
) -> CopyReport:
    """Copy every row of SOURCE that DEST lacks, then verify; see the module docstring."""
    if batch_size < 1:
        raise UsageError(f"--batch-size must be at least 1 (got {batch_size})")
    started = time.monotonic()
    report = CopyReport(
        copy_plan.source.display,
        copy_plan.dest.display,
        copy_plan.source.backend,
        copy_plan.dest.backend,
    )
    with _opened(copy_plan.source, copy_plan.busy_timeout_ms, "SOURCE") as source:
        _require_migrated_source(source)
        with _errors_from(source, "SOURCE"), source.snapshot():
            report.tables = [TableCopy(t, n) for t, n in source.table_counts().items()]
            if copy_plan.dest.backend == "postgresql" and source.backend == "sqlite":
                _require_uuid_ids(source)
                _require_no_nul(source)
            source_sums = _sums(source)
            with _opened(copy_plan.dest, copy_plan.busy_timeout_ms, "DEST") as dest:
                if _same_server_database(source, dest):
                    raise UsageError(
                        f"SOURCE and DEST are the same database ({copy_plan.dest.display})",
                        hint="copy into another database",
                    )
                with _errors_from(dest, "DEST"):
                    report.dest_migrated = [m.filename for m in _migrate_dest(dest)]
                    report.schema_version = _require_same_schema(source, dest)
                    _require_no_name_clash(source, dest)
                    _require_no_surplus(report.tables, dest.table_counts())
                _copy_tables(source, dest, report.tables, batch_size, progress)
                with _errors_from(dest, "DEST"):
                    dest_counts = dest.table_counts()
                    dest_sums = _sums(dest)
    for table in report.tables:
        table.dest_rows = dest_counts[table.table]
    report.sums = [
        SumCheck(table, column, value, dest_sums[(table, column)])
        for (table, column), value in source_sums.items()
    ]
    report.problems = _verify(report)
    report.seconds = time.monotonic() - started
    return report


@contextmanager
def _opened(
    location: DatabaseLocation, busy_timeout_ms: int, role: str
) -> Iterator[OrchestratorDB]:
    """Open without migrating: SOURCE is never migrated, DEST only after the checks."""
    try:
        with translated_errors(location):
            db = OrchestratorDB.at(location, busy_timeout_ms, apply_migrations=False)
    except OSError as exc:  # e.g. DEST in a directory that cannot be created
        raise OperationError(
            f"cannot open {role} {location.display}: {exc.strerror or exc}"
        ) from None
    except UsageError as exc:  # psycopg missing (exit 2), keep the code, name the side
        raise type(exc)(f"{role}: {exc.message}", hint=exc.hint) from None
    except OperationError as exc:  # unreachable server, not a database file ...
        raise OperationError(f"{role}: {exc.message}", hint=exc.hint) from None
    try:
        yield db
    finally:
        db.close()


@contextmanager
def _errors_from(db: OrchestratorDB, role: str) -> Iterator[None]:
    """Engine errors as one line naming the side (runtime errors keep their own messages);
    a PostgreSQL message is scrubbed of the URL's password."""
    with translated_errors(db.location):
        try:
            yield
        except db.dialect.errors as exc:
            text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            if db.location.url is not None:
                from tac_bootstrap.runtime.adw_db_postgres import scrub

                text = scrub(text, db.location.url)
            raise OperationError(f"{role} {db.location.display}: database error: {text}") from None


def _require_migrated_source(source: OrchestratorDB) -> None:
    """SOURCE is read as it is; migrating it is the owner's decision (and makes a backup)."""
    with _errors_from(source, "SOURCE"):
        todo = source.pending_migrations()
    if todo:
        names = ", ".join(m.filename for m in todo)
        raise OperationError(
            f"SOURCE {source.location.display} has {len(todo)} pending migration(s): {names}",
            hint="migrate the source first: tac-bootstrap db migrate "
            "(with TAC_ORCHESTRATOR_DB set to SOURCE)",
        )


def _migrate_dest(dest: OrchestratorDB) -> list[Migration]:
    """DEST gets the project's schema (a new SQLite file is created by opening it)."""
    return migrate(dest.conn, dest.migrations_dir, dest.dialect)


def _require_same_schema(source: OrchestratorDB, dest: OrchestratorDB) -> int:
    """Rows only fit a table of the same shape: the applied migrations must be the same."""
    theirs = {v: m.name for v, m in applied(source.conn, source.dialect).items()}
    ours = {v: m.name for v, m in applied(dest.conn, dest.dialect).items()}
    if theirs != ours:
        raise OperationError(
            f"schema versions differ: SOURCE is at {_history(theirs)}, DEST at {_history(ours)}",
            hint="bring both to the project's version with `tac-bootstrap db migrate`",
        )
    return max(theirs, default=0)


def _history(names: dict[int, str]) -> str:
    if not names:
        return "version 0"
    last = max(names)
    return f"version {last} ({last:03d}_{names[last]})"


def _require_no_name_clash(source: OrchestratorDB, dest: OrchestratorDB) -> None:
    """An orchestrator agent name is unique: DEST using it for another id would make the
    insert fail half-way, so it is refused before anything is written."""
    wanted = {row["name"]: _same_id(row["id"]) for row in source.iter_rows("orchestrator_agents")}
    clashes = [
        f"{row['name']!r} (SOURCE id {wanted[row['name']]}, DEST id {row['id']})"
        for row in dest.iter_rows("orchestrator_agents")
        if row["name"] in wanted and wanted[row["name"]] != _same_id(row["id"])
    ]
    if clashes:
        raise OperationError(
            f"DEST {dest.location.display} already has {len(clashes)} orchestrator agent "
            f"name(s) with another id: {', '.join(clashes[:EXAMPLES])}"
            + (" ..." if len(clashes) > EXAMPLES else ""),
            hint="rename or delete them in DEST, or copy into an empty database; "
            "nothing was copied",
        )


def _same_id(value: str) -> str:
    """Ids compare as UUIDs (PostgreSQL returns them lower-case, SQLite keeps what it got)."""
    return ops.uuid_key(value) or value


def _require_uuid_ids(source: OrchestratorDB) -> None:
    """PostgreSQL stores ids in UUID columns; a SQLite id that is not one (hand-written rows,
    old tools) would stop the copy half-way, so all are checked first."""
    bad: list[str] = []
    count = 0
    for table, columns in ID_COLUMNS.items():
        for column in columns:
            for value in _non_canonical_ids(source.conn, table, column):
                if _UUID_TEXT.match(value):
                    continue
                count += 1
                if len(bad) < EXAMPLES:
                    bad.append(f"{table}.{column} {value!r}")
    if count:
        raise OperationError(
            f"SOURCE has {count} id(s) that are not UUIDs, which PostgreSQL cannot store: "
            + ", ".join(bad)
            + (" ..." if count > EXAMPLES else ""),
            hint="fix or delete those rows in SOURCE (ids must be UUIDs); nothing was copied",
        )


NOT_TEXT = {"input_tokens", "output_tokens", "total_cost_usd", "cost_usd", "latency_ms"}


def _require_no_nul(source: OrchestratorDB) -> None:
    """SQLite stores NUL characters that PostgreSQL refuses (text, and \\u0000 in jsonb): a
    copy would stop at the first such row, so all are looked for first."""
    found: list[str] = []
    for table, columns in ops.COLUMNS.items():
        for column in columns:
            if column in NOT_TEXT:
                continue
            for row_id in _rows_with_nul(source.conn, table, column):
                found.append(f"{table}.{column} of {row_id}")
    if found:
        raise OperationError(
            f"SOURCE has {len(found)} value(s) with NUL (0x00) characters, which PostgreSQL "
            "cannot store: "
            + ", ".join(found[:EXAMPLES])
            + (" ..." if len(found) > EXAMPLES else ""),
            hint="remove or replace those characters in SOURCE; nothing was copied",
        )


def _rows_with_nul(conn: sqlite3.Connection, table: str, column: str) -> Iterator[str]:
    if column in ops.JSON_COLUMNS:  # the JSON text holds an escape; confirm on the parsed value
        sql = f"SELECT id, {column} AS v FROM {table} WHERE instr({column}, '\\u0000') > 0"
        for row in conn.execute(sql):
            if _holds_nul(json.loads(row["v"])):
                yield str(row["id"])
        return
    sql = f"SELECT id FROM {table} WHERE instr(CAST({column} AS TEXT), char(0)) > 0"
    for row in conn.execute(sql):
        yield str(row["id"])


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(v) for v in value)
    return False


def _non_canonical_ids(conn: sqlite3.Connection, table: str, column: str) -> Iterator[str]:
    """Values not in the runtime's own form: only these need a closer look in Python."""
    sql = (
        f"SELECT CAST({column} AS TEXT) AS v FROM {table} WHERE {column} IS NOT NULL "
        f"AND NOT (length({column}) = 36 AND lower({column}) GLOB '{_CANONICAL_GLOB}')"
    )
    for row in conn.execute(sql):
        yield str(row["v"])


def _require_no_surplus(tables: Sequence[TableCopy], dest_counts: dict[str, int]) -> None:
    """DEST holding more rows than SOURCE can never end equal: refuse before writing."""
    surplus = [
        f"{t.table} ({dest_counts[t.table]:,} > {t.source_rows:,})"
        for t in tables
        if dest_counts[t.table] > t.source_rows
    ]
    if surplus:
        raise OperationError(
            f"DEST already holds more rows than SOURCE in {', '.join(surplus)}",
            hint="copy into an empty database (or one holding part of this SOURCE); "
            "nothing was copied",
        )


def insert_rows(table: str, rows: list[tuple[Any, ...]]) -> ops.Op[int]:
    """Insert rows that DEST lacks; returns how many were new. `ON CONFLICT (id) DO NOTHING`
    (not SQLite's `INSERT OR IGNORE`, which would also drop rows a CHECK refuses) is the same
    SQL on both engines, and its rowcount counts only inserted rows."""
    columns = ops.COLUMNS[table]
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}) "
        f"VALUES ({', '.join('?' for _ in columns)}) ON CONFLICT (id) DO NOTHING"
    )
    inserted = yield ("many", sql, rows)
    return int(inserted)


def _copy_tables(
    source: OrchestratorDB,
    dest: OrchestratorDB,
    tables: Sequence[TableCopy],
    batch_size: int,
    progress: Progress | None,
) -> None:
    """Stream SOURCE rows into DEST batch by batch; each committed batch survives a crash."""
    total = sum(t.source_rows for t in tables)
    done = 0
    if progress:
        progress(0, total)
    for table in tables:
        for batch in _batches(source, table.table, batch_size):
            with _errors_from(dest, "DEST"):
                inserted = dest._write(
                    insert_rows(table.table, batch), partial(insert_rows, table.table, batch)
                )
            table.copied += inserted
            table.already_there += len(batch) - inserted
            done += len(batch)
            if progress:
                progress(done, total)


def _batches(source: OrchestratorDB, table: str, size: int) -> Iterator[list[tuple[Any, ...]]]:
    columns = ops.COLUMNS[table]
    batch: list[tuple[Any, ...]] = []
    for row in source.iter_rows(table):
        batch.append(tuple(row[c] for c in columns))
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _sums(db: OrchestratorDB) -> dict[tuple[str, str], float | int]:
    """Token sums as exact integers (BIGINT on both engines) and cost sums as floats."""
    sums: dict[tuple[str, str], float | int] = {}
    for table, cost in COST_COLUMNS.items():
        parts = [f"coalesce(CAST(sum({c}) AS BIGINT), 0) AS {c}" for c in TOKEN_COLUMNS]
        parts.append(f"coalesce(sum({cost}), 0) AS {cost}")
        row = db.conn.execute(f"SELECT {', '.join(parts)} FROM {table}").fetchone()
        for column in TOKEN_COLUMNS:
            sums[(table, column)] = int(row[column])
        sums[(table, cost)] = float(row[cost])
    return sums


def _verify(report: CopyReport) -> list[str]:
    """What makes DEST differ from SOURCE's snapshot (empty: the copy is complete)."""
    problems = []
    for table in report.tables:
        if table.dest_rows > table.source_rows:
            problems.append(
                f"DEST has {table.dest_rows - table.source_rows:,} row(s) in {table.table} "
                "that SOURCE does not have"
            )
        elif table.dest_rows < table.source_rows:
            problems.append(
                f"DEST lacks {table.source_rows - table.dest_rows:,} row(s) of {table.table} "
                "(deleted in DEST during the copy?)"
            )
    for check in report.sums:
        if not check.equal:
            problems.append(
                f"sum({check.name}) differs: SOURCE {check.source!r}, DEST {check.dest!r}"
            )
    return problems
