"""What the dashboard's live stream polls: log lines, prompts and run rows changed since a
cursor, for one run or for the whole database.

The cursor is three times in epoch milliseconds, `LOG.PROMPT.RUN`: the newest log line,
prompt change and run change already sent. Each poll reads a window that starts LOOKBACK_MS
before each mark (through idx_agent_logs_created for the whole database's logs, through the
run's agents for a run's), and the stream drops what it already sent: a row another process
committed late, with an earlier time than rows already seen, is still delivered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tac_bootstrap.application.dashboard_queries import run_summary
from tac_bootstrap.application.dashboard_queries_run import (
    LOG_COLUMNS,
    PROMPT_COLUMNS,
    RUN_AGENTS,
    event_row,
    prompt_row,
)
from tac_bootstrap.application.dashboard_queries_shared import (
    RUNS_VERSION,
    Query,
    Row,
    from_millis,
    integer,
    millis,
    plain,
)
from tac_bootstrap.domain.errors import UsageError

LOOKBACK_MS = 5_000
BATCH = 500
_CURSOR = re.compile(r"^(\d{1,15})\.(\d{1,15})\.(\d{1,15})$")


@dataclass(frozen=True)
class Cursor:
    log: int
    prompt: int
    run: int

    def __str__(self) -> str:
        return f"{self.log}.{self.prompt}.{self.run}"

    @classmethod
    def parse(cls, value: str) -> Cursor:
        match = _CURSOR.match(value.strip())
        if not match:
            raise UsageError("invalid stream cursor: take it from the page or the last event id")
        return cls(*(int(part) for part in match.groups()))


@dataclass(frozen=True)
class Changes:
    logs: list[Row]
    prompts: list[Row]
    runs: list[Row]


def start_cursor(now_ms: int) -> Cursor:
    """Where a stream opened without a cursor starts: now."""
    return Cursor(now_ms, now_ms, now_ms)


def changes_since(cursor: Cursor, run_id: str | None, version: int) -> Query[Changes]:
    """Rows written at or after each mark minus the lookback, oldest first."""
    logs = yield from _logs(from_millis(cursor.log - LOOKBACK_MS), run_id)
    prompts: list[Row] = []
    if run_id is not None:  # a run's prompts, through its agents (the whole table is not read)
        prompts = yield from _prompts(from_millis(cursor.prompt - LOOKBACK_MS), run_id)
    runs: list[Row] = []
    if version >= RUNS_VERSION:
        runs = yield from _runs(from_millis(cursor.run - LOOKBACK_MS), run_id)
    return Changes(logs, prompts, runs)


def _logs(since: str, run_id: str | None) -> Query[list[Row]]:
    if run_id is None:
        rows = yield (
            "all",
            f"SELECT {LOG_COLUMNS}, a.session_id AS run_id FROM agent_logs l "
            "JOIN agents a ON a.id = l.agent_id WHERE l.created_at >= ? "
            "ORDER BY l.created_at, l.{seq} LIMIT ?",
            (since, BATCH),
        )
    else:
        rows = yield (
            "all",
            f"SELECT {LOG_COLUMNS}, a.session_id AS run_id FROM agent_logs l "
            "JOIN agents a ON a.id = l.agent_id "
            "WHERE (a.session_id = ? OR a.adw_id = ?) AND l.created_at >= ? "
            "ORDER BY l.created_at, l.{seq} LIMIT ?",
            (run_id, run_id, since, BATCH),
        )
    events = []
    for row in rows:
        event = event_row(row)
        event["run_id"] = run_id or str(event["run_id"])
        events.append(event)
    return events


def _prompts(since: str, run_id: str) -> Query[list[Row]]:
    rows = yield (
        "all",
        f"SELECT {PROMPT_COLUMNS} FROM prompts p WHERE p.agent_id IN ({RUN_AGENTS}) "
        "AND coalesce(p.completed_at, p.created_at) >= ? "
        "ORDER BY coalesce(p.completed_at, p.created_at), p.id LIMIT ?",
        (run_id, run_id, since, BATCH),
    )
    prompts = []
    for row in rows:
        prompt = prompt_row(row)
        prompt["run_id"] = run_id
        prompts.append(prompt)
    return prompts


def _runs(since: str, run_id: str | None) -> Query[list[Row]]:
    where, params = "updated_at >= ?", [since]
    if run_id is not None:
        where += " AND adw_id = ?"
        params.append(run_id)
    rows = yield (
        "all",
        f"SELECT adw_id, updated_at FROM runs WHERE {where} ORDER BY updated_at LIMIT ?",
        (*params, BATCH),
    )
    found = []
    for row in rows:
        values = plain(row)
        summary = yield from run_summary(str(values["adw_id"]))
        if summary is not None:
            found.append(summary)
    return found


def change_time(kind: str, row: Row) -> int:
    """The time a row's change is ordered by (the mark it moves)."""
    if kind == "log":
        return millis(row["created_at"])
    if kind == "prompt":
        return millis(row["completed_at"] or row["created_at"])
    return millis(row["updated"])


def change_key(kind: str, row: Row) -> str:
    """What identifies one change of a row: the stream sends each once."""
    if kind == "log":
        return f"log:{row['id']}"
    if kind == "prompt":
        return f"prompt:{row['id']}:{row['status']}:{row['completed_at']}:{integer(row['tokens'])}"
    return f"run:{row['id']}:{row['status']}:{row['updated']}"
