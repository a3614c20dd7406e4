"""OrchestratorDB: the one entry point to the orchestrator database (sync and async).

    from adw_modules.adw_database import OrchestratorDB

    with OrchestratorDB.open() as db:          # zero-config: adws/schema/orchestrator.db
        planner = db.register_orchestrator_agent("planner", "planner")
        agent = db.start_agent(planner.id, session_id="s-1", adw_id="a1b2c3d4")
        prompt = db.start_prompt(agent.id, "/plan issue 42", model="sonnet")
        db.complete_prompt(prompt.id, input_tokens=1200, output_tokens=300, cost_usd=0.021)
        db.set_agent_status(agent.id, "completed")

Opening applies pending migrations. Every write is one transaction (BEGIN IMMEDIATE on
SQLite), so concurrent writers from many processes queue on the busy timeout instead of
failing; invalid input raises InvalidInput (or NotFound) before anything is written. The
operations themselves live in adw_db_operations.py and are shared with AsyncOrchestratorDB.

The database is a SQLite file or, given a postgresql:// URL (argument, TAC_ORCHESTRATOR_DB or
the config file), a PostgreSQL database through psycopg 3 (adw_db_postgres.py); the API and
the values it returns are the same on both. On PostgreSQL a write that loses a deadlock or a
serialization check is run again from the start, up to WRITE_RETRIES times.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from . import adw_db_operations as ops
from .adw_db_backup import BackupExists as BackupExists  # re-exported
from .adw_db_backup import backup_database as backup_database
from .adw_db_backup import database_size as database_size
from .adw_db_connection import DEFAULT_BUSY_TIMEOUT_MS, DatabaseLocation
from .adw_db_driver import (
    ROLLBACK,
    WRITE_RETRIES,
    Action,
    execute_step,
    locked_plan,
    read_plan,
    run_plan,
    write_plan,
)
from .adw_db_hook_events import replay_hook_events
from .adw_db_methods import (
    DatabaseMethods,
    DatabaseStatus,
    Progress,
    Row,
    cursor_name,
    open_connection,
    pending_in,
    resolve,
    schema_version_of,
    select_all,
)
from .adw_db_methods import dialect_for as dialect_for
from .adw_db_migrations import Migration, history, migrate
from .adw_db_status import absent
from .adw_project import current_project

if TYPE_CHECKING:
    from . import transcripts
    from .adw_db_async import AsyncOrchestratorDB as AsyncOrchestratorDB  # re-exported
    from .hook_spool import Spool

__all__ = [
    "SYNC_ONLY",
    "WRITE_RETRIES",
    "AsyncOrchestratorDB",
    "BackupExists",
    "DatabaseStatus",
    "OrchestratorDB",
    "Progress",
    "Row",
    "backup_location",
    "status_of",
]


def __getattr__(name: str) -> Any:
    """`AsyncOrchestratorDB` loaded on first use: sync callers (the CLI, hooks) never pay for
    the async class and what only it imports."""
    if name == "AsyncOrchestratorDB":
        from .adw_db_async import AsyncOrchestratorDB

        globals()[name] = AsyncOrchestratorDB
        return AsyncOrchestratorDB
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


T = TypeVar("T")

# Public methods of OrchestratorDB that AsyncOrchestratorDB does not have, and why
# (tests/test_db_api_parity.py: every other public method has an async twin).
SYNC_ONLY = {
    "at": "async code opens with AsyncOrchestratorDB.open(); it prepares the database with "
    "the sync class in a thread",
    "migrate": "migrations run with the sync driver (AsyncOrchestratorDB.open applies them "
    "in a thread before connecting)",
    "replay_hook_events": "runs on every open (the async open prepares with the sync class, "
    "which replays)",
    "import_transcripts": "reads files and writes in batches through the sync runner of "
    "transcripts.py; call it from a thread",
}


class OrchestratorDB(DatabaseMethods):
    """Synchronous API over the standard library's sqlite3, or psycopg 3 for PostgreSQL."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # One connection, one transaction at a time, also when threads share this object.
        self._lock = threading.Lock()

    @classmethod
    def open(
        cls,
        database: str | os.PathLike[str] | None = None,
        *,
        migrations_dir: str | os.PathLike[str] | None = None,
        busy_timeout_ms: int | None = None,
        apply_migrations: bool = True,
    ) -> OrchestratorDB:
        """Open (creating a SQLite file on first use) and migrate.

        `database` is a file path, sqlite:/// URL or postgresql:// URL; without it the
        project's setting (TAC_ORCHESTRATOR_DB > config > default) is used."""
        location, timeout = resolve(database, migrations_dir, busy_timeout_ms)
        return cls.at(location, timeout, apply_migrations=apply_migrations)

    @classmethod
    def at(
        cls,
        location: DatabaseLocation,
        busy_timeout_ms: int | None = None,
        *,
        apply_migrations: bool = True,
        hook_spool: Spool | None = None,
    ) -> OrchestratorDB:
        """Open a resolved location (see adw_db_connection.resolve_location).

        `hook_spool`: the Spool of the project whose hooks write to this
        database, when the caller already knows it; without it the open finds the project
        from the migrations directory and reads its config to locate the spool."""
        timeout = DEFAULT_BUSY_TIMEOUT_MS if busy_timeout_ms is None else busy_timeout_ms
        conn, dialect = open_connection(location, timeout)
        try:
            if apply_migrations:
                migrate(conn, location.migrations_dir, dialect)
        except BaseException:
            conn.close()
            raise
        db = cls(conn, location, dialect, timeout)
        with suppress(Exception):  # best effort: whatever fails here waits for the next open
            db.replay_hook_events(hook_spool)
        return db

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> OrchestratorDB:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- the driver: how this class performs the shared plans (adw_db_driver) -------------

    def _perform(self, action: Action) -> Any:
        kind, argument = action
        if kind == "step":
            return execute_step(self.conn, argument, self.dialect)
        if kind == "sql":
            return self.conn.execute(argument)
        if kind == "rollback":
            return self.dialect.rollback_quietly(self.conn)
        if kind == "lock":
            return self._lock.acquire()
        return self._lock.release()

    def _read(self, op: ops.Op[T]) -> T:
        return run_plan(read_plan(op, self.dialect), self._perform)

    def _write(self, op: ops.Op[T], again: Callable[[], ops.Op[T]] | None = None) -> T:
        """Run a write in one transaction; `again` builds a fresh operation for a retry."""
        plan = write_plan(op, again, self.dialect, lambda: self.in_transaction)
        return run_plan(plan, self._perform)

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Reads inside see one consistent state of the database (copy, export)."""
        run_plan(locked_plan(None, ("sql", self.dialect.snapshot_begin)), self._perform)
        try:
            yield
        finally:
            self._perform(ROLLBACK)

    # -- hook events and transcripts ----------------------------------------------------

    def replay_hook_events(self, spool: Any = None, *, wait_seconds: float | None = None) -> int:
        """Record what the project's hooks could not write yet: the fallback file's rows of
        this database and, when this is the hooks' own database, spool files no recorder is
        working on (after waiting up to `wait_seconds` for live ones). Runs on every open;
        idempotent. Returns the rows inserted. `spool`: a hook_recorder.Spool (default: the
        project's, from TAC_HOOK_FALLBACK_LOG or its logs dir)."""
        return replay_hook_events(self, spool, wait_seconds)

    def import_transcripts(
        self,
        paths: Iterable[str | os.PathLike[str]] = (),
        *,
        since_days: float | None = None,
        dry_run: bool = False,
        progress: Progress | None = None,
    ) -> transcripts.Report:
        """Record the usage of Claude Code sessions from their transcripts (session_usage):
        the given files and folders, or every session of the project this database belongs
        to (~/.claude/projects/<project>/). Idempotent; see transcripts.py."""
        from . import transcripts
        from .adw_project import CONFIG_FILENAME

        parents = self.location.migrations_dir.parents
        root = next((p for p in parents if (p / CONFIG_FILENAME).is_file()), None)
        return transcripts.import_transcripts(
            self,
            paths,
            project_root=root or current_project().root,
            since_days=since_days,
            dry_run=dry_run,
            progress=progress,
        )

    # -- schema, retention and maintenance ------------------------------------------------

    def migrate(self) -> list[Migration]:
        """Apply the pending migrations (each in its own transaction); returns those applied."""
        return migrate(self.conn, self.migrations_dir, self.dialect)

    def prune(self, older_than_days: float, *, dry_run: bool = False) -> dict[str, int]:
        op = ops.prune(older_than_days, dry_run=dry_run)
        if dry_run:
            return self._read(op)
        return self._write(op, lambda: ops.prune(older_than_days, dry_run=dry_run))

    def schema_version(self) -> int:
        return schema_version_of(self._read(history()))

    def pending_migrations(self) -> list[Migration]:
        return self._read(pending_in(self.migrations_dir))

    def size_bytes(self) -> int:
        from .adw_db_methods import size_in_bytes

        return self._read(size_in_bytes(self.location, self.dialect))

    def status(self) -> DatabaseStatus:
        """Backend, location, size, schema version, pending migrations and row counts."""
        return self._read(self._status())

    def server_identity(self) -> dict[str, Any] | None:
        """What tells two connections to one server database apart; None for a file."""
        from .adw_db_transfer import server_identity

        return self._read(server_identity(self.dialect.identity_sql))

    def iter_rows(self, table: str) -> Iterator[Row]:
        """Stream one table's rows in insertion order (export, copy) without loading them all."""
        sql = select_all(table, self.dialect)
        if not self.dialect.server_cursors:
            yield from self.conn.execute(sql)
            return
        # A server-side cursor. Inside snapshot() it joins that transaction; otherwise it is
        # declared WITH HOLD in autocommit (the server keeps the rows of that one statement),
        # so no read transaction stays open and the caller may write between rows, as on
        # SQLite (a read-only transaction held here made such writes fail).
        hold = not self.in_transaction
        with self.conn.cursor(name=cursor_name(table), withhold=hold) as cursor:
            cursor.itersize = 2000
            cursor.execute(sql)
            yield from cursor

    def backup(
        self, destination: str | os.PathLike[str], *, progress: Progress | None = None
    ) -> Path:
        """Online backup (readers and writers may continue) into a new file, written atomically
        (BackupExists when the name is taken). PostgreSQL: an error saying which pg_dump to run."""
        return self.dialect.backup(
            self.location.target, Path(destination), self.busy_timeout_ms, progress
        )

    def vacuum(self) -> None:
        plan = locked_plan(lambda: self.in_transaction, ("sql", "VACUUM"))
        run_plan(plan, self._perform)


def status_of(
    location: DatabaseLocation, busy_timeout_ms: int, *, hook_spool: Spool | None = None
) -> DatabaseStatus:
    """The status of a database that may not exist yet (a SQLite file is then not created).
    `hook_spool` as for OrchestratorDB.at."""
    if absent(location):
        return DatabaseStatus.not_created(location)
    opened = OrchestratorDB.at(
        location, busy_timeout_ms, apply_migrations=False, hook_spool=hook_spool
    )
    with opened as db:
        return db.status()


def backup_location(
    location: DatabaseLocation,
    destination: Path,
    *,
    busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
    progress: Progress | None = None,
) -> Path:
    """Back a database up without opening it as an OrchestratorDB (no migration check, no
    hook replay): a SQLite file through a connection of its own; PostgreSQL: pg_dump advice."""
    return dialect_for(location).backup(location.target, destination, busy_timeout_ms, progress)
