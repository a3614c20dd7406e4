"""OrchestratorDB: the one entry point to the orchestrator database (sync and async).

    from adw_modules.adw_database import OrchestratorDB

    with OrchestratorDB.open() as db:          # zero-config: adws/schema/orchestrator.db
        planner = db.register_orchestrator_agent("planner", "planner")
        agent = db.start_agent(planner.id, session_id="s-1", adw_id="a1b2c3d4")
        prompt = db.start_prompt(agent.id, "/plan issue 42", model="sonnet")
        db.complete_prompt(prompt.id, input_tokens=1200, output_tokens=300, cost_usd=0.021)
        db.set_agent_status(agent.id, "completed")

Opening applies pending migrations. Every write is one BEGIN IMMEDIATE transaction, so
concurrent writers from many processes queue on the busy timeout instead of failing; invalid
input raises InvalidInput (or NotFound) before anything is written. The operations
themselves live in adw_db_operations.py and are shared with AsyncOrchestratorDB.
"""

from __future__ import annotations

import inspect
import os
import sqlite3
import tempfile
import threading
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
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
)
from .adw_db_dialect import SQLITE, Dialect, IntegrityViolation
from .adw_db_migrations import Migration, current_version, migrate, pending
from .orch_database_models import (
    OrchestratorError,
)

if TYPE_CHECKING:
    import aiosqlite

T = TypeVar("T")
P = ParamSpec("P")
Progress = Callable[[int, int], None]  # (done, total)


@dataclass(frozen=True)
class DatabaseStatus:
    path: Path
    exists: bool
    size_bytes: int
    schema_version: int
    pending: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


def _resolve(
    database: str | os.PathLike[str] | None,
    migrations_dir: str | os.PathLike[str] | None,
    busy_timeout_ms: int | None,
) -> tuple[Path, Path, int]:
    if database is None or migrations_dir is None:
        location, timeout = default_location(need_timeout=busy_timeout_ms is None)
    else:
        location, timeout = None, DEFAULT_BUSY_TIMEOUT_MS
    path = Path(database) if database is not None else location.path  # type: ignore[union-attr]
    migrations = (
        Path(migrations_dir) if migrations_dir is not None else location.migrations_dir  # type: ignore[union-attr]
    )
    return path, migrations, busy_timeout_ms if busy_timeout_ms is not None else timeout


def _execute(conn: sqlite3.Connection, step: ops.Step, dialect: Dialect = SQLITE) -> Any:
    mode, sql, params = step
    sql = dialect.translate(sql)
    if mode == "many":
        return conn.executemany(sql, params).rowcount
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
    op: ops.Op[T], value: Any, error: BaseException | None, cause: BaseException | None
) -> ops.Step:
    """Send a step's result into an operation, or throw its error in; return the next step.

    An integrity error goes in as IntegrityViolation; if the operation does not catch it,
    the engine's original exception (`cause`) is raised instead."""
    if error is None:
        return op.send(value)
    try:
        return op.throw(error)
    except IntegrityViolation as violation:
        if violation is error and cause is not None:
            raise cause from None
        raise


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
                step = resume(op, value, error, cause)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
        error = cause = None
        try:
            value = execute(step)
        except dialect.errors as exc:
            value, cause = None, exc
            error = dialect.classify(exc) or exc
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


def _writes(operation: Callable[P, ops.Op[T]]) -> Callable[Concatenate[OrchestratorDB, P], T]:
    """Expose an operation as a method that runs it in one BEGIN IMMEDIATE transaction."""

    def method(self: OrchestratorDB, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return self._write(operation(*args, **kwargs))

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
        return await self._write(operation(*args, **kwargs))

    return _named_like(method, operation)


class OrchestratorDB:
    """Synchronous API over the standard library's sqlite3."""

    dialect: Dialect = SQLITE

    def __init__(self, conn: sqlite3.Connection, path: Path, migrations_dir: Path) -> None:
        self.conn = conn
        self.path = path
        self.migrations_dir = migrations_dir
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
        """Open (creating on first use) and migrate; defaults come from default_location()."""
        path, migrations, timeout = _resolve(database, migrations_dir, busy_timeout_ms)
        conn = connect(path, timeout)
        try:
            if apply_migrations:
                migrate(conn, migrations)
        except BaseException:
            conn.close()
            raise
        return cls(conn, path, migrations)

    @classmethod
    def at(cls, location: DatabaseLocation, busy_timeout_ms: int | None = None) -> OrchestratorDB:
        return cls.open(
            location.path, migrations_dir=location.migrations_dir, busy_timeout_ms=busy_timeout_ms
        )

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

    def _write(self, op: ops.Op[T]) -> T:
        first, done = first_step(op)
        if first is None:
            return done  # type: ignore[return-value]
        with self._lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                result = drive(op, self._execute, first, self.dialect)
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")
            return result

    def _execute(self, step: ops.Step) -> Any:
        return _execute(self.conn, step, self.dialect)

    # -- operations (signatures and docs come from adw_db_operations) -------------------

    register_orchestrator_agent = _writes(ops.register_orchestrator_agent)
    get_orchestrator_agent = _reads(ops.get_orchestrator_agent)
    list_orchestrator_agents = _reads(ops.list_orchestrator_agents)
    start_agent = _writes(ops.start_agent)
    get_agent = _reads(ops.get_agent)
    list_agents = _reads(ops.list_agents)
    set_agent_status = _writes(ops.set_agent_status)
    add_agent_usage = _writes(ops.add_agent_usage)
    start_prompt = _writes(ops.start_prompt)
    complete_prompt = _writes(ops.complete_prompt)
    fail_prompt = _writes(ops.fail_prompt)
    get_prompt = _reads(ops.get_prompt)
    list_prompts = _reads(ops.list_prompts)
    log_agent = _writes(ops.log_agent)
    log_agent_batch = _writes(ops.log_agent_batch)
    log_system = _writes(ops.log_system)
    log_system_batch = _writes(ops.log_system_batch)
    recent_logs = _reads(ops.recent_logs)
    rollup = _reads(ops.rollup)
    table_counts = _reads(ops.table_counts)

    # -- retention and maintenance ------------------------------------------------------

    def prune(self, older_than_days: float, *, dry_run: bool = False) -> dict[str, int]:
        op = ops.prune(older_than_days, dry_run=dry_run)
        return self._read(op) if dry_run else self._write(op)

    def schema_version(self) -> int:
        return current_version(self.conn)

    def pending_migrations(self) -> list[Migration]:
        return pending(self.conn, self.migrations_dir)

    def status(self) -> DatabaseStatus:
        return DatabaseStatus(
            path=self.path,
            exists=True,
            size_bytes=database_size(self.path),
            schema_version=self.schema_version(),
            pending=[m.filename for m in self.pending_migrations()],
            counts=self.table_counts(),
        )

    def iter_rows(self, table: str) -> Iterator[sqlite3.Row]:
        """Stream one table's rows (for export) without loading them all."""
        if table not in ops.TABLES:
            raise OrchestratorError(f"unknown table {table!r}; tables: {', '.join(ops.TABLES)}")
        columns = ", ".join(ops.COLUMNS[table])
        yield from self.conn.execute(f"SELECT {columns} FROM {table} ORDER BY rowid")

    def backup(
        self, destination: str | os.PathLike[str], *, progress: Progress | None = None
    ) -> Path:
        """Online backup (readers and writers may continue) into a new file, written atomically."""
        return backup_database(self.conn, Path(destination), progress=progress)

    def vacuum(self) -> None:
        self.conn.execute("VACUUM")


def database_size(path: Path) -> int:
    """Bytes on disk, including the WAL file a live database keeps beside it."""
    total = 0
    for candidate in (path, path.with_name(path.name + "-wal")):
        if candidate.exists():
            total += candidate.stat().st_size
    return total


def backup_database(
    source: sqlite3.Connection, destination: Path, *, progress: Progress | None = None
) -> Path:
    if destination.exists():
        raise OrchestratorError(f"{destination} already exists; choose a new file name")
    destination.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{destination.name}.", suffix=".tmp", dir=destination.parent
    )
    os.close(fd)
    try:
        target = sqlite3.connect(tmp_name)
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
        os.replace(tmp_name, destination)
    except BaseException:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
        raise
    return destination


class AsyncOrchestratorDB:
    """The same operations over aiosqlite (install the `async` extra)."""

    dialect: Dialect = SQLITE

    def __init__(self, conn: aiosqlite.Connection, path: Path, migrations_dir: Path) -> None:
        import asyncio

        self.conn = conn
        self.path = path
        self.migrations_dir = migrations_dir
        # One connection runs one transaction at a time: coroutines sharing this object (e.g.
        # asyncio.gather of writes) queue here instead of nesting BEGIN IMMEDIATE or reading
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

        try:
            import aiosqlite
        except ImportError:  # pragma: no cover - depends on the environment
            raise OrchestratorError(
                "AsyncOrchestratorDB needs aiosqlite: pip install 'aiosqlite>=0.19'"
            ) from None
        path, migrations, timeout = _resolve(database, migrations_dir, busy_timeout_ms)

        def prepare() -> None:  # create and migrate with the sync runner, off the event loop
            OrchestratorDB.open(path, migrations_dir=migrations, busy_timeout_ms=timeout).close()

        await asyncio.to_thread(prepare)
        conn = await aiosqlite.connect(str(path), isolation_level=None, timeout=timeout / 1000)
        conn.row_factory = sqlite3.Row
        for pragma in connection_pragmas(timeout):
            await conn.execute(pragma)
        return cls(conn, path, migrations)

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
            cursor = await self.conn.executemany(sql, params)
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
                    step = resume(op, value, error, cause)
                except StopIteration as stop:
                    return stop.value  # type: ignore[no-any-return]
            error = cause = None
            try:
                value = await self._execute(step)
            except dialect.errors as exc:
                value, cause = None, exc
                error = dialect.classify(exc) or exc
            step = None

    async def _read(self, op: ops.Op[T]) -> T:
        first, done = first_step(op)
        if first is None:
            return done  # type: ignore[return-value]
        async with self._lock:
            return await self._drive(op, first)

    async def _write(self, op: ops.Op[T]) -> T:
        first, done = first_step(op)
        if first is None:
            return done  # type: ignore[return-value]
        async with self._lock:
            await self.conn.execute("BEGIN IMMEDIATE")
            try:
                result = await self._drive(op, first)
            except BaseException:
                await self.conn.execute("ROLLBACK")
                raise
            await self.conn.execute("COMMIT")
            return result

    register_orchestrator_agent = _writes_async(ops.register_orchestrator_agent)
    get_orchestrator_agent = _reads_async(ops.get_orchestrator_agent)
    list_orchestrator_agents = _reads_async(ops.list_orchestrator_agents)
    start_agent = _writes_async(ops.start_agent)
    get_agent = _reads_async(ops.get_agent)
    list_agents = _reads_async(ops.list_agents)
    set_agent_status = _writes_async(ops.set_agent_status)
    add_agent_usage = _writes_async(ops.add_agent_usage)
    start_prompt = _writes_async(ops.start_prompt)
    complete_prompt = _writes_async(ops.complete_prompt)
    fail_prompt = _writes_async(ops.fail_prompt)
    get_prompt = _reads_async(ops.get_prompt)
    list_prompts = _reads_async(ops.list_prompts)
    log_agent = _writes_async(ops.log_agent)
    log_agent_batch = _writes_async(ops.log_agent_batch)
    log_system = _writes_async(ops.log_system)
    log_system_batch = _writes_async(ops.log_system_batch)
    recent_logs = _reads_async(ops.recent_logs)
    rollup = _reads_async(ops.rollup)
    table_counts = _reads_async(ops.table_counts)

    async def prune(self, older_than_days: float, *, dry_run: bool = False) -> dict[str, int]:
        op = ops.prune(older_than_days, dry_run=dry_run)
        return await (self._read(op) if dry_run else self._write(op))

    async def vacuum(self) -> None:
        async with self._lock:
            await self.conn.execute("VACUUM")
