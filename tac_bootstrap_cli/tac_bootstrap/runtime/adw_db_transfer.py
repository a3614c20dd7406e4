"""Operations that move rows between orchestrator databases (`tac-bootstrap db copy`).

Like the operations in adw_db_operations.py they are one SQL text for every engine (`{instr}`
and `{nul}` are the dialect's), run by OrchestratorDB and AsyncOrchestratorDB as methods:
the checks a copy makes before it writes (ids a UUID column would refuse, NUL characters),
the sums it verifies afterwards, and the insert that never touches a row DEST already has.
"""

from __future__ import annotations

import json
import re
import sqlite3
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import adw_db_operations as ops
from .adw_db_dialect import IntegrityViolation
from .adw_db_ops_shared import key_column
from .orch_database_types import InvalidInput, OrchestratorError

# Columns holding an id (the key, and foreign keys): all must be UUIDs for PostgreSQL.
ID_COLUMNS: dict[str, tuple[str, ...]] = {
    "orchestrator_agents": ("id",),
    "agents": ("id", "orchestrator_agent_id"),
    "prompts": ("id", "agent_id"),
    "agent_logs": ("id", "agent_id"),
    "system_logs": ("id",),
    "prompt_model_usage": ("id", "prompt_id"),
    "session_usage": ("id", "agent_id"),
    "run_checks": ("id",),  # runs.adw_id and run_checks.adw_id are text on both engines
}
# Cost columns: REAL sums on SQLite, exact NUMERIC sums on PostgreSQL.
COST_COLUMNS = {
    "agents": "total_cost_usd",
    "prompts": "cost_usd",
    "prompt_model_usage": "cost_usd",
    "session_usage": "cost_usd",
}
NOT_TEXT = {
    "input_tokens", "output_tokens", "total_cost_usd", "cost_usd", "latency_ms",
    "port_base", "claims", "attempt", "exit_code", "timed_out", "duration_ms",
}  # fmt: skip
# Columns that are 0/1 on SQLite and BOOLEAN on PostgreSQL (which refuses an integer there).
BOOLEAN_COLUMNS: dict[str, tuple[str, ...]] = {"run_checks": ("timed_out",)}
# What PostgreSQL's uuid input accepts in practice: 32 hex digits, optionally hyphenated as
# 8-4-4-4-12 and wrapped in braces, any case.
UUID_TEXT = re.compile(
    r"^\{?[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}\}?$", re.IGNORECASE
)


def _canonical(column: str) -> str:
    """SQL true for the runtime's own id form (36 characters, lower-case hex, hyphens at
    9, 14, 19 and 24), in functions both engines have."""
    text = f"lower(CAST({column} AS TEXT))"
    hyphens = " AND ".join(f"substr({text}, {i}, 1) = '-'" for i in (9, 14, 19, 24))
    return (
        f"length({text}) = 36 AND ltrim({text}, '0123456789abcdef-') = '' "
        f"AND length(replace({text}, '-', '')) = 32 AND {hyphens}"
    )


def non_uuid_ids(table: str, column: str) -> ops.Op[list[str]]:
    """The values of an id column that a UUID column would refuse (at most all of them)."""
    if column not in ID_COLUMNS.get(table, ()):
        raise InvalidInput(f"{table}.{column} is not an id column")
    sql = (
        f"SELECT CAST({column} AS TEXT) AS v FROM {table} "
        f"WHERE {column} IS NOT NULL AND NOT ({_canonical(column)})"
    )
    rows = yield ("all", sql, ())
    return [str(row["v"]) for row in rows if not UUID_TEXT.match(str(row["v"]))]


def ids_with_nul(table: str, column: str) -> ops.Op[list[str]]:
    """The keys of rows whose text (or JSON string) in `column` holds a NUL character."""
    if column not in ops.COLUMNS.get(table, ()) or column in NOT_TEXT:
        raise InvalidInput(f"{table}.{column} is not a text column")
    key = key_column(table)
    if column in ops.JSON_COLUMNS:  # the JSON text holds an escape; confirm on the parsed value
        sql = (
            f"SELECT {key} AS k, CAST({column} AS TEXT) AS v FROM {table} "
            f"WHERE {{instr}}(CAST({column} AS TEXT), '\\u0000') > 0"
        )
        rows = yield ("all", sql, ())
        return [str(row["k"]) for row in rows if _holds_nul(json.loads(row["v"]))]
    sql = f"SELECT {key} AS k FROM {table} WHERE {{instr}}(CAST({column} AS TEXT), {{nul}}) > 0"
    rows = yield ("all", sql, ())
    return [str(row["k"]) for row in rows]


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(v) for v in value)
    return False


def column_sums() -> ops.Op[dict[str, float | int]]:
    """`table.column` -> sum, for the token columns (exact integers, BIGINT on both engines)
    and the cost column (a float) of every table that has them."""
    sums: dict[str, float | int] = {}
    for table, cost in COST_COLUMNS.items():
        parts = [f"coalesce(CAST(sum({c}) AS BIGINT), 0) AS {c}" for c in ops.TOKEN_KINDS]
        parts.append(f"coalesce(sum({cost}), 0) AS {cost}")
        row = yield ("one", f"SELECT {', '.join(parts)} FROM {table}", ())
        for column in ops.TOKEN_KINDS:
            sums[f"{table}.{column}"] = int(row[column])
        sums[f"{table}.{cost}"] = float(row[cost])
    return sums


def insert_missing(table: str, rows: list[tuple[Any, ...]]) -> ops.Op[int]:
    """Insert rows (values in ops.COLUMNS[table] order) that the database lacks; returns how
    many were new. `ON CONFLICT (<key>) DO NOTHING` (not SQLite's `INSERT OR IGNORE`, which
    would also drop rows a CHECK refuses) is the same SQL on both engines, and its rowcount
    counts only inserted rows. Another unique index (one active run per issue or port slot)
    still refuses a row: that is an error naming the rule, not a row silently left out."""
    if table not in ops.COLUMNS:
        raise InvalidInput(f"unknown table {table!r}; tables: {', '.join(ops.TABLES)}")
    columns = ops.COLUMNS[table]
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}) "
        f"VALUES ({', '.join('?' for _ in columns)}) ON CONFLICT ({key_column(table)}) DO NOTHING"
    )
    try:
        inserted = yield ("many", sql, _with_booleans(table, rows))
    except IntegrityViolation as exc:
        if table != "runs" or exc.kind != "unique":
            raise
        raise OrchestratorError(
            f"an active run of SOURCE has the issue or port slot of another active run in the "
            f"database ({exc}); finish or cancel one of them and copy again"
        ) from None
    return int(inserted)


def _with_booleans(table: str, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """SQLite's 0/1 as bool where the column is BOOLEAN on PostgreSQL (SQLite stores a bool
    as 0/1 again)."""
    flags = BOOLEAN_COLUMNS.get(table)
    if not flags:
        return rows
    places = [ops.COLUMNS[table].index(c) for c in flags]
    return [
        tuple(bool(v) if i in places and v is not None else v for i, v in enumerate(row))
        for row in rows
    ]


def server_identity(identity_sql: str) -> ops.Op[dict[str, Any] | None]:
    """What tells two connections to one server database apart ({identity} of the dialect:
    database, port, start time), or None where a database is a file."""
    if not identity_sql:
        return None
    row = yield ("one", identity_sql, ())
    return dict(row) if row is not None else None


# -- SQLite to SQLite: set-based batches through ATTACH ---------------------------------------

# The one trigger a copied prompt fires: its totals are added per batch instead (below).
TOTALS_TRIGGER = "prompt_totals_insert"
_BATCH_TOTALS = (
    "INSERT INTO main.prompt_totals (dimension, key, prompts, input_tokens, output_tokens, "
    "cache_creation_tokens, cache_read_tokens, cost_usd) "
    "SELECT dimension, key, count(*), sum(input_tokens), sum(output_tokens), "
    "sum(cache_creation_tokens), sum(cache_read_tokens), sum(cost_usd) FROM ("
    "SELECT 'agent' AS dimension, agent_id AS key, {usage} FROM main.prompts WHERE rowid > ?1 "
    "UNION ALL SELECT 'day', substr(created_at, 1, 10), {usage} FROM main.prompts "
    "WHERE rowid > ?1 UNION ALL SELECT 'model', coalesce(model, 'unknown'), {usage} "
    "FROM main.prompts WHERE rowid > ?1) WHERE true GROUP BY dimension, key "
    "ON CONFLICT (dimension, key) DO UPDATE SET prompts = prompts + excluded.prompts, "
    "input_tokens = input_tokens + excluded.input_tokens, "
    "output_tokens = output_tokens + excluded.output_tokens, "
    "cache_creation_tokens = cache_creation_tokens + excluded.cache_creation_tokens, "
    "cache_read_tokens = cache_read_tokens + excluded.cache_read_tokens, "
    "cost_usd = cost_usd + excluded.cost_usd"
).replace(
    "{usage}",
    "input_tokens, output_tokens, cache_creation_tokens, cache_read_tokens, cost_usd",
)


class SourceWatch:
    """Tells whether any connection committed to a SQLite file since the watch was opened
    (`PRAGMA data_version` of a connection of its own, which no transaction holds)."""

    def __init__(self, path: Path) -> None:
        uri = f"{path.resolve().as_uri()}?mode=ro"
        self._conn = sqlite3.connect(uri, uri=True, isolation_level=None)
        self._version = self._read()

    def _read(self) -> int:
        return int(self._conn.execute("PRAGMA data_version").fetchone()[0])

    def unchanged(self) -> bool:
        return self._read() == self._version

    def close(self) -> None:
        self._conn.close()


@dataclass
class BatchResult:
    last_rowid: int
    rows: int  # SOURCE rows the batch covered
    inserted: int  # of which DEST lacked


class AttachedSource:
    """SOURCE's file attached (read-only) to DEST's connection, so a batch is one
    `INSERT ... SELECT` in DEST instead of rows through Python.

    A batch is valid only if it reads the state SOURCE's snapshot holds: the watch (opened
    before that snapshot began) proves no commit happened until SOURCE was attached, and
    `PRAGMA src.data_version` in each batch's transaction proves none happened since. A batch
    that finds SOURCE changed writes nothing and returns None: the caller goes on from its
    snapshot row by row."""

    SCHEMA = "tac_copy_source"

    def __init__(self, dest: Any, source: Path, watch: SourceWatch) -> None:
        """`dest`: the OrchestratorDB to write (its connection and its connection's lock)."""
        conn: sqlite3.Connection = dest.conn
        self._conn = conn
        self._lock = dest._lock
        self.attached = False
        with self._lock:
            self.attached = self._attach(source)
            if not self.attached:  # the copy streams rows from the snapshot instead
                self.valid = False
                return
            # A checkpoint after every batch would sync DEST's file each time (most of the
            # copy's cost): DEST's WAL grows instead, and close() checkpoints it once.
            self._autocheckpoint = conn.execute("PRAGMA main.wal_autocheckpoint").fetchone()[0]
            conn.execute("PRAGMA main.wal_autocheckpoint = 0")
        self._version = self._source_version()
        self.valid = watch.unchanged()

    def _attach(self, source: Path) -> bool:
        """Attach SOURCE read-only through a URI filename; False where this SQLite cannot (a
        build without URI filenames fails to open it, or opens another file)."""
        real = source.resolve()
        try:
            self._conn.execute(f"ATTACH DATABASE ? AS {self.SCHEMA}", (f"{real.as_uri()}?mode=ro",))
        except sqlite3.OperationalError:
            return False
        files = {row[1]: row[2] for row in self._conn.execute("PRAGMA database_list")}
        if Path(files.get(self.SCHEMA) or "") != real:
            self._conn.execute(f"DETACH DATABASE {self.SCHEMA}")
            return False
        return True

    def _source_version(self) -> int:
        return int(self._conn.execute(f"PRAGMA {self.SCHEMA}.data_version").fetchone()[0])

    def close(self) -> None:
        if not self.attached:
            return
        with self._lock:
            self._conn.execute(f"DETACH DATABASE {self.SCHEMA}")
            self._conn.execute(f"PRAGMA main.wal_autocheckpoint = {int(self._autocheckpoint)}")
            self._conn.execute("PRAGMA main.wal_checkpoint(PASSIVE)")

    def copy_batch(self, table: str, after_rowid: int, limit: int) -> BatchResult | None:
        """Insert SOURCE's rows after `after_rowid` (at most `limit`, in rowid order) that DEST
        lacks, in one DEST transaction; None when SOURCE changed since its snapshot."""
        if table not in ops.COLUMNS:
            raise InvalidInput(f"unknown table {table!r}; tables: {', '.join(ops.TABLES)}")
        if not self.valid:
            return None
        with self._lock:
            # Read before BEGIN: in the transaction DEST's first statement must be a write, or
            # a commit by another DEST writer makes its upgrade fail at once (SQLITE_BUSY).
            trigger = self._totals_trigger() if table == "prompts" else None
            self._conn.execute("BEGIN")  # deferred: IMMEDIATE would lock SOURCE's file too
            try:
                result = self._batch(table, after_rowid, limit, trigger)
                self._conn.execute("COMMIT")
            except BaseException:
                with suppress(sqlite3.Error):
                    self._conn.execute("ROLLBACK")
                raise
        self.valid = result is not None
        return result

    def _batch(
        self, table: str, after_rowid: int, limit: int, trigger: str | None
    ) -> BatchResult | None:
        conn, src = self._conn, self.SCHEMA
        if self._source_version() != self._version:
            return None
        last, rows = conn.execute(
            f"SELECT coalesce(max(r), ?1), count(*) FROM (SELECT rowid AS r FROM {src}.{table} "
            "WHERE rowid > ?1 ORDER BY rowid LIMIT ?2)",
            (after_rowid, limit),
        ).fetchone()
        if not rows:
            return BatchResult(after_rowid, 0, 0)
        columns = ", ".join(ops.COLUMNS[table])
        insert = (
            f"INSERT INTO main.{table} ({columns}) SELECT {columns} FROM {src}.{table} "
            f"WHERE rowid > ? AND rowid <= ? ORDER BY rowid ON CONFLICT ({key_column(table)}) "
            "DO NOTHING"
        )
        if trigger is None:
            inserted = conn.execute(insert, (after_rowid, last)).rowcount
            return BatchResult(int(last), int(rows), int(inserted))
        conn.execute(f"DROP TRIGGER main.{TOTALS_TRIGGER}")  # DEST's write lock from here
        before = conn.execute("SELECT coalesce(max(rowid), 0) FROM main.prompts").fetchone()[0]
        inserted = conn.execute(insert, (after_rowid, last)).rowcount
        conn.execute(_BATCH_TOTALS, (before,))
        conn.execute(trigger)
        return BatchResult(int(last), int(rows), int(inserted))

    def _totals_trigger(self) -> str | None:
        """The SQL that recreates the insert trigger of prompt_totals (None before 004)."""
        row = self._conn.execute(
            "SELECT sql FROM main.sqlite_master WHERE type = 'trigger' AND name = ?",
            (TOTALS_TRIGGER,),
        ).fetchone()
        return str(row[0]) if row is not None else None
