"""What `tac-bootstrap db` does, on top of the same runtime generated projects use.

Finds the project (--project, or the nearest tac_bootstrap.yml above the current directory),
resolves the database location exactly as the runtime does (TAC_ORCHESTRATOR_DB > config >
default) and translates runtime errors into the CLI's error types.

The database is a SQLite file or a PostgreSQL database (a postgresql:// URL). A URL may hold a
password, so it is only ever shown as `location.display`. psycopg is imported by the runtime
only for a PostgreSQL URL; this module never imports it, it only recognises its errors once it
is loaded.
"""

from __future__ import annotations

import os
import re
import sqlite3
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from tac_bootstrap.application.database_settings import DatabaseSettings, database_settings
from tac_bootstrap.application.project_lookup import find_project as find_project  # re-exported
from tac_bootstrap.domain.config_values import CONFIG_FILENAME
from tac_bootstrap.domain.errors import ConfigError, OperationError, UsageError
from tac_bootstrap.runtime.adw_db_connection import (
    ENV_VAR,
    DatabaseLocation,
    UnsupportedDatabase,
    resolve_location,
)
from tac_bootstrap.runtime.adw_db_dialect import first_line
from tac_bootstrap.runtime.adw_db_migrations import Migration, MigrationError, discover
from tac_bootstrap.runtime.adw_db_status import DatabaseStatus, absent
from tac_bootstrap.runtime.orch_database_types import (
    InvalidInput,
    NotFound,
    OrchestratorError,
    parse_timestamp,
)

if TYPE_CHECKING:
    from tac_bootstrap.domain.config import TacConfig
    from tac_bootstrap.runtime.adw_database import OrchestratorDB
    from tac_bootstrap.runtime.hook_spool import Spool

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class DatabaseTarget:
    project_root: Path
    location: DatabaseLocation
    busy_timeout_ms: int
    logs_dir: str = "logs"  # the project's hooks spool there what they could not write

    @property
    def path(self) -> Path | None:
        """The SQLite file; None for a PostgreSQL server."""
        return self.location.path

    @property
    def backend(self) -> str:
        return self.location.backend

    @property
    def display(self) -> str:
        """The file, or the URL with its password masked: safe to print."""
        return self.location.display

    @property
    def exists(self) -> bool:
        """A SQLite file exists; a PostgreSQL database lives on the server, so it is taken to
        exist and connecting tells (an unreachable or missing one is a one-line error)."""
        return not absent(self.location)


def locate(project: Path | None) -> DatabaseTarget:
    root = find_project(project if project is not None else Path.cwd())
    if project is not None and root != project.resolve():
        raise ConfigError(f"{project / CONFIG_FILENAME}: no config file found")
    # The config's three database values, remembered while its bytes stay the same: no
    # yaml or pydantic for a config already validated (application/database_settings.py).
    return target_for(root, database_settings(root))


def target_for(root: Path, config: TacConfig | DatabaseSettings) -> DatabaseTarget:
    """The database of the project at ``root`` whose config is already loaded (doctor)."""
    settings = config if isinstance(config, DatabaseSettings) else DatabaseSettings.of(config)
    with translated_errors():
        location = resolve_location(root, adws_dir=settings.adws_dir, configured=settings.database)
    return DatabaseTarget(root, location, settings.busy_timeout_ms, settings.logs_dir)


def _driver_errors() -> tuple[type[Exception], ...]:
    """SQLite's errors, and psycopg's once the runtime has loaded it (for a PostgreSQL URL):
    importing psycopg here would cost every SQLite command ~150 ms."""
    psycopg = sys.modules.get("psycopg")
    errors: tuple[type[Exception], ...] = (sqlite3.DatabaseError,)
    if psycopg is not None and isinstance(getattr(psycopg, "Error", None), type):
        errors += (psycopg.Error,)
    return errors


def _without_secrets(message: str, location: DatabaseLocation | None) -> str:
    postgres = sys.modules.get("tac_bootstrap.runtime.adw_db_postgres")
    if location is None or not location.is_postgres or postgres is None:
        return message  # the driver never loaded: nothing reached the server or quoted the URL
    return str(postgres.scrub(message, location.target))


@contextmanager
def translated_errors(location: DatabaseLocation | None = None) -> Iterator[None]:
    """Runtime, SQLite and PostgreSQL errors as one-line CLI errors with the right exit code.

    Unsupported URLs and a missing psycopg are configuration errors (exit 2); an unreachable
    server (DatabaseUnavailable) and every other database error fail the operation (exit 1).
    Given the location, messages are scrubbed of its password."""
    try:
        yield
    except UnsupportedDatabase as exc:
        hint = (
            ""
            if "psycopg" in str(exc)
            else f"set {ENV_VAR} or orchestrator.database to a file path, sqlite:///FILE, "
            "postgresql://USER@HOST:PORT/DBNAME or 'host=HOST user=USER dbname=DBNAME'"
        )
        raise ConfigError(_without_secrets(str(exc), location), hint=hint) from None
    except InvalidInput as exc:
        raise UsageError(str(exc)) from None
    except (NotFound, MigrationError) as exc:
        raise OperationError(_without_secrets(str(exc), location)) from None
    except OrchestratorError as exc:  # also DatabaseUnavailable: one line naming the server
        raise OperationError(_without_secrets(str(exc), location)) from None
    except _driver_errors() as exc:
        message = first_line(_without_secrets(str(exc), location)) or type(exc).__name__
        where = f" ({location.display})" if location is not None else ""
        raise OperationError(f"database error{where}: {message}") from None


def hook_spool(target: DatabaseTarget) -> Spool:
    """Where the project's hooks leave what they could not write to this database (replayed
    on every open). The target was resolved from the project's settings exactly as its hooks
    resolve theirs, so the spool is this database's: the runtime need not parse the config
    again to find it."""
    from tac_bootstrap.runtime.hook_spool import Spool

    return Spool.locate(target.project_root, target.logs_dir, os.environ)


@contextmanager
def opened(target: DatabaseTarget, *, migrate: bool) -> Iterator[OrchestratorDB]:
    """Open the database; read-only commands do not migrate an existing one behind its back."""
    # The runtime's operation tables load on the first open: a doctor or `db status` of a
    # database not created yet needs none of them.
    from tac_bootstrap.runtime.adw_database import OrchestratorDB

    with translated_errors(target.location):
        db = OrchestratorDB.at(
            target.location,
            target.busy_timeout_ms,
            apply_migrations=migrate,
            hook_spool=hook_spool(target),
        )
        try:
            yield db
        finally:
            db.close()


def initialised(db: OrchestratorDB) -> bool:
    """Whether any migration was applied (before that there are no tables to read)."""
    return db.schema_version() > 0


def _not_initialised(target: DatabaseTarget) -> OperationError:
    if target.location.is_postgres:
        return OperationError(
            f"no orchestrator tables in {target.display} yet",
            hint="they are created on first use; run `tac-bootstrap db init` to create them now",
        )
    return OperationError(
        f"no database at {target.path} yet",
        hint="it is created on first use; run `tac-bootstrap db init` to create it now",
    )


def require_existing(target: DatabaseTarget) -> None:
    """A SQLite file must exist; a PostgreSQL database must be reachable and initialised."""
    if not target.exists:
        raise _not_initialised(target)
    if target.location.is_postgres:
        with opened_existing(target):
            pass


@contextmanager
def opened_existing(target: DatabaseTarget) -> Iterator[OrchestratorDB]:
    """Open a database that must already hold the orchestrator's tables (never migrating)."""
    if not target.exists:
        raise _not_initialised(target)
    with opened(target, migrate=False) as db:
        if target.location.is_postgres and not initialised(db):
            raise _not_initialised(target)
        yield db


# -- status and migrations ------------------------------------------------------------------


def status(target: DatabaseTarget) -> DatabaseStatus:
    """The runtime's status; a SQLite file that does not exist yet is not created."""
    with translated_errors(target.location):
        if not target.exists:
            return DatabaseStatus.not_created(target.location)
        from tac_bootstrap.runtime.adw_database import status_of

        return status_of(target.location, target.busy_timeout_ms, hook_spool=hook_spool(target))


def pending(target: DatabaseTarget) -> list[Migration]:
    if not target.exists:
        with translated_errors(target.location):
            return discover(target.location.migrations_dir)
    with opened(target, migrate=False) as db:
        return db.pending_migrations()


# What `db migrate` and `doctor --fix` say instead of naming a backup file.
NO_BACKUP_ON_POSTGRES = (
    "no automatic backup on PostgreSQL; each migration is one transaction; "
    "run pg_dump first if you want one"
)


@dataclass(frozen=True)
class MigrationRun:
    applied: list[Migration]
    backup: Path | None  # SQLite: the copy taken before migrating an existing database
    version_before: int
    version_after: int


def migrate(target: DatabaseTarget) -> MigrationRun:
    """Apply pending migrations, backing an existing SQLite database up first.

    PostgreSQL has no file to copy: each migration runs in one transaction (all of it or
    nothing) and a backup, if wanted, is the user's pg_dump."""
    existed = target.exists
    with opened(target, migrate=False) as db:
        before = db.schema_version()
        if not db.pending_migrations():
            return MigrationRun([], None, before, before)
        backup_path = None
        if existed and target.path is not None:
            backup_path = _backup_before_migrating(db, target.path, before)
        applied = db.migrate()
        return MigrationRun(applied, backup_path, before, db.schema_version())


def _backup_before_migrating(db: OrchestratorDB, database: Path, version: int) -> Path:
    """A backup under a name no other run takes: microseconds, created exclusively, and a
    -2, -3 ... suffix if another process took the name first (a quick retry, doctor --fix)."""
    from tac_bootstrap.runtime.adw_database import BackupExists

    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
    stem = f"{database.stem}-v{version}-{stamp}"
    backups = database.parent / "backups"
    for attempt in range(1, 100):
        name = f"{stem}{f'-{attempt}' if attempt > 1 else ''}{database.suffix}"
        try:
            return db.backup(backups / name)
        except BackupExists:
            continue
    raise OperationError(f"no free backup name in {backups}; move old backups away")


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


# -- backup ------------------------------------------------------------------------------


def backup(target: DatabaseTarget, destination: Path, progress: Progress | None = None) -> int:
    """Online backup of a SQLite database to a new file; returns its size in bytes.

    On PostgreSQL there is no file to copy: the error says which pg_dump to run."""
    if not target.exists:  # PostgreSQL: the runtime says which pg_dump to run instead
        raise _not_initialised(target)
    if destination.exists():
        raise UsageError(f"{destination} already exists", hint="choose a new file name")
    from tac_bootstrap.runtime.adw_database import backup_location, database_size

    with translated_errors(target.location):
        backup_location(
            target.location,
            destination,
            busy_timeout_ms=target.busy_timeout_ms,
            progress=progress,
        )
    return database_size(destination)
