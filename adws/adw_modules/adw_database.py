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

import inspect
import itertools
import os
import sqlite3
import threading
from collections.abc import Callable, Coroutine, Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

from . import adw_db_operations as ops
from .adw_db_connection import (
    DEFAULT_BUSY_TIMEOUT_MS,
    DatabaseLocation,
    connect,
    connection_pragmas,
    default_location,
    location_from_setting,
    migrations_dir_for,
)
from .adw_db_dialect import SQLITE, Dialect, IntegrityViolation
from .adw_db_migrations import Migration, current_version, migrate, pending
from .adw_db_private import private_dir, private_temp, publish, remove_orphans
from .adw_project import current_project
from .orch_database_models import InvalidInput, OrchestratorError

if TYPE_CHECKING:
    from . import transcripts
    from .orch_database_models import Agent

T = TypeVar("T")
P = ParamSpec("P")
Progress = Callable[[int, int], None]  # (done, total)
Row = Mapping[str, Any]
WRITE_RETRIES = 3
LOG_TABLES = ("agent_logs", "system_logs")


@dataclass(frozen=True)
class DatabaseStatus:
    path: Path | None  # None on PostgreSQL
    exists: bool
    size_bytes: int
    schema_version: int
    pending: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    location: str = ""  # path, or the URL with its password masked
    backend: str = "sqlite"
    server_version: str = ""


def _resolve(
    database: str | os.PathLike[str] | None,
    migrations_dir: str | os.PathLike[str] | None,
    busy_timeout_ms: int | None,
) -> tuple[DatabaseLocation, int]:
    """The location to open: an explicit path or URL wins over the project's settings, and
    the migrations default to the project's directory for that backend."""
    timeout = DEFAULT_BUSY_TIMEOUT_MS
    if database is None:
        location, timeout = default_location(need_timeout=busy_timeout_ms is None)
    else:
        location = location_from_setting(os.fspath(database), Path.cwd(), "adws", "argument")
        if migrations_dir is None:
            project = current_project()
            migrations_dir = migrations_dir_for(project.root, project.adws_dir, location.backend)
            if busy_timeout_ms is None:  # the project's configured timeout, as before
                timeout = default_location(need_timeout=True)[1]
    if migrations_dir is not None:
        location = replace(location, migrations_dir=Path(migrations_dir))
    return location, busy_timeout_ms if busy_timeout_ms is not None else timeout


def _execute(conn: Any, step: ops.Step, dialect: Dialect = SQLITE) -> Any:
    mode, sql, params = step
    sql = dialect.translate(sql)
    if mode == "many":
        many = conn.cursor()
        many.executemany(sql, params)
        return many.rowcount
    cursor = conn.execute(sql, params)
    if mode == "exec":
        return cursor.rowcount
    if mode == "one":
        return cursor.fetchone()
    return cursor.fetchall()


def first_step(op: ops.Op[T]) -> tuple[ops.Step | None, T | None]:
    """Run an operation up to its first SQL step: validation, ids and JSON need no lock."""
    try:
        return op.send(None), None
    except StopIteration as stop:
        return None, stop.value


def resume(
    op: ops.Op[T],
    value: Any,
    error: BaseException | None,
    cause: BaseException | None,
    dialect: Dialect = SQLITE,
) -> ops.Step:
    """Send a step's result into an operation, or throw its error in; return the next step.

    An integrity error goes in as IntegrityViolation; if the operation does not catch it,
    the engine's original exception (`cause`) is raised instead."""
    if error is None:
        return op.send(value)
    try:
        step = op.throw(error)
    except IntegrityViolation as violation:
        if violation is error and cause is not None:
            raise cause from None
        raise
    if dialect.aborts_on_error:
        op.close()
        raise OrchestratorError(
            f"an operation went on after a database error ({error}), but {dialect.name} "
            "refuses every statement of a transaction after an error"
        )
    return step


def engine_error(
    exc: BaseException, dialect: Dialect
) -> tuple[BaseException, BaseException | None]:
    """(what to throw into the operation, the engine error behind it) for a failed step:
    refused input as InvalidInput, integrity errors as IntegrityViolation, others as they are."""
    reason = dialect.refused_input(exc)
    if reason is not None:
        return InvalidInput(reason), None
    return dialect.classify(exc) or exc, exc


def drive(
    op: ops.Op[T],
    execute: Callable[[ops.Step], Any],
    first: ops.Step | None,
    dialect: Dialect = SQLITE,
) -> T:
    """Run an operation's steps, sending results in and throwing database errors back."""
    value: Any = None
    error: BaseException | None = None
    cause: BaseException | None = None
    step = first
    while True:
        if step is None:
            try:
                step = resume(op, value, error, cause, dialect)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
        error = cause = None
        try:
            value = execute(step)
        except dialect.errors as exc:
            value = None
            error, cause = engine_error(exc, dialect)
        step = None


M = TypeVar("M", bound=Callable[..., Any])


def _named_like(method: M, operation: Callable[..., Any]) -> M:
    """Give a generated method the operation's name, docstring and signature (plus self), so
    help() and IDEs show the real parameters. (Not __wrapped__: inspect would then drop the
    operation's first parameter on bound methods.)"""
    method.__name__ = operation.__name__
    method.__qualname__ = operation.__qualname__
    method.__doc__ = operation.__doc__
    signature = inspect.signature(operation)
    self_param = inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY)
    method.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[self_param, *signature.parameters.values()]
    )
    return method


def _reads(operation: Callable[P, ops.Op[T]]) -> Callable[Concatenate[OrchestratorDB, P], T]:
    """Expose an operation as a method that runs it without a write transaction."""

    def method(self: OrchestratorDB, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return self._read(operation(*args, **kwargs))

    return _named_like(method, operation)


def _replayable(
    args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """Arguments a retried write can use again: a one-shot iterator (a generator of log
    entries) becomes a list, or the retry would see it empty and commit nothing."""

    def keep(value: Any) -> Any:
        return list(value) if isinstance(value, Iterator) else value

    return tuple(keep(a) for a in args), {k: keep(v) for k, v in kwargs.items()}


def _writes(operation: Callable[P, ops.Op[T]]) -> Callable[Concatenate[OrchestratorDB, P], T]:
    """Expose an operation as a method that runs it in one BEGIN IMMEDIATE transaction."""

    def method(self: OrchestratorDB, /, *args: P.args, **kwargs: P.kwargs) -> T:
        args, kwargs = _replayable(args, kwargs)  # type: ignore[assignment]
        return self._write(operation(*args, **kwargs), lambda: operation(*args, **kwargs))

    return _named_like(method, operation)


def _reads_async(
    operation: Callable[P, ops.Op[T]],
) -> Callable[Concatenate[AsyncOrchestratorDB, P], Coroutine[Any, Any, T]]:
    async def method(self: AsyncOrchestratorDB, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return await self._read(operation(*args, **kwargs))

    return _named_like(method, operation)


def _writes_async(
    operation: Callable[P, ops.Op[T]],
) -> Callable[Concatenate[AsyncOrchestratorDB, P], Coroutine[Any, Any, T]]:
    async def method(self: AsyncOrchestratorDB, /, *args: P.args, **kwargs: P.kwargs) -> T:
        args, kwargs = _replayable(args, kwargs)  # type: ignore[assignment]
        return await self._write(operation(*args, **kwargs), lambda: operation(*args, **kwargs))

    return _named_like(method, operation)


def _open_connection(location: DatabaseLocation, busy_timeout_ms: int) -> tuple[Any, Dialect]:
    if location.url is None:
        assert location.path is not None
        return connect(location.path, busy_timeout_ms), SQLITE
    from . import adw_db_postgres as pg

    conn = pg.connect(location.url, busy_timeout_ms, origin=location.origin)
    return conn, pg.POSTGRES


def _in_transaction(conn: Any, dialect: Dialect) -> bool:
    if dialect is SQLITE:
        return bool(conn.in_transaction)
    from psycopg.pq import TransactionStatus

    return bool(conn.info.transaction_status != TransactionStatus.IDLE)


def _select_all(table: str, dialect: Dialect) -> str:
    """One table's rows in insertion order (SQLite rowid, PostgreSQL log seq or UUIDv7 id)."""
    if table not in ops.TABLES:
        raise OrchestratorError(f"unknown table {table!r}; tables: {', '.join(ops.TABLES)}")
    order = "rowid" if dialect is SQLITE else "seq" if table in LOG_TABLES else "id"
    return f"SELECT {', '.join(ops.COLUMNS[table])} FROM {table} ORDER BY {order}"


_CURSOR_NUMBERS = itertools.count(1)


def _may_retry(
    exc: BaseException, again: Callable[[], Any] | None, attempt: int, dialect: Dialect
) -> bool:
    """A failed write runs again when it can be rebuilt, has retries left, and lost only a
    deadlock or serialization check."""
    return again is not None and attempt < WRITE_RETRIES and dialect.retryable(exc)


def _refuse_nested_write(db: _Connected) -> None:
    """A write inside snapshot() would end the snapshot (PostgreSQL ignores the nested BEGIN,
    and the rollback after a failure takes the snapshot's transaction with it)."""
    if db.in_transaction:
        raise OrchestratorError(
            "a write or VACUUM cannot run inside snapshot() (a read-only, consistent view); "
            "run it after the with-block"
        )


class _Connected:
    """What the sync and async APIs share about their one connection."""

    conn: Any
    dialect: Dialect

    @property
    def backend(self) -> str:
        return self.dialect.name

    @property
    def in_transaction(self) -> bool:
        return _in_transaction(self.conn, self.dialect)


class OrchestratorDB(_Connected):
    """Synchronous API over the standard library's sqlite3, or psycopg 3 for PostgreSQL."""

    def __init__(self, conn: Any, location: DatabaseLocation, dialect: Dialect = SQLITE) -> None:
        self.conn = conn
        self.location = location
        self.dialect = dialect
        self.path = location.path  # None on PostgreSQL
        self.migrations_dir = location.migrations_dir
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
        location, timeout = _resolve(database, migrations_dir, busy_timeout_ms)
        return cls.at(location, timeout, apply_migrations=apply_migrations)

    @classmethod
    def at(
        cls,
        location: DatabaseLocation,
        busy_timeout_ms: int | None = None,
        *,
        apply_migrations: bool = True,
    ) -> OrchestratorDB:
        timeout = DEFAULT_BUSY_TIMEOUT_MS if busy_timeout_ms is None else busy_timeout_ms
        conn, dialect = _open_connection(location, timeout)
        try:
            if apply_migrations:
                migrate(conn, location.migrations_dir, dialect)
        except BaseException:
            conn.close()
            raise
        db = cls(conn, location, dialect)
        with suppress(Exception):  # best effort: whatever fails here waits for the next open
            db.replay_hook_events()
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

    # -- transactions -------------------------------------------------------------------

    def _read(self, op: ops.Op[T]) -> T:
        first, done = first_step(op)
        if first is None:
            return done  # type: ignore[return-value]
        with self._lock:
            return drive(op, self._execute, first, self.dialect)

    def _write(self, op: ops.Op[T], again: Callable[[], ops.Op[T]] | None = None) -> T:
        """Run a write in one transaction; `again` builds a fresh operation for a retry."""
        attempt = 0
        while True:
            first, done = first_step(op)
            if first is None:
                return done  # type: ignore[return-value]
            with self._lock:
                _refuse_nested_write(self)
                self.conn.execute(self.dialect.begin_write)
                try:
                    result = drive(op, self._execute, first, self.dialect)
                    self.conn.execute("COMMIT")
                    return result
                except BaseException as exc:
                    self.dialect.rollback_quietly(self.conn)
                    if not _may_retry(exc, again, attempt, self.dialect):
                        raise
            attempt += 1
            op = again()  # type: ignore[misc]

    def _execute(self, step: ops.Step) -> Any:
        return _execute(self.conn, step, self.dialect)

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Reads inside see one consistent state of the database (copy, export)."""
        begin = (
            "BEGIN"
            if self.dialect is SQLITE
            else ("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        )
        with self._lock:
            self.conn.execute(begin)
        try:
            yield
        finally:
            self.dialect.rollback_quietly(self.conn)

    # -- operations (signatures and docs come from adw_db_operations) -------------------

    register_orchestrator_agent = _writes(ops.register_orchestrator_agent)
    get_orchestrator_agent = _reads(ops.get_orchestrator_agent)
    list_orchestrator_agents = _reads(ops.list_orchestrator_agents)
    start_agent = _writes(ops.start_agent)
    get_agent = _reads(ops.get_agent)
    list_agents = _reads(ops.list_agents)
    set_agent_status = _writes(ops.set_agent_status)
    add_agent_usage = _writes(ops.add_agent_usage)
    set_agent_model = _writes(ops.set_agent_model)
    start_prompt = _writes(ops.start_prompt)
    complete_prompt = _writes(ops.complete_prompt)
    fail_prompt = _writes(ops.fail_prompt)
    get_prompt = _reads(ops.get_prompt)
    prompt_model_usage = _reads(ops.prompt_model_usage)
    list_prompts = _reads(ops.list_prompts)
    log_agent = _writes(ops.log_agent)
    log_agent_batch = _writes(ops.log_agent_batch)
    log_system = _writes(ops.log_system)
    log_system_batch = _writes(ops.log_system_batch)
    recent_logs = _reads(ops.recent_logs)
    rollup = _reads(ops.rollup)
    table_counts = _reads(ops.table_counts)
    run_budgets = _reads(ops.run_budgets)

    # -- hook events (hook_recorder.py) -------------------------------------------------

    def interactive_agent(self, session_id: str, *, working_dir: str | None = None) -> Agent:
        """The agent of Claude Code session `session_id` outside a workflow, created when
        missing (orchestrator agent `claude_code`); its id is interactive_agent_id(S)."""
        return self._write(_interactive_agent(session_id, working_dir))

    def replay_hook_events(self, spool: Any = None, *, wait_seconds: float | None = None) -> int:
        """Record what the project's hooks could not write yet: the fallback file's rows of
        this database and, when this is the hooks' own database, spool files no recorder is
        working on (after waiting up to `wait_seconds` for live ones). Runs on every open;
        idempotent. Returns the rows inserted. `spool`: a hook_recorder.Spool (default: the
        project's, from TAC_HOOK_FALLBACK_LOG or its logs dir)."""
        return _replay_hook_events(self, spool, wait_seconds)

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

    # -- retention and maintenance ------------------------------------------------------

    def prune(self, older_than_days: float, *, dry_run: bool = False) -> dict[str, int]:
        op = ops.prune(older_than_days, dry_run=dry_run)
        if dry_run:
            return self._read(op)
        return self._write(op, lambda: ops.prune(older_than_days, dry_run=dry_run))

    def schema_version(self) -> int:
        return current_version(self.conn, self.dialect)

    def pending_migrations(self) -> list[Migration]:
        return pending(self.conn, self.migrations_dir, self.dialect)

    def size_bytes(self) -> int:
        if self.path is not None:
            return database_size(self.path)
        from . import adw_db_postgres as pg

        return pg.database_size(self.conn, (*ops.TABLES, "schema_migrations"))

    def status(self) -> DatabaseStatus:
        version = ""
        if self.dialect is not SQLITE:
            from . import adw_db_postgres as pg

            version = pg.server_version(self.conn)
        return DatabaseStatus(
            path=self.path,
            exists=True,
            size_bytes=self.size_bytes(),
            schema_version=self.schema_version(),
            pending=[m.filename for m in self.pending_migrations()],
            counts=self.table_counts(),
            location=self.location.display,
            backend=self.backend,
            server_version=version,
        )

    def iter_rows(self, table: str) -> Iterator[Row]:
        """Stream one table's rows in insertion order (export, copy) without loading them all."""
        sql = _select_all(table, self.dialect)
        if self.dialect is SQLITE:
            yield from self.conn.execute(sql)
            return
        # A server-side cursor. Inside snapshot() it joins that transaction; otherwise it is
        # declared WITH HOLD in autocommit (the server keeps the rows of that one statement),
        # so no read transaction stays open and the caller may write between rows, as on
        # SQLite (a read-only transaction held here made such writes fail).
        hold = not self.in_transaction
        name = f"tac_rows_{table}_{next(_CURSOR_NUMBERS)}"  # unique: loops may nest
        with self.conn.cursor(name=name, withhold=hold) as cursor:
            cursor.itersize = 2000
            cursor.execute(sql)
            yield from cursor

    def backup(
        self, destination: str | os.PathLike[str], *, progress: Progress | None = None
    ) -> Path:
        """Online backup (readers and writers may continue) into a new file, written atomically."""
        if self.location.url is not None:
            from . import adw_db_postgres as pg

            raise OrchestratorError(pg.pg_dump_advice(self.location.url))
        return backup_database(self.conn, Path(destination), progress=progress)

    def vacuum(self) -> None:
        _refuse_nested_write(self)
        self.conn.execute("VACUUM")


def database_size(path: Path) -> int:
    """Bytes on disk, including the WAL file a live database keeps beside it."""
    total = 0
    for candidate in (path, path.with_name(path.name + "-wal")):
        if candidate.exists():
            total += candidate.stat().st_size
    return total


class BackupExists(OrchestratorError):
    """The backup's file name is taken."""


def backup_database(
    source: sqlite3.Connection, destination: Path, *, progress: Progress | None = None
) -> Path:
    """Copy into an owner-only temp file named with this pid, then link it to `destination`,
    which must not exist (BackupExists, also when another process took the name meanwhile).
    Temp files of killed backups in the destination's directory are removed first."""
    private_dir(destination.parent)
    remove_orphans(destination.parent)
    exists = BackupExists(f"{destination} already exists; choose a new file name")
    if destination.exists() or destination.is_symlink():
        raise exists
    tmp = private_temp(destination.parent, destination.name)
    try:
        target = sqlite3.connect(tmp)
        try:
            source.backup(
                target,
                pages=256,
                progress=(lambda _s, left, total: progress(total - left, total))
                if progress
                else None,
            )
        finally:
            target.close()
        try:
            publish(tmp, destination)
        except FileExistsError:
            raise exists from None
    finally:
        with suppress(FileNotFoundError):
            os.unlink(tmp)
    return destination


class AsyncOrchestratorDB(_Connected):
    """The same operations over aiosqlite (the `async` extra) or psycopg 3's async API."""

    def __init__(self, conn: Any, location: DatabaseLocation, dialect: Dialect = SQLITE) -> None:
        import asyncio

        self.conn = conn
        self.location = location
        self.dialect = dialect
        self.path = location.path
        self.migrations_dir = location.migrations_dir
        # One connection runs one transaction at a time: coroutines sharing this object (e.g.
        # asyncio.gather of writes) queue here instead of nesting transactions or reading
        # another coroutine's uncommitted rows.
        self._lock = asyncio.Lock()

    @classmethod
    async def open(
        cls,
        database: str | os.PathLike[str] | None = None,
        *,
        migrations_dir: str | os.PathLike[str] | None = None,
        busy_timeout_ms: int | None = None,
    ) -> AsyncOrchestratorDB:
        import asyncio

        location, timeout = _resolve(database, migrations_dir, busy_timeout_ms)

        def prepare() -> None:  # create and migrate with the sync runner, off the event loop
            OrchestratorDB.at(location, timeout).close()

        if location.url is not None:
            from . import adw_db_postgres as pg

            await asyncio.to_thread(prepare)
            pg_conn = await pg.connect_async(location.url, timeout, origin=location.origin)
            return cls(pg_conn, location, pg.POSTGRES)
        try:
            import aiosqlite
        except ImportError:  # pragma: no cover - depends on the environment
            raise OrchestratorError(
                "AsyncOrchestratorDB needs aiosqlite: pip install 'aiosqlite>=0.19'"
            ) from None
        await asyncio.to_thread(prepare)
        conn = await aiosqlite.connect(
            str(location.path), isolation_level=None, timeout=timeout / 1000
        )
        conn.row_factory = sqlite3.Row
        for pragma in connection_pragmas(timeout):
            await conn.execute(pragma)
        return cls(conn, location, SQLITE)

    async def close(self) -> None:
        await self.conn.close()

    async def __aenter__(self) -> AsyncOrchestratorDB:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def _execute(self, step: ops.Step) -> Any:
        mode, sql, params = step
        sql = self.dialect.translate(sql)
        if mode == "many":
            if self.dialect is SQLITE:
                cursor = await self.conn.executemany(sql, params)
            else:
                cursor = self.conn.cursor()
                await cursor.executemany(sql, params)
            return cursor.rowcount
        cursor = await self.conn.execute(sql, params)
        if mode == "exec":
            return cursor.rowcount
        if mode == "one":
            return await cursor.fetchone()
        return await cursor.fetchall()

    async def _drive(self, op: ops.Op[T], first: ops.Step) -> T:
        value: Any = None
        error: BaseException | None = None
        cause: BaseException | None = None
        step: ops.Step | None = first
        dialect = self.dialect
        while True:
            if step is None:
                try:
                    step = resume(op, value, error, cause, dialect)
                except StopIteration as stop:
                    return stop.value  # type: ignore[no-any-return]
            error = cause = None
            try:
                value = await self._execute(step)
            except dialect.errors as exc:
                value = None
                error, cause = engine_error(exc, dialect)
            step = None

    async def _read(self, op: ops.Op[T]) -> T:
        first, done = first_step(op)
        if first is None:
            return done  # type: ignore[return-value]
        async with self._lock:
            return await self._drive(op, first)

    async def _write(self, op: ops.Op[T], again: Callable[[], ops.Op[T]] | None = None) -> T:
        attempt = 0
        while True:
            first, done = first_step(op)
            if first is None:
                return done  # type: ignore[return-value]
            async with self._lock:
                _refuse_nested_write(self)
                await self.conn.execute(self.dialect.begin_write)
                try:
                    result = await self._drive(op, first)
                    await self.conn.execute("COMMIT")
                    return result
                except BaseException as exc:
                    with suppress(*self.dialect.errors):
                        await self.conn.execute("ROLLBACK")
                    if not _may_retry(exc, again, attempt, self.dialect):
                        raise
            attempt += 1
            op = again()  # type: ignore[misc]

    register_orchestrator_agent = _writes_async(ops.register_orchestrator_agent)
    get_orchestrator_agent = _reads_async(ops.get_orchestrator_agent)
    list_orchestrator_agents = _reads_async(ops.list_orchestrator_agents)
    start_agent = _writes_async(ops.start_agent)
    get_agent = _reads_async(ops.get_agent)
    list_agents = _reads_async(ops.list_agents)
    set_agent_status = _writes_async(ops.set_agent_status)
    add_agent_usage = _writes_async(ops.add_agent_usage)
    set_agent_model = _writes_async(ops.set_agent_model)
    start_prompt = _writes_async(ops.start_prompt)
    complete_prompt = _writes_async(ops.complete_prompt)
    fail_prompt = _writes_async(ops.fail_prompt)
    get_prompt = _reads_async(ops.get_prompt)
    prompt_model_usage = _reads_async(ops.prompt_model_usage)
    list_prompts = _reads_async(ops.list_prompts)
    log_agent = _writes_async(ops.log_agent)
    log_agent_batch = _writes_async(ops.log_agent_batch)
    log_system = _writes_async(ops.log_system)
    log_system_batch = _writes_async(ops.log_system_batch)
    recent_logs = _reads_async(ops.recent_logs)
    rollup = _reads_async(ops.rollup)
    table_counts = _reads_async(ops.table_counts)
    run_budgets = _reads_async(ops.run_budgets)

    async def interactive_agent(self, session_id: str, *, working_dir: str | None = None) -> Agent:
        """The agent of Claude Code session `session_id` (see OrchestratorDB)."""
        return await self._write(_interactive_agent(session_id, working_dir))

    async def prune(self, older_than_days: float, *, dry_run: bool = False) -> dict[str, int]:
        op = ops.prune(older_than_days, dry_run=dry_run)
        if dry_run:
            return await self._read(op)
        return await self._write(op, lambda: ops.prune(older_than_days, dry_run=dry_run))

    async def vacuum(self) -> None:
        async with self._lock:
            _refuse_nested_write(self)
            await self.conn.execute("VACUUM")


# -- hook events: replay and interactive agents (the recorder itself is stdlib-only) ----------


def _interactive_agent(session_id: str, working_dir: str | None) -> ops.Op[Agent]:
    from . import hook_recorder as hooks

    if not isinstance(session_id, str) or not session_id.strip():
        raise InvalidInput(f"invalid session_id: must be a non-empty string (got {session_id!r})")
    agent_id = yield from hooks.ensure_interactive_agent(session_id, working_dir=working_dir)
    return (yield from ops.get_agent(agent_id))


def _hook_key(location: DatabaseLocation) -> str:
    from . import hook_recorder as hooks

    return hooks.database_key(path=location.path, url=location.url)


def hook_spool(location: DatabaseLocation) -> tuple[Any, bool] | None:
    """(the hook spool of the project this database belongs to, whether this database is the
    one that project's hooks write to), or None outside a project. The project is the one
    holding the migrations directory, so `tac-bootstrap db` and the project's own runtime
    find the same spool."""
    from . import hook_recorder as hooks
    from .adw_db_connection import resolve_location
    from .adw_project import CONFIG_FILENAME, read_settings

    root = next(
        (p for p in location.migrations_dir.parents if (p / CONFIG_FILENAME).is_file()), None
    )
    if root is None:
        return None
    project = current_project()
    settings = project.settings if root == project.root else read_settings(root)
    sections = {
        name: value if isinstance(value := settings.get(name), dict) else {}
        for name in ("paths", "orchestrator")
    }
    paths, orchestrator = sections["paths"], sections["orchestrator"]
    spool = hooks.Spool.locate(root, str(paths.get("logs_dir") or "logs"), os.environ)
    try:
        own = resolve_location(
            root,
            adws_dir=str(paths.get("adws_dir") or "adws"),
            configured=str(orchestrator.get("database") or ""),
        )
    except OrchestratorError:
        return spool, False
    return spool, _hook_key(own) == _hook_key(location)


def _replay_hook_events(db: OrchestratorDB, spool: Any, wait_seconds: float | None) -> int:
    from . import hook_recorder as hooks

    take_spool = True
    if spool is None:
        found = hook_spool(db.location)
        if found is None:
            return 0
        spool, take_spool = found
    if not spool.pending():
        return 0

    def write(rows: list[dict[str, Any]]) -> tuple[int, list[tuple[dict[str, Any], str]]]:
        result = db._write(hooks.record_rows(rows), lambda: hooks.record_rows(rows))
        if any(row.get("event") in hooks.TRANSCRIPT_EVENTS for row in rows):
            from . import transcripts  # a replayed Stop/SessionEnd: its session's usage too

            refused = {id(row) for row, _ in result[1]}
            kept = [row for row in rows if id(row) not in refused]
            transcripts.import_after_hooks(transcripts.db_runner(db), kept)
        return result

    wait = hooks.REPLAY_WAIT_SECONDS if wait_seconds is None else wait_seconds
    return hooks.replay(
        spool, _hook_key(db.location), write, take_spool=take_spool, wait_seconds=wait
    )
