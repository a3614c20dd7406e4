"""AsyncOrchestratorDB: the orchestrator database's API for asyncio code.

The same operations, plans and results as OrchestratorDB (adw_db_methods, adw_db_driver),
over aiosqlite (the `async` extra) or psycopg 3's async API; only how an action is performed
differs. Opening prepares (creates, migrates, replays hook events) with the sync class in a
thread, off the event loop.

    async with await AsyncOrchestratorDB.open() as db:
        agent = await db.start_agent(planner_id, session_id="s-1")
        async for row in db.iter_rows("agents"): ...
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from . import adw_db_operations as ops
from .adw_db_connection import DEFAULT_BUSY_TIMEOUT_MS, connection_pragmas
from .adw_db_dialect import SQLITE
from .adw_db_driver import (
    ROLLBACK,
    Action,
    execute_step_async,
    locked_plan,
    read_plan,
    run_plan_async,
    write_plan,
)
from .adw_db_methods import (
    DatabaseMethods,
    DatabaseStatus,
    Progress,
    Row,
    cursor_name,
    pending_in,
    resolve,
    schema_version_of,
    select_all,
    size_in_bytes,
)
from .adw_db_migrations import Migration, history
from .adw_db_schema_retry import factory as retrying_factory
from .adw_db_transfer import server_identity
from .orch_database_types import OrchestratorError

if TYPE_CHECKING:
    import asyncio

T = TypeVar("T")


class AsyncOrchestratorDB(DatabaseMethods):
    """The same operations over aiosqlite (the `async` extra) or psycopg 3's async API."""

    asynchronous = True
    _lock: asyncio.Lock

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        import asyncio

        super().__init__(*args, **kwargs)
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
        apply_migrations: bool = True,
    ) -> AsyncOrchestratorDB:
        """Open (creating a SQLite file on first use) and migrate; see OrchestratorDB.open."""
        import asyncio

        from .adw_database import OrchestratorDB

        location, timeout = resolve(database, migrations_dir, busy_timeout_ms)

        def prepare() -> None:  # create and migrate with the sync runner, off the event loop
            OrchestratorDB.at(location, timeout, apply_migrations=apply_migrations).close()

        await asyncio.to_thread(prepare)
        if location.is_postgres:
            from . import adw_db_postgres as pg

            pg_conn = await pg.connect_async(location.target, timeout, origin=location.origin)
            return cls(pg_conn, location, pg.POSTGRES, timeout)
        return cls(await _connect_sqlite(Path(location.target), timeout), location, SQLITE, timeout)

    async def close(self) -> None:
        await self.conn.close()

    async def __aenter__(self) -> AsyncOrchestratorDB:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # -- the driver: how this class performs the shared plans (adw_db_driver) -------------

    async def _perform(self, action: Action) -> Any:
        kind, argument = action
        if kind == "step":
            return await execute_step_async(self.conn, argument, self.dialect)
        if kind == "sql":
            return await self.conn.execute(argument)
        if kind == "rollback":
            with suppress(*self.dialect.errors):
                await self.conn.execute("ROLLBACK")
            return None
        if kind == "lock":
            return await self._lock.acquire()
        return self._lock.release()

    async def _read(self, op: ops.Op[T]) -> T:
        return await run_plan_async(read_plan(op, self.dialect), self._perform)

    async def _write(self, op: ops.Op[T], again: Callable[[], ops.Op[T]] | None = None) -> T:
        plan = write_plan(op, again, self.dialect, lambda: self.in_transaction)
        return await run_plan_async(plan, self._perform)

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[None]:
        """Reads inside see one consistent state of the database (copy, export)."""
        plan = locked_plan(None, ("sql", self.dialect.snapshot_begin))
        await run_plan_async(plan, self._perform)
        try:
            yield
        finally:
            await self._perform(ROLLBACK)

    # -- schema, retention and maintenance ------------------------------------------------

    async def prune(self, older_than_days: float, *, dry_run: bool = False) -> dict[str, int]:
        op = ops.prune(older_than_days, dry_run=dry_run)
        if dry_run:
            return await self._read(op)
        return await self._write(op, lambda: ops.prune(older_than_days, dry_run=dry_run))

    async def schema_version(self) -> int:
        return schema_version_of(await self._read(history()))

    async def pending_migrations(self) -> list[Migration]:
        return await self._read(pending_in(self.migrations_dir))

    async def size_bytes(self) -> int:
        return await self._read(size_in_bytes(self.location, self.dialect))

    async def status(self) -> DatabaseStatus:
        """Backend, location, size, schema version, pending migrations and row counts."""
        return await self._read(self._status())

    async def server_identity(self) -> dict[str, Any] | None:
        """What tells two connections to one server database apart; None for a file."""
        return await self._read(server_identity(self.dialect.identity_sql))

    async def iter_rows(self, table: str) -> AsyncIterator[Row]:
        """Stream one table's rows in insertion order; see OrchestratorDB.iter_rows."""
        sql = select_all(table, self.dialect)
        if not self.dialect.server_cursors:
            async with self.conn.execute(sql) as rows:
                async for row in rows:
                    yield row
            return
        hold = not self.in_transaction
        async with self.conn.cursor(name=cursor_name(table), withhold=hold) as cursor:
            cursor.itersize = 2000
            await cursor.execute(sql)
            async for row in cursor:
                yield row

    async def backup(
        self, destination: str | os.PathLike[str], *, progress: Progress | None = None
    ) -> Path:
        """See OrchestratorDB.backup: run in a thread with a connection of its own, so the
        event loop goes on (`progress` is called from that thread)."""
        import asyncio

        return await asyncio.to_thread(
            self.dialect.backup,
            self.location.target,
            Path(destination),
            self.busy_timeout_ms,
            progress,
        )

    async def vacuum(self) -> None:
        plan = locked_plan(lambda: self.in_transaction, ("sql", "VACUUM"))
        await run_plan_async(plan, self._perform)


async def _connect_sqlite(path: Path, busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS) -> Any:
    try:
        import aiosqlite
    except ImportError:  # pragma: no cover - depends on the environment
        raise OrchestratorError(
            "AsyncOrchestratorDB needs aiosqlite: pip install 'aiosqlite>=0.19'"
        ) from None
    conn = await aiosqlite.connect(
        str(path),
        isolation_level=None,
        timeout=busy_timeout_ms / 1000,
        factory=retrying_factory(busy_timeout_ms),  # see adw_db_schema_retry
    )
    conn.row_factory = sqlite3.Row
    for pragma in connection_pragmas(busy_timeout_ms):
        await conn.execute(pragma)
    return conn
