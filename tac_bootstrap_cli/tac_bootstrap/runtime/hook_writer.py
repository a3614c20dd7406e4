"""Where hook rows go and how they are written: the database target, the SQL, sqlite3.

Standard library only (hook_recorder.py). `resolve_target` finds the hooks' database (mirrors
adw_db_connection.resolve_location); `record_rows` and `ensure_interactive_agent` are
operations in adw_db_operations' style (they yield SQL steps), run by `SQLiteWriter` here and
by OrchestratorDB on both engines.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import sqlite3
import time
from collections.abc import Generator, Iterable
from pathlib import Path
from typing import Any, Literal

from .adw_db_private import names_postgres
from .hook_rows import (
    AGENT_ENV_VAR,
    COMPLETED_STATUS,
    INTERACTIVE_AGENT_NAME,
    INTERACTIVE_AGENT_TYPE,
    INTERACTIVE_DESCRIPTION,
    INTERACTIVE_ORCHESTRATOR,
    INTERACTIVE_STATUS,
    Rejected,
    Row,
    compact_json,
    database_key,
    interactive_agent_id,
    new_id,
    timestamp,
    validate_row,
)

HOOK_BUSY_TIMEOUT_MS = 2_000  # the recorder never waits long for a lock: it falls back

Step = tuple[Literal["exec", "many", "one", "all"], str, Any]


# -- where the database is (mirrors adw_db_connection.resolve_location, stdlib only) ---------


class Target:
    """The database hook events go to: a SQLite file, or a URL the hook cannot write to.
    (Plain classes, not dataclasses: importing dataclasses costs the recorder ~9 ms.)"""

    __slots__ = ("key", "path", "reason")

    def __init__(self, key: str, path: Path | None = None, reason: str = "") -> None:
        self.key = key
        self.path = path
        self.reason = reason  # why rows cannot be written here (PostgreSQL, bad URL)

    def __repr__(self) -> str:
        return f"Target({self.key!r}, path={self.path!r}, reason={self.reason!r})"

    @property
    def writable(self) -> bool:
        return self.path is not None


def resolve_target(setting: str, project_root: Path, adws_dir: str = "adws") -> Target:
    """The hooks' database from TAC_ORCHESTRATOR_DB or the configured setting ("" = the
    default file); relative paths are relative to the project root."""
    value = setting.strip()
    if not value:
        return _sqlite_target(project_root / adws_dir / "schema" / "orchestrator.db")
    lowered = value.lower()
    if names_postgres(value):
        return Target(
            database_key(url=value),
            reason="PostgreSQL: hooks import no driver; the runtime records these rows on "
            "its next open (or OrchestratorDB.replay_hook_events)",
        )
    if lowered.startswith("sqlite:"):
        from urllib.parse import unquote, urlsplit

        parts = urlsplit(value)
        raw = unquote(parts.path)
        if parts.netloc not in ("", "localhost") or not raw or raw == "/":
            return Target("unsupported:" + _digest(value), reason=f"unusable sqlite URL {value}")
        value = raw[1:]  # sqlite:///rel.db is relative, sqlite:////abs.db absolute
    elif "://" in value or re.match(r"(postgres|postgresql)(\+\w+)?:(?!//)", lowered):
        return Target(
            "unsupported:" + _digest(value), reason="unsupported database URL (see doctor)"
        )
    path = Path(value).expanduser()
    return _sqlite_target(path if path.is_absolute() else project_root / path)


def _sqlite_target(path: Path) -> Target:
    return Target(database_key(path=path), path=path)


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:24]


# -- the SQL: one operation for the stdlib writer here and for OrchestratorDB (both engines) --

_ORCHESTRATOR_SELECT = "SELECT id FROM orchestrator_agents WHERE name = ?"
_ORCHESTRATOR_INSERT = (
    "INSERT INTO orchestrator_agents (id, name, agent_type, description, capabilities, config, "
    "created_at, updated_at) VALUES (?, ?, ?, ?, '[]', '{}', ?, ?) ON CONFLICT (name) DO NOTHING"
)
_AGENT_INSERT = (
    "INSERT INTO agents (id, orchestrator_agent_id, session_id, name, status, working_dir, "
    "context, created_at, started_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (id) DO NOTHING"
)
_AGENT_COMPLETE = (
    "UPDATE agents SET status = ?, completed_at = ? WHERE id = ? "
    "AND status IN ('pending', 'running', 'completed') "
    "AND (completed_at IS NULL OR completed_at < ?)"
)
_AGENT_LOG_INSERT = (
    "INSERT INTO agent_logs (id, agent_id, log_type, log_level, message, details, created_at, "
    "tool_use_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING"
)
_SYSTEM_LOG_INSERT = (
    "INSERT INTO system_logs (id, log_level, component, message, details, created_at) "
    "VALUES (?, ?, 'hook', ?, ?, ?) ON CONFLICT (id) DO NOTHING"
)


def record_rows(rows: Iterable[Row]) -> Generator[Step, Any, tuple[int, list[tuple[Row, str]]]]:
    """Insert hook rows in one transaction: an operation in adw_db_operations' style (it
    yields SQL steps), run by the stdlib writer here and by OrchestratorDB on both engines.

    Idempotent: rows whose id exists are skipped, the interactive agent (and the orchestrator
    agent `claude_code`) are created only when missing. Rows of an agent that does not exist
    are not inserted; they come back with the reason. Returns (rows inserted, rejected)."""
    batch: list[Row] = []
    rejected: list[tuple[Row, str]] = []
    for row in rows:
        try:
            batch.append(validate_row(row))
        except Rejected as exc:
            rejected.append((row, str(exc)))
    batch.sort(key=lambda row: str(row["id"]))
    known = yield from _workflow_agents(batch)
    orchestrator: str | None = None
    sessions: set[str] = set()
    inserted = 0
    for row in batch:
        if row["table"] == "system_logs":
            inserted += yield ("exec", _SYSTEM_LOG_INSERT, _system_log_params(row))
            continue
        agent = row["agent_id"]
        if not row["interactive"] and agent not in known:
            rejected.append((row, f"agent {agent!r} ({AGENT_ENV_VAR}) does not exist"))
            continue
        if row["interactive"] and agent not in sessions:
            if orchestrator is None:
                orchestrator = yield from _orchestrator_agent(row["created_at"])
            yield from ensure_interactive_agent(
                row["session_id"],
                working_dir=row["working_dir"],
                transcript_path=row["transcript_path"],
                started_at=row["created_at"],
                orchestrator_id=orchestrator,
            )
            sessions.add(agent)
        inserted += yield ("exec", _AGENT_LOG_INSERT, _agent_log_params(row))
        if row["interactive"] and row["event"] == "SessionEnd":
            moment = row["created_at"]
            yield ("exec", _AGENT_COMPLETE, (COMPLETED_STATUS, moment, agent, moment))
    return inserted, rejected


def _workflow_agents(batch: list[Row]) -> Generator[Step, Any, set[str]]:
    """Which of the workflow agents (TAC_AGENT_ID) the batch's agent_logs rows name exist."""
    workflow = sorted(
        {r["agent_id"] for r in batch if r["table"] == "agent_logs" and not r["interactive"]}
    )
    if not workflow:
        return set()
    found = yield (
        "all",
        f"SELECT id FROM agents WHERE id IN ({','.join('?' * len(workflow))})",
        workflow,
    )
    return {str(r["id"]) for r in found}


def _system_log_params(row: Row) -> tuple[Any, ...]:
    details = compact_json(row["details"])
    return (row["id"], row["log_level"], row["message"], details, row["created_at"])


def _agent_log_params(row: Row) -> tuple[Any, ...]:
    return (
        row["id"],
        row["agent_id"],
        row["log_type"],
        row["log_level"],
        row["message"],
        compact_json(row["details"]),
        row["created_at"],
        row["tool_use_id"],
    )


def ensure_interactive_agent(
    session_id: str,
    *,
    working_dir: str | None = None,
    transcript_path: str | None = None,
    started_at: str | None = None,
    orchestrator_id: str | None = None,
) -> Generator[Step, Any, str]:
    """Find or create the agent of Claude Code session `session_id` (an operation, like
    record_rows); returns its id, `interactive_agent_id(session_id)`. Race-free on both
    engines: the id is derived from the session, and the INSERT skips an existing row."""
    agent = interactive_agent_id(session_id)
    now = started_at or timestamp(time.time_ns())
    if orchestrator_id is None:
        orchestrator_id = yield from _orchestrator_agent(now)
    context = {"transcript_path": transcript_path} if transcript_path else {}
    yield (
        "exec",
        _AGENT_INSERT,
        (
            agent,
            orchestrator_id,
            session_id,
            INTERACTIVE_AGENT_NAME,
            INTERACTIVE_STATUS,
            working_dir,
            compact_json(context),
            now,
            now,
        ),
    )
    return agent


def _orchestrator_agent(now: str) -> Generator[Step, Any, str]:
    found = yield ("one", _ORCHESTRATOR_SELECT, (INTERACTIVE_ORCHESTRATOR,))
    if found is None:
        yield (
            "exec",
            _ORCHESTRATOR_INSERT,
            (
                new_id(),
                INTERACTIVE_ORCHESTRATOR,
                INTERACTIVE_AGENT_TYPE,
                INTERACTIVE_DESCRIPTION,
                now,
                now,
            ),
        )
        found = yield ("one", _ORCHESTRATOR_SELECT, (INTERACTIVE_ORCHESTRATOR,))
    return str(found["id"])


class SQLiteWriter:
    """Runs record_rows with the standard library's sqlite3 in one BEGIN IMMEDIATE write.

    The database must exist (it is opened read-write, never created: creating and migrating
    it is the runtime's job), with the runtime's connection settings; any error leaves the
    transaction rolled back and is raised for the caller to fall back."""

    def __init__(self, path: Path, busy_timeout_ms: int = HOOK_BUSY_TIMEOUT_MS) -> None:
        self.path = path
        self.busy_timeout_ms = busy_timeout_ms
        self._conn: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            if not self.path.is_file():
                raise FileNotFoundError(f"no database at {self.path} yet (created on first use)")
            uri = "file:" + _uri_path(self.path) + "?mode=rw"
            conn = sqlite3.connect(
                uri, uri=True, timeout=self.busy_timeout_ms / 1000, isolation_level=None
            )
            conn.row_factory = sqlite3.Row
            try:
                for pragma in (
                    f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}",
                    "PRAGMA foreign_keys = ON",
                    "PRAGMA synchronous = NORMAL",
                ):
                    conn.execute(pragma)
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        return self._conn

    def __call__(self, rows: list[Row]) -> tuple[int, list[tuple[Row, str]]]:
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            result: tuple[int, list[tuple[Row, str]]] = drive_sqlite(conn, record_rows(rows))
            conn.execute("COMMIT")
            return result
        except BaseException:
            self.close()  # rolls back; the next batch reconnects
            raise

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None


def drive_sqlite(conn: sqlite3.Connection, op: Generator[Step, Any, Any]) -> Any:
    """Run an operation's SQL steps on a plain sqlite3 connection (the stdlib hook path's
    small version of the runtime's driver); the caller holds the transaction."""
    value: Any = None
    try:
        while True:
            mode, sql, params = op.send(value)
            if mode == "many":
                value = conn.executemany(sql, params).rowcount
                continue
            cursor = conn.execute(sql, params)
            if mode == "exec":
                value = cursor.rowcount
            elif mode == "one":
                value = cursor.fetchone()
            else:
                value = cursor.fetchall()
    except StopIteration as stop:
        return stop.value


def _uri_path(path: Path) -> str:
    from urllib.parse import quote

    return quote(str(path.resolve()), safe="/")
