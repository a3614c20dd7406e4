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

import os
import sqlite3
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from . import adw_db_operations as ops
from .adw_db_connection import (
    DEFAULT_BUSY_TIMEOUT_MS,
    DatabaseLocation,
    connect,
    connection_pragmas,
    default_location,
)
from .adw_db_migrations import Migration, current_version, migrate, pending
from .orch_database_models import (
    Agent,
    AgentLogEntry,
    AgentStatus,
    AgentType,
    LogLevel,
    LogRecord,
    LogType,
    OrchestratorAgent,
    OrchestratorError,
    Prompt,
    RollupRow,
    SystemLogEntry,
)

if TYPE_CHECKING:
    import aiosqlite

T = TypeVar("T")
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
        location, timeout = default_location()
    else:
        location, timeout = None, DEFAULT_BUSY_TIMEOUT_MS
    path = Path(database) if database is not None else location.path  # type: ignore[union-attr]
    migrations = (
        Path(migrations_dir) if migrations_dir is not None else location.migrations_dir  # type: ignore[union-attr]
    )
    return path, migrations, busy_timeout_ms if busy_timeout_ms is not None else timeout


def _execute(conn: sqlite3.Connection, step: ops.Step) -> Any:
    mode, sql, params = step
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


def drive(op: ops.Op[T], execute: Callable[[ops.Step], Any], first: ops.Step | None) -> T:
    """Run an operation's steps, sending results in and throwing database errors back."""
    value: Any = None
    error: BaseException | None = None
    step = first
    while True:
        if step is None:
            try:
                step = op.throw(error) if error is not None else op.send(value)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
        error = None
        try:
            value = execute(step)
        except sqlite3.Error as exc:
            value, error = None, exc
        step = None


class OrchestratorDB:
    """Synchronous API over the standard library's sqlite3."""

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
            return drive(op, self._execute, first)

    def _write(self, op: ops.Op[T]) -> T:
        first, done = first_step(op)
        if first is None:
            return done  # type: ignore[return-value]
        with self._lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                result = drive(op, self._execute, first)
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")
            return result

    def _execute(self, step: ops.Step) -> Any:
        return _execute(self.conn, step)

    # -- orchestrator agents ------------------------------------------------------------

    def register_orchestrator_agent(
        self,
        name: str,
        agent_type: AgentType | str,
        *,
        description: str = "",
        system_prompt: str | None = None,
        default_model: str | None = None,
        capabilities: list[Any] | str | None = None,
        config: dict[str, Any] | str | None = None,
    ) -> OrchestratorAgent:
        return self._write(
            ops.register_orchestrator_agent(
                name,
                agent_type,
                description=description,
                system_prompt=system_prompt,
                default_model=default_model,
                capabilities=capabilities,
                config=config,
            )
        )

    def get_orchestrator_agent(self, id_or_name: str) -> OrchestratorAgent:
        return self._read(ops.get_orchestrator_agent(id_or_name))

    def list_orchestrator_agents(self) -> list[OrchestratorAgent]:
        return self._read(ops.list_orchestrator_agents())

    # -- agents -------------------------------------------------------------------------

    def start_agent(
        self,
        orchestrator_agent_id: str,
        session_id: str,
        *,
        adw_id: str | None = None,
        name: str = "",
        model: str | None = None,
        working_dir: str | None = None,
        context: dict[str, Any] | str | None = None,
    ) -> Agent:
        return self._write(
            ops.start_agent(
                orchestrator_agent_id,
                session_id,
                adw_id=adw_id,
                name=name,
                model=model,
                working_dir=working_dir,
                context=context,
            )
        )

    def get_agent(self, agent_id: str) -> Agent:
        return self._read(ops.get_agent(agent_id))

    def list_agents(
        self,
        *,
        session_id: str | None = None,
        adw_id: str | None = None,
        status: AgentStatus | str | None = None,
        limit: int = 100,
    ) -> list[Agent]:
        return self._read(
            ops.list_agents(session_id=session_id, adw_id=adw_id, status=status, limit=limit)
        )

    def set_agent_status(
        self, agent_id: str, status: AgentStatus | str, *, error_message: str | None = None
    ) -> Agent:
        return self._write(ops.set_agent_status(agent_id, status, error_message=error_message))

    def add_agent_usage(
        self,
        agent_id: str,
        *,
        cost_usd: float = 0.0,
        input_tokens: int = 0,
        output_tokens: int = 0,
    ) -> Agent:
        return self._write(
            ops.add_agent_usage(
                agent_id, cost_usd=cost_usd, input_tokens=input_tokens, output_tokens=output_tokens
            )
        )

    # -- prompts ------------------------------------------------------------------------

    def start_prompt(self, agent_id: str, prompt_text: str, *, model: str | None = None) -> Prompt:
        return self._write(ops.start_prompt(agent_id, prompt_text, model=model))

    def complete_prompt(self, prompt_id: str, **result: Any) -> Prompt:
        """result: response_text, model, input_tokens, output_tokens, cost_usd, latency_ms."""
        return self._write(ops.complete_prompt(prompt_id, **result))

    def fail_prompt(self, prompt_id: str, error_message: str, **result: Any) -> Prompt:
        return self._write(ops.fail_prompt(prompt_id, error_message, **result))

    def get_prompt(self, prompt_id: str) -> Prompt:
        return self._read(ops.get_prompt(prompt_id))

    def list_prompts(
        self, *, agent_id: str | None = None, session_id: str | None = None, limit: int = 100
    ) -> list[Prompt]:
        return self._read(ops.list_prompts(agent_id=agent_id, session_id=session_id, limit=limit))

    # -- logs ---------------------------------------------------------------------------

    def log_agent(
        self,
        agent_id: str,
        log_type: LogType | str,
        message: str,
        *,
        level: LogLevel | str = LogLevel.INFO,
        details: dict[str, Any] | str | None = None,
    ) -> str:
        return self._write(ops.log_agent(agent_id, log_type, message, level=level, details=details))

    def log_agent_batch(self, entries: Iterable[AgentLogEntry | Mapping[str, Any]]) -> int:
        return self._write(ops.log_agent_batch(entries))

    def log_system(
        self,
        message: str,
        *,
        level: LogLevel | str = LogLevel.INFO,
        component: str = "system",
        details: dict[str, Any] | str | None = None,
    ) -> str:
        return self._write(
            ops.log_system(message, level=level, component=component, details=details)
        )

    def log_system_batch(self, entries: Iterable[SystemLogEntry | Mapping[str, Any]]) -> int:
        return self._write(ops.log_system_batch(entries))

    def recent_logs(
        self,
        *,
        agent_id: str | None = None,
        min_level: LogLevel | str | None = None,
        since: datetime | None = None,
        limit: int = 100,
        include_system: bool = True,
    ) -> list[LogRecord]:
        return self._read(
            ops.recent_logs(
                agent_id=agent_id,
                min_level=min_level,
                since=since,
                limit=limit,
                include_system=include_system,
            )
        )

    # -- rollups, retention, maintenance ------------------------------------------------

    def rollup(self, by: ops.RollupBy, *, session_id: str | None = None) -> list[RollupRow]:
        return self._read(ops.rollup(by, session_id=session_id))

    def prune(self, older_than_days: float, *, dry_run: bool = False) -> dict[str, int]:
        op = ops.prune(older_than_days, dry_run=dry_run)
        return self._read(op) if dry_run else self._write(op)

    def table_counts(self) -> dict[str, int]:
        return self._read(ops.table_counts())

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
        yield from self.conn.execute(f"SELECT * FROM {table} ORDER BY rowid")

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
        step: ops.Step | None = first
        while True:
            if step is None:
                try:
                    step = op.throw(error) if error is not None else op.send(value)
                except StopIteration as stop:
                    return stop.value  # type: ignore[no-any-return]
            error = None
            try:
                value = await self._execute(step)
            except sqlite3.Error as exc:
                value, error = None, exc
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

    async def register_orchestrator_agent(
        self, name: str, agent_type: AgentType | str, **fields: Any
    ) -> OrchestratorAgent:
        return await self._write(ops.register_orchestrator_agent(name, agent_type, **fields))

    async def get_orchestrator_agent(self, id_or_name: str) -> OrchestratorAgent:
        return await self._read(ops.get_orchestrator_agent(id_or_name))

    async def list_orchestrator_agents(self) -> list[OrchestratorAgent]:
        return await self._read(ops.list_orchestrator_agents())

    async def start_agent(
        self, orchestrator_agent_id: str, session_id: str, **fields: Any
    ) -> Agent:
        return await self._write(ops.start_agent(orchestrator_agent_id, session_id, **fields))

    async def get_agent(self, agent_id: str) -> Agent:
        return await self._read(ops.get_agent(agent_id))

    async def list_agents(self, **filters: Any) -> list[Agent]:
        return await self._read(ops.list_agents(**filters))

    async def set_agent_status(
        self, agent_id: str, status: AgentStatus | str, *, error_message: str | None = None
    ) -> Agent:
        return await self._write(
            ops.set_agent_status(agent_id, status, error_message=error_message)
        )

    async def add_agent_usage(self, agent_id: str, **usage: Any) -> Agent:
        return await self._write(ops.add_agent_usage(agent_id, **usage))

    async def start_prompt(
        self, agent_id: str, prompt_text: str, *, model: str | None = None
    ) -> Prompt:
        return await self._write(ops.start_prompt(agent_id, prompt_text, model=model))

    async def complete_prompt(self, prompt_id: str, **result: Any) -> Prompt:
        return await self._write(ops.complete_prompt(prompt_id, **result))

    async def fail_prompt(self, prompt_id: str, error_message: str, **result: Any) -> Prompt:
        return await self._write(ops.fail_prompt(prompt_id, error_message, **result))

    async def get_prompt(self, prompt_id: str) -> Prompt:
        return await self._read(ops.get_prompt(prompt_id))

    async def list_prompts(self, **filters: Any) -> list[Prompt]:
        return await self._read(ops.list_prompts(**filters))

    async def log_agent(
        self, agent_id: str, log_type: LogType | str, message: str, **fields: Any
    ) -> str:
        return await self._write(ops.log_agent(agent_id, log_type, message, **fields))

    async def log_agent_batch(self, entries: Iterable[AgentLogEntry | Mapping[str, Any]]) -> int:
        return await self._write(ops.log_agent_batch(entries))

    async def log_system(self, message: str, **fields: Any) -> str:
        return await self._write(ops.log_system(message, **fields))

    async def log_system_batch(self, entries: Iterable[SystemLogEntry | Mapping[str, Any]]) -> int:
        return await self._write(ops.log_system_batch(entries))

    async def recent_logs(self, **filters: Any) -> list[LogRecord]:
        return await self._read(ops.recent_logs(**filters))

    async def rollup(self, by: ops.RollupBy, *, session_id: str | None = None) -> list[RollupRow]:
        return await self._read(ops.rollup(by, session_id=session_id))

    async def prune(self, older_than_days: float, *, dry_run: bool = False) -> dict[str, int]:
        op = ops.prune(older_than_days, dry_run=dry_run)
        return await (self._read(op) if dry_run else self._write(op))

    async def table_counts(self) -> dict[str, int]:
        return await self._read(ops.table_counts())

    async def vacuum(self) -> None:
        async with self._lock:
            await self.conn.execute("VACUUM")
