"""What `tac-bootstrap db` does, on top of the same runtime generated projects use.

Finds the project (--project, or the nearest tac_bootstrap.yml above the current directory),
resolves the database location exactly as the runtime does (TAC_ORCHESTRATOR_DB > config >
default) and translates runtime errors into the CLI's error types.
"""

from __future__ import annotations

import csv
import json
import os
import re
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from tac_bootstrap.domain.config import CONFIG_FILENAME
from tac_bootstrap.domain.errors import ConfigError, OperationError, UsageError
from tac_bootstrap.infrastructure.config_loader import load_config
from tac_bootstrap.runtime import adw_db_operations as ops
from tac_bootstrap.runtime.adw_database import (
    DatabaseStatus,
    OrchestratorDB,
    Row,
    backup_database,
    database_size,
)
from tac_bootstrap.runtime.adw_db_connection import (
    ENV_VAR,
    DatabaseLocation,
    UnsupportedDatabase,
    connect,
    resolve_location,
)
from tac_bootstrap.runtime.adw_db_migrations import Migration, MigrationError, discover
from tac_bootstrap.runtime.adw_db_migrations import pending as pending_migrations
from tac_bootstrap.runtime.orch_database_models import (
    InvalidInput,
    NotFound,
    OrchestratorError,
    parse_timestamp,
)

JSON_COLUMNS = {"capabilities", "config", "context", "details"}
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class DatabaseTarget:
    project_root: Path
    location: DatabaseLocation
    busy_timeout_ms: int

    @property
    def path(self) -> Path | None:
        """The SQLite file; None for a PostgreSQL server."""
        return self.location.path

    @property
    def exists(self) -> bool:
        """A SQLite file exists; a PostgreSQL database is assumed to (connecting will tell)."""
        return self.location.path.exists() if self.location.path is not None else True


def find_project(start: Path) -> Path:
    """The nearest directory at or above ``start`` that holds tac_bootstrap.yml."""
    start = start.resolve()
    for candidate in (start, *start.parents):
        if (candidate / CONFIG_FILENAME).is_file():
            return candidate
    raise ConfigError(
        f"no {CONFIG_FILENAME} found in {start} or its parents",
        hint="pass --project PATH, or create a project with `tac-bootstrap init`",
    )


def locate(project: Path | None) -> DatabaseTarget:
    root = find_project(project if project is not None else Path.cwd())
    if project is not None and root != project.resolve():
        raise ConfigError(f"{project / CONFIG_FILENAME}: no config file found")
    config = load_config(root / CONFIG_FILENAME)
    with translated_errors():
        location = resolve_location(
            root, adws_dir=config.paths.adws_dir, configured=config.orchestrator.database
        )
    return DatabaseTarget(root, location, config.orchestrator.busy_timeout_ms)


@contextmanager
def translated_errors() -> Iterator[None]:
    """Runtime and SQLite errors as one-line CLI errors with the right exit code."""
    try:
        yield
    except UnsupportedDatabase as exc:
        raise ConfigError(str(exc), hint=f"set {ENV_VAR} to a file path") from None
    except InvalidInput as exc:
        raise UsageError(str(exc)) from None
    except (NotFound, MigrationError) as exc:
        raise OperationError(str(exc)) from None
    except OrchestratorError as exc:
        raise OperationError(str(exc)) from None
    except sqlite3.DatabaseError as exc:
        raise OperationError(f"database error: {exc}") from None


@contextmanager
def opened(target: DatabaseTarget, *, migrate: bool) -> Iterator[OrchestratorDB]:
    """Open the database; read-only commands do not migrate an existing one behind its back."""
    with translated_errors():
        db = OrchestratorDB.open(
            target.path,
            migrations_dir=target.location.migrations_dir,
            busy_timeout_ms=target.busy_timeout_ms,
            apply_migrations=migrate,
        )
        try:
            yield db
        finally:
            db.close()


def require_existing(target: DatabaseTarget) -> None:
    if not target.exists:
        raise OperationError(
            f"no database at {target.path} yet",
            hint="it is created on first use; run `tac-bootstrap db init` to create it now",
        )


# -- status and migrations ------------------------------------------------------------------


def status(target: DatabaseTarget) -> DatabaseStatus:
    if not target.exists:
        with translated_errors():
            names = [m.filename for m in discover(target.location.migrations_dir)]
        return DatabaseStatus(target.path, False, 0, 0, names, {})
    with opened(target, migrate=False) as db:
        return db.status()


def pending(target: DatabaseTarget) -> list[Migration]:
    if not target.exists:
        with translated_errors():
            return discover(target.location.migrations_dir)
    with opened(target, migrate=False) as db, translated_errors():
        return pending_migrations(db.conn, target.location.migrations_dir)


def migrate(target: DatabaseTarget) -> tuple[list[Migration], Path | None]:
    """Apply pending migrations, backing an existing database up first."""
    todo = pending(target)
    if not todo:
        return [], None
    backup_path = None
    if target.exists and target.path is not None:
        with opened(target, migrate=False) as db:
            stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
            name = f"{target.path.stem}-v{db.schema_version()}-{stamp}{target.path.suffix}"
            backup_path = target.path.parent / "backups" / name
            with translated_errors():
                db.backup(backup_path)
    with opened(target, migrate=True):
        pass
    return todo, backup_path


# -- queries ------------------------------------------------------------------------------

_SINCE = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(value: str) -> datetime:
    """'30m', '2h', '7d', '1w' before now, or an ISO 8601 timestamp (UTC if no zone)."""
    match = _SINCE.match(value.strip())
    if match:
        amount, unit = float(match.group(1)), _UNITS[match.group(2)]
        return datetime.now(timezone.utc) - timedelta(**{unit: amount})
    try:
        text = value.strip()
        parsed = parse_timestamp(text if re.search(r"(Z|[+-]\d\d:?\d\d)$", text) else text + "Z")
    except ValueError:
        raise UsageError(
            f"--since {value!r} is neither a duration nor a timestamp",
            hint="use e.g. 30m, 2h, 7d or 2026-11-26T10:00:00Z",
        ) from None
    assert isinstance(parsed, datetime)
    return parsed


# -- export and backup --------------------------------------------------------------------


def export(
    db: OrchestratorDB, destination: Path, fmt: str, progress: Progress | None = None
) -> dict[str, int]:
    """Write every table to JSON (one file) or CSV (one file per table in a directory)."""
    counts = db.table_counts()
    total = sum(counts.values())
    done = 0

    def rows(table: str) -> Iterator[Row]:
        nonlocal done
        for row in db.iter_rows(table):
            done += 1
            if progress and done % 1000 == 0:
                progress(done, total)
            yield row

    if fmt == "json":
        if destination.exists():
            raise UsageError(f"{destination} already exists", hint="choose a new file name")
        _write_json_export(db, destination, rows)
    elif fmt == "csv":
        if destination.exists() and any(destination.iterdir()):
            raise UsageError(
                f"{destination} exists and is not empty", hint="choose a new directory"
            )
        destination.mkdir(parents=True, exist_ok=True)
        for table in ops.TABLES:
            _write_csv(destination / f"{table}.csv", db, table, rows)
    else:
        raise UsageError(f"--format {fmt!r} is not supported", hint="use json or csv")
    if progress:
        progress(total, total)
    return counts


def _atomic_text(destination: Path) -> tuple[Any, str]:
    destination.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{destination.name}.", dir=destination.parent)
    return os.fdopen(fd, "w", encoding="utf-8", newline=""), tmp


def _write_json_export(
    db: OrchestratorDB, destination: Path, rows: Callable[[str], Iterator[Row]]
) -> None:
    handle, tmp = _atomic_text(destination)
    try:
        with handle:
            handle.write(f'{{"schema_version": {db.schema_version()}, "tables": {{')
            for t_index, table in enumerate(ops.TABLES):
                handle.write(("," if t_index else "") + f"\n{json.dumps(table)}: [")
                for r_index, row in enumerate(rows(table)):
                    record = {
                        key: json.loads(row[key])
                        if key in JSON_COLUMNS and row[key] is not None
                        else row[key]
                        for key in row.keys()  # noqa: SIM118 - iterating a Row yields values
                    }
                    handle.write(("," if r_index else "") + "\n" + json.dumps(record))
                handle.write("\n]")
            handle.write("\n}}\n")
        os.replace(tmp, destination)
    except BaseException:
        os.unlink(tmp)
        raise


def _write_csv(
    destination: Path,
    db: OrchestratorDB,
    table: str,
    rows: Callable[[str], Iterator[Row]],
) -> None:
    columns = ops.COLUMNS[table]
    handle, tmp = _atomic_text(destination)
    try:
        with handle:
            writer = csv.writer(handle)
            writer.writerow(columns)
            for row in rows(table):
                writer.writerow([row[c] for c in columns])
        os.replace(tmp, destination)
    except BaseException:
        os.unlink(tmp)
        raise


def backup(target: DatabaseTarget, destination: Path, progress: Progress | None = None) -> int:
    """Online backup to a new file; returns its size in bytes."""
    require_existing(target)
    if destination.exists():
        raise UsageError(f"{destination} already exists", hint="choose a new file name")
    if target.path is None:
        with opened(target, migrate=False) as db, translated_errors():
            db.backup(destination)  # explains pg_dump
    assert target.path is not None
    with translated_errors():
        conn = connect(target.path, target.busy_timeout_ms)
        try:
            backup_database(conn, destination, progress=progress)
        finally:
            conn.close()
    return database_size(destination)
