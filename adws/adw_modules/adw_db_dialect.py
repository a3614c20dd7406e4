"""The seam between the backend-neutral operations and one database engine (stdlib only).

The operations in adw_db_operations.py write one SQL text for every backend: plain `?`
placeholders, rows read by column name, and a few `{macro}` names where engines differ. A
driver passes every statement through `Dialect.translate()` (cached per SQL text) before it
executes it, and turns the engine's integrity errors into `IntegrityViolation` with
`Dialect.classify()` before throwing them back into the operation.

Macros: `{seq}` the log tables' insertion order, `{day}` the UTC day (YYYY-MM-DD) of a
prompt `p` (`{usage_day}`: of a session_usage row `su`), `{for_update}` the row lock on a
read inside a write transaction (empty where the whole transaction already holds the write
lock), `{ordered_join}` a join the planner must take in the written order (SQLite's CROSS
JOIN; PostgreSQL's planner chooses well by itself). An unknown `{name}` raises KeyError.

The run queue (adw_db_ops_runs) reads the database's clock, never a worker's, so leases hold
across machines whose clocks differ: `{now}` the current time in the schema's format,
`{lease_until}` now plus `?` seconds, `{skip_locked}` the claim's row lock that passes over
rows another transaction holds (PostgreSQL's FOR UPDATE SKIP LOCKED; empty on SQLite, where
BEGIN IMMEDIATE already makes claims take turns), `{port_lock}` a statement that makes port
assignments take turns (a transaction-scoped advisory lock; a no-op query on SQLite).

Drivers whose placeholders are `%s` (psycopg) set `format_placeholders`: `?` outside quoted
text becomes `%s` and a literal `%` becomes `%%`.

Every other difference between the engines is a field here too (how a snapshot begins, the
order rows were inserted in, the migration history's SQL and how a migration file is applied,
size, server version, backups), so the code above the seam never asks which engine it runs on.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

IntegrityKind = Literal["foreign_key", "check", "unique", "not_null"]
Progress = Callable[[int, int], None]  # (done, total)
# (the location's target: file or URL, destination file, busy timeout in ms, progress)
Backup = Callable[[str, Path, int, Progress | None], Path]
LOG_TABLES = ("agent_logs", "system_logs")

_MACRO = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


class IntegrityViolation(Exception):
    """A constraint refused a statement; `str()` is the engine's own message."""

    def __init__(self, kind: IntegrityKind, message: str) -> None:
        super().__init__(message)
        self.kind: IntegrityKind = kind


def _never(_exc: BaseException) -> bool:
    return False


def _no_reason(_exc: BaseException) -> str | None:
    return None


def _no_version(_conn: Any) -> str:
    return ""


def _rowid_order(_table: str) -> str:
    return "rowid"


def _sqlite_in_transaction(conn: Any) -> bool:
    return bool(conn.in_transaction)  # sqlite3 and aiosqlite connections alike


def _sqlite_backup(target: str, destination: Path, busy_timeout_ms: int, progress: Any) -> Path:
    from .adw_db_backup import backup_file  # the backup code is loaded only to back up

    return backup_file(Path(target), destination, busy_timeout_ms, progress)


@dataclass(frozen=True)
class Dialect:
    name: str
    macros: Mapping[str, str] = field(hash=False)
    errors: tuple[type[Exception], ...]
    classifier: Callable[[BaseException], IntegrityViolation | None] = field(repr=False)
    # The statement that opens a write transaction.
    begin_write: str = "BEGIN"
    format_placeholders: bool = False
    # After any error the engine refuses further statements until ROLLBACK (PostgreSQL), so an
    # operation that catches a thrown error must not yield another step.
    aborts_on_error: bool = False
    # Errors after which a write is run again from the start (serialization failure, deadlock).
    retryable: Callable[[BaseException], bool] = field(default=_never, repr=False)
    # Why the engine refused a value the other engine stores (PostgreSQL: NUL characters), or
    # None; the driver raises that as InvalidInput instead of an engine error.
    refused_input: Callable[[BaseException], str | None] = field(default=_no_reason, repr=False)
    # The statement that opens snapshot(): a read-only view of one consistent state.
    snapshot_begin: str = "BEGIN"
    # The column that orders a table's rows as they were inserted (iter_rows, copy).
    insertion_order: Callable[[str], str] = field(default=_rowid_order, repr=False)
    # iter_rows streams through a named server-side cursor (else the driver's own cursor).
    server_cursors: bool = False
    in_transaction: Callable[[Any], bool] = field(default=_sqlite_in_transaction, repr=False)
    # Migration history: a query whose column `n` is 1 when schema_migrations exists, and the
    # column type of its applied_at.
    history_exists: str = (
        "SELECT count(*) AS n FROM sqlite_master "
        "WHERE type = 'table' AND name = 'schema_migrations'"
    )
    timestamp_type: str = "TEXT"
    # How a migration file is applied: whole in one call after `migration_lock` (a statement
    # that makes concurrent migrators queue), or statement by statement under begin_write.
    migration_as_script: bool = False
    migration_lock: str = ""
    # The bytes the orchestrator's tables take: a query over `?` (a list of table names), or
    # "" where the database is a file whose size (and its WAL's) is measured on disk.
    size_sql: str = ""
    server_version: Callable[[Any], str] = field(default=_no_version, repr=False)
    backup: Backup = field(default=_sqlite_backup, repr=False)
    # Whether text values may hold NUL characters, and whether ids live in UUID columns
    # (what a copy into this engine must check first).
    # A query telling two connections to one server database apart ("": a file's path does).
    identity_sql: str = ""
    stores_nul: bool = True
    uuid_ids: bool = False
    # A copy between two databases of this engine may read SOURCE's file attached to DEST's
    # connection (adw_db_transfer.AttachedSource: set-based batches, no rows through Python).
    attach_copy: bool = False
    _cache: Callable[[str], str] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        macros = {**self.macros, "history_exists": self.history_exists}
        rewrite = self.format_placeholders

        def replace(sql: str) -> str:
            sql = _MACRO.sub(lambda match: macros[match.group(1)], sql)
            return _format_placeholders(sql) if rewrite else sql

        object.__setattr__(self, "_cache", lru_cache(maxsize=1024)(replace))

    def translate(self, sql: str) -> str:
        """The statement for this engine: known `{macro}` names replaced (`?` stays `?`)."""
        return self._cache(sql)

    def classify(self, exc: BaseException) -> IntegrityViolation | None:
        """The IntegrityViolation an engine error stands for, or None for any other error."""
        return self.classifier(exc)

    def rollback_quietly(self, conn: Any) -> None:
        """End a failed transaction; there may be none (it never began, or the link is gone),
        and the error that failed it is the one worth raising."""
        with suppress(*self.errors):
            conn.execute("ROLLBACK")


def first_line(message: str) -> str:
    """The first line of an engine's message (libpq and psycopg add detail lines)."""
    lines = message.strip().splitlines()
    return lines[0] if lines else message


def _format_placeholders(sql: str) -> str:
    """`?` -> `%s` and `%` -> `%%` outside single-quoted text and double-quoted names."""
    out: list[str] = []
    quote = ""
    for char in sql:
        if quote:
            if char == quote:
                quote = ""
            out.append("%%" if char == "%" else char)
        elif char in "'\"":
            quote = char
            out.append(char)
        elif char == "?":
            out.append("%s")
        elif char == "%":
            out.append("%%")
        else:
            out.append(char)
    return "".join(out)


def _sqlite_violation(exc: BaseException) -> IntegrityViolation | None:
    if not isinstance(exc, sqlite3.IntegrityError):
        return None
    message = str(exc)
    kind: IntegrityKind
    if "FOREIGN KEY" in message:
        kind = "foreign_key"
    elif "UNIQUE" in message:
        kind = "unique"
    elif "NOT NULL" in message:
        kind = "not_null"
    else:
        kind = "check"
    return IntegrityViolation(kind, message)


SQLITE = Dialect(
    name="sqlite",
    macros={
        "seq": "rowid",
        "day": "substr(p.created_at, 1, 10)",
        "usage_day": "substr(su.message_at, 1, 10)",
        "for_update": "",
        "ordered_join": "CROSS JOIN",  # SQLite joins in the written order (with its ON)
        "instr": "instr",  # position of a text in another, 0 when absent
        "nul": "char(0)",
        "now": "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
        "lease_until": "strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '+' || ? || ' seconds')",
        "skip_locked": "",
        "port_lock": "SELECT 1 AS locked",
    },
    errors=(sqlite3.Error,),
    classifier=_sqlite_violation,
    begin_write="BEGIN IMMEDIATE",
    attach_copy=True,
)
