"""What OrchestratorDB and AsyncOrchestratorDB share: one table of operation methods, the
status of a database, where its connection comes from and in which order rows are read.

The table below is the only list of operations: `reads(op)` and `writes(op)` (adw_db_driver)
give the sync class a method and the async class a coroutine method for each entry.
tests/test_db_api_parity.py checks that every other public sync method has an async twin
with the same parameters, or is in SYNC_ONLY (adw_database.py) with a reason.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from . import adw_db_operations as ops
from . import adw_db_ops_run_checks as run_checks
from . import adw_db_ops_runs as runs
from . import adw_db_transfer as transfer
from .adw_db_backup import database_size
from .adw_db_connection import (
    DEFAULT_BUSY_TIMEOUT_MS,
    DatabaseLocation,
    connect,
    default_location,
    location_from_setting,
    migrations_dir_for,
)
from .adw_db_dialect import SQLITE, Dialect
from .adw_db_driver import reads, writes
from .adw_db_hook_events import interactive_agent
from .adw_db_migrations import AppliedMigration, discover, history, verify_history
from .adw_db_status import DatabaseStatus as DatabaseStatus  # re-exported
from .adw_project import current_project
from .orch_database_types import OrchestratorError

Progress = Callable[[int, int], None]  # (done, total)
Row = Mapping[str, Any]


def resolve(
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


def dialect_for(location: DatabaseLocation) -> Dialect:
    """The dialect of the engine a location names (psycopg is loaded for a server only)."""
    if location.is_postgres:
        from .adw_db_postgres import POSTGRES

        return POSTGRES
    return SQLITE


def open_connection(location: DatabaseLocation, busy_timeout_ms: int) -> tuple[Any, Dialect]:
    """A sync connection and the dialect that speaks to it."""
    dialect = dialect_for(location)
    if location.is_postgres:
        from . import adw_db_postgres as pg

        return pg.connect(location.target, busy_timeout_ms, origin=location.origin), dialect
    return connect(Path(location.target), busy_timeout_ms), dialect


def size_in_bytes(location: DatabaseLocation, dialect: Dialect) -> ops.Op[int]:
    """The bytes the orchestrator takes: its tables on a server, its file (and WAL) on disk."""
    if not dialect.size_sql:
        return database_size(Path(location.target))
    row = yield ("one", dialect.size_sql, ([*ops.TABLES, "schema_migrations"],))
    return int(row["n"]) if row else 0


def select_all(table: str, dialect: Dialect) -> str:
    """One table's rows in the order they were inserted."""
    if table not in ops.TABLES:
        raise OrchestratorError(f"unknown table {table!r}; tables: {', '.join(ops.TABLES)}")
    order = dialect.insertion_order(table)
    return f"SELECT {', '.join(ops.COLUMNS[table])} FROM {table} ORDER BY {order}"


_CURSOR_NUMBERS = itertools.count(1)


def cursor_name(table: str) -> str:
    """A server-side cursor's name, unique in this process: loops over rows may nest."""
    return f"tac_rows_{table}_{next(_CURSOR_NUMBERS)}"


def schema_version_of(done: dict[int, AppliedMigration]) -> int:
    return max(done) if done else 0


def pending_in(migrations_dir: Path) -> ops.Op[list[Any]]:
    """The migrations of `migrations_dir` not applied yet (a changed or vanished one raises)."""
    done = yield from history()
    return verify_history(discover(migrations_dir), done)


class DatabaseMethods:
    """The state and the operation methods both APIs have; `asynchronous` picks the kind."""

    asynchronous = False

    def __init__(
        self,
        conn: Any,
        location: DatabaseLocation,
        dialect: Dialect = SQLITE,
        busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
    ) -> None:
        self.conn = conn
        self.location = location
        self.dialect = dialect
        self.busy_timeout_ms = busy_timeout_ms
        self.path = location.path  # None on PostgreSQL
        self.migrations_dir = location.migrations_dir

    @property
    def backend(self) -> str:
        return self.dialect.name

    @property
    def in_transaction(self) -> bool:
        return self.dialect.in_transaction(self.conn)

    def server_version(self) -> str:
        """`15.18` on PostgreSQL (from the connection's handshake, no query), "" on SQLite."""
        return self.dialect.server_version(self.conn)

    def _status(self) -> ops.Op[DatabaseStatus]:
        """status() as one operation: before any migration there are no tables to count."""
        done = yield from history()
        todo = verify_history(discover(self.migrations_dir), done)
        counts = (yield from ops.table_counts()) if done else {}
        size = yield from size_in_bytes(self.location, self.dialect)
        return DatabaseStatus(
            path=self.path,
            exists=True,
            size_bytes=size,
            schema_version=schema_version_of(done),
            pending=[m.filename for m in todo],
            counts=counts,
            location=self.location.display,
            backend=self.backend,
            server_version=self.server_version(),
        )

    # -- operations (signatures and docs come from adw_db_operations) -------------------

    register_orchestrator_agent = writes(ops.register_orchestrator_agent)
    get_orchestrator_agent = reads(ops.get_orchestrator_agent)
    list_orchestrator_agents = reads(ops.list_orchestrator_agents)
    start_agent = writes(ops.start_agent)
    get_agent = reads(ops.get_agent)
    list_agents = reads(ops.list_agents)
    set_agent_status = writes(ops.set_agent_status)
    add_agent_usage = writes(ops.add_agent_usage)
    set_agent_model = writes(ops.set_agent_model)
    start_prompt = writes(ops.start_prompt)
    complete_prompt = writes(ops.complete_prompt)
    fail_prompt = writes(ops.fail_prompt)
    get_prompt = reads(ops.get_prompt)
    prompt_model_usage = reads(ops.prompt_model_usage)
    list_prompts = reads(ops.list_prompts)
    log_agent = writes(ops.log_agent)
    log_agent_batch = writes(ops.log_agent_batch)
    log_system = writes(ops.log_system)
    log_system_batch = writes(ops.log_system_batch)
    recent_logs = reads(ops.recent_logs)
    rollup = reads(ops.rollup)
    table_counts = reads(ops.table_counts)
    run_budgets = reads(ops.run_budgets)
    # hook events (hook_recorder.py): the agent of an interactive Claude Code session
    interactive_agent = writes(interactive_agent)
    # workflow runs, their checks, the run queue and webhook deliveries
    # (adw_db_ops_runs.py, adw_db_ops_run_checks.py)
    create_run = writes(runs.create_run)
    get_run = reads(runs.get_run)
    list_runs = reads(runs.list_runs)
    update_run = writes(runs.update_run)
    assign_port = writes(runs.assign_port)
    claim_run = writes(runs.claim_run)
    heartbeat_run = writes(runs.heartbeat_run)
    requeue_expired = writes(runs.requeue_expired)
    finish_run = writes(runs.finish_run)
    reopen_run = writes(runs.reopen_run)
    record_check = writes(run_checks.record_check)
    list_checks = reads(run_checks.list_checks)
    remember_delivery = writes(run_checks.remember_delivery)
    # migrations and copies between databases (adw_db_transfer.py)
    applied_migrations = reads(history)
    non_uuid_ids = reads(transfer.non_uuid_ids)
    ids_with_nul = reads(transfer.ids_with_nul)
    column_sums = reads(transfer.column_sums)
    insert_missing = writes(transfer.insert_missing)
