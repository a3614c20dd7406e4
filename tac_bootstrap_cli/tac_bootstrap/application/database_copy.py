"""`tac-bootstrap db copy`: move an orchestrator database between SQLite and PostgreSQL.

The copy never touches a row that is already in DEST: every batch is an
`INSERT ... ON CONFLICT (id) DO NOTHING` in its own DEST transaction, so an interrupted copy is
resumed by running it again, a finished one copies nothing the second time, and `updated_at`
is kept (no UPDATE ever fires the trigger). SOURCE is read in one snapshot, tables in foreign
key order and rows in insertion order, so DEST numbers its logs as SOURCE did.

Nothing is written before the preflight has passed: schema versions, orchestrator agent names
that DEST already uses for another id, active runs whose issue or port slot another active run
of DEST holds (one active run per issue), and (DEST on PostgreSQL) SQLite ids that a UUID
column would refuse. At the end row counts and token sums must be equal and the cost sums equal
within 1e-9 (SQLite adds REAL floats, PostgreSQL exact NUMERIC).

The values read from either backend look the same (ids text, timestamps `...Z`, JSON text,
costs float), so rows go into the other backend as they are.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from tac_bootstrap.application.database_copy_checks import (
    errors_from,
    require_migrated_source,
    require_no_active_run_clash,
    require_no_name_clash,
    require_no_surplus,
    require_same_schema,
    require_storable,
)
from tac_bootstrap.application.database_copy_report import CopyReport as CopyReport
from tac_bootstrap.application.database_copy_report import SumCheck as SumCheck
from tac_bootstrap.application.database_copy_report import TableCopy as TableCopy
from tac_bootstrap.application.database_copy_report import split_name, verify
from tac_bootstrap.application.database_service import find_project, translated_errors
from tac_bootstrap.domain.config import CONFIG_FILENAME
from tac_bootstrap.domain.errors import ConfigError, OperationError, UsageError
from tac_bootstrap.infrastructure.config_loader import load_config
from tac_bootstrap.runtime import adw_db_operations as ops
from tac_bootstrap.runtime.adw_database import OrchestratorDB, dialect_for
from tac_bootstrap.runtime.adw_db_connection import (
    DatabaseLocation,
    UnsupportedDatabase,
    location_from_setting,
    migrations_dir_for,
)
from tac_bootstrap.runtime.adw_db_transfer import AttachedSource, SourceWatch

Progress = Callable[[int, int], None]  # (rows done, rows in total)
DEFAULT_BATCH_SIZE = 10_000
SOURCE_HINT = (
    "SOURCE and DEST are file paths, sqlite:///FILE, postgresql:// URLs or libpq keyword/value "
    "strings ('host=HOST dbname=DBNAME')"
)


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
    if a.is_postgres != b.is_postgres:
        return False
    if a.is_postgres:
        return _conninfo_key(a.target) == _conninfo_key(b.target)
    first, second = Path(a.target), Path(b.target)
    if first == second:
        return True
    return first.exists() and second.exists() and os.path.samefile(first, second)


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
    identity = a.server_identity()
    return identity is not None and identity == b.server_identity()


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
        require_migrated_source(source)
        # The watch begins before the snapshot: it proves SOURCE unchanged until attached.
        with (
            _watch(source, copy_plan.dest) as watch,
            errors_from(source, "SOURCE"),
            source.snapshot(),
        ):
            report.tables = [TableCopy(t, n) for t, n in source.table_counts().items()]
            source_sums = source.column_sums()
            with _opened(copy_plan.dest, copy_plan.busy_timeout_ms, "DEST") as dest:
                if _same_server_database(source, dest):
                    raise UsageError(
                        f"SOURCE and DEST are the same database ({copy_plan.dest.display})",
                        hint="copy into another database",
                    )
                require_storable(source, dest, report.tables)
                with errors_from(dest, "DEST"):
                    report.dest_migrated = [m.filename for m in dest.migrate()]
                    report.schema_version = require_same_schema(source, dest)
                    require_no_name_clash(source, dest)
                    dest_before = dest.table_counts()
                    require_no_surplus(report.tables, dest_before)
                    if "runs" in dest_before:
                        require_no_active_run_clash(source, dest)
                _copy_tables(source, dest, report.tables, batch_size, progress, watch)
                with errors_from(dest, "DEST"):
                    dest_counts = dest.table_counts()
                    dest_sums = dest.column_sums()
    for table in report.tables:
        table.dest_rows = dest_counts[table.table]
    report.sums = [
        SumCheck(*split_name(name), value, dest_sums[name]) for name, value in source_sums.items()
    ]
    report.problems = verify(report)
    report.seconds = time.monotonic() - started
    return report


@contextmanager
def _watch(source: OrchestratorDB, dest: DatabaseLocation) -> Iterator[SourceWatch | None]:
    """A watch on SOURCE's file when both sides are files of an engine that can attach."""
    if not source.dialect.attach_copy or dialect_for(dest) is not source.dialect:
        yield None
        return
    assert source.path is not None  # an engine that attaches keeps its database in a file
    with errors_from(source, "SOURCE"):
        watch = SourceWatch(source.path)
    try:
        yield watch
    finally:
        watch.close()


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


class _Counter:
    """Rows done so far, told to the progress callback after every batch."""

    def __init__(self, total: int, progress: Progress | None) -> None:
        self.total, self.done, self.progress = total, 0, progress
        if progress:
            progress(0, total)

    def add(self, rows: int) -> None:
        self.done += rows
        if self.progress:
            self.progress(self.done, self.total)


def _copy_tables(
    source: OrchestratorDB,
    dest: OrchestratorDB,
    tables: Sequence[TableCopy],
    batch_size: int,
    progress: Progress | None,
    watch: SourceWatch | None = None,
) -> None:
    """Copy table by table, batch by batch; each committed batch survives a crash.

    Between two SQLite files (`watch` given) a batch is one INSERT ... SELECT from SOURCE
    attached to DEST's connection, as long as SOURCE is unchanged since its snapshot began;
    otherwise (and on PostgreSQL) rows are streamed from the snapshot through Python."""
    counter = _Counter(sum(t.source_rows for t in tables), progress)
    attached = None
    if watch is not None and source.path is not None:
        with errors_from(dest, "DEST"):
            attached = AttachedSource(dest, source.path, watch)
    try:
        for table in tables:
            done = _copy_attached(attached, dest, table, batch_size, counter) if attached else 0
            if done < table.source_rows:
                _copy_streamed(source, dest, table, done, batch_size, counter)
    finally:
        if attached is not None:
            with errors_from(dest, "DEST"):
                attached.close()


def _copy_attached(
    attached: AttachedSource,
    dest: OrchestratorDB,
    table: TableCopy,
    batch_size: int,
    counter: _Counter,
) -> int:
    """Set-based batches in SOURCE's rowid order; returns the SOURCE rows covered (fewer than
    the table's when SOURCE changed: the rest comes from the snapshot)."""
    after, done = 0, 0
    while done < table.source_rows:
        with errors_from(dest, "DEST"):
            batch = attached.copy_batch(table.table, after, batch_size)
        if batch is None or batch.rows == 0:
            break
        table.copied += batch.inserted
        table.already_there += batch.rows - batch.inserted
        after, done = batch.last_rowid, done + batch.rows
        counter.add(batch.rows)
    return done


def _copy_streamed(
    source: OrchestratorDB,
    dest: OrchestratorDB,
    table: TableCopy,
    skip: int,
    batch_size: int,
    counter: _Counter,
) -> None:
    """Stream SOURCE rows (after the first `skip`) into DEST through insert_missing."""
    for batch in _batches(source, table.table, batch_size, skip):
        with errors_from(dest, "DEST"):
            inserted = dest.insert_missing(table.table, batch)
        table.copied += inserted
        table.already_there += len(batch) - inserted
        counter.add(len(batch))


def _batches(
    source: OrchestratorDB, table: str, size: int, skip: int = 0
) -> Iterator[list[tuple[Any, ...]]]:
    columns = ops.COLUMNS[table]
    batch: list[tuple[Any, ...]] = []
    for row in itertools.islice(source.iter_rows(table), skip, None):
        batch.append(tuple(row[c] for c in columns))
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
