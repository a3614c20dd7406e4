"""What the dashboard's live stream polls: log lines, prompts and run rows changed since a
cursor, for one run or for the whole database.

The cursor is `LOG.PROMPT.RUN.SEQ`: three times in epoch milliseconds (the newest log line,
prompt change and run change already sent) and the highest log insertion number (`{seq}`) the
client has. Times alone cannot say whether a log line written late, with an earlier time than
the mark, was sent before a reconnect or rendered in the page; its insertion number can (0:
unknown, as in the three-part cursors of earlier versions, which are still read).

Each poll reads what is new since each mark and, apart, the LOOKBACK_MS before it (through
idx_agent_logs_created for the whole database's logs, through the run's agents for a run's),
and the stream drops what it already sent: a row another process committed late, with an
earlier time than rows already seen (a hook event the background recorder wrote seconds after
it happened, on a loaded machine), is still delivered. Two reads, so a busy lookback window
(more than BATCH rows) never keeps new rows out.
"""

from __future__ import annotations

import re
from collections.abc import Callable
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

LOOKBACK_MS = 30_000
BATCH = 500
_CURSOR = re.compile(r"^(\d{1,15})\.(\d{1,15})\.(\d{1,15})(?:\.(\d{1,19}))?$")


@dataclass(frozen=True)
class Cursor:
    log: int
    prompt: int
    run: int
    seq: int = 0  # the highest log insertion number the client has; 0: unknown

    def __str__(self) -> str:
        return f"{self.log}.{self.prompt}.{self.run}.{self.seq}"

    @classmethod
    def parse(cls, value: str) -> Cursor:
        match = _CURSOR.match(value.strip())
        if not match:
            raise UsageError("invalid stream cursor: take it from the page or the last event id")
        return cls(*(int(part or 0) for part in match.groups()))


@dataclass(frozen=True)
class Changes:
    logs: list[Row]
    prompts: list[Row]
    runs: list[Row]


def start_cursor(now_ms: int) -> Query[Cursor]:
    """Where a page's stream (or one opened without a cursor) starts: now, and the newest log
    line written so far (read before the page reads its rows, so none is lost in between)."""
    row = yield ("one", "SELECT max({seq}) AS seq FROM agent_logs", ())
    newest = integer(plain(row)["seq"]) if row is not None else 0
    return Cursor(now_ms, now_ms, now_ms, newest or 0)


def changes_since(cursor: Cursor, run_id: str | None, version: int) -> Query[Changes]:
    """Rows written in the lookback before each mark, then those at or after it, oldest first."""
    logs = yield from _window(_logs, cursor.log, run_id)
    prompts: list[Row] = []
    if run_id is not None:  # a run's prompts, through its agents (the whole table is not read)
        prompts = yield from _window(_prompts, cursor.prompt, run_id)
    runs: list[Row] = []
    if version >= RUNS_VERSION:
        runs = yield from _window(_runs, cursor.run, run_id)
    return Changes(logs, prompts, runs)


def _window(
    fetch: Callable[[str, str | None, str | None], Query[list[Row]]], mark: int, run_id: str | None
) -> Query[list[Row]]:
    late = yield from fetch(from_millis(mark - LOOKBACK_MS), from_millis(mark), run_id)
    new = yield from fetch(from_millis(mark), None, run_id)
    return late + new


def _before(column: str, until: str | None) -> tuple[str, tuple[str, ...]]:
    return (f" AND {column} < ?", (until,)) if until is not None else ("", ())


def _logs(since: str, until: str | None, run_id: str | None) -> Query[list[Row]]:
    before, bound = _before("l.created_at", until)
    if run_id is None:
        rows = yield (
            "all",
            f"SELECT {LOG_COLUMNS}, a.session_id AS run_id FROM agent_logs l "
            f"JOIN agents a ON a.id = l.agent_id WHERE l.created_at >= ?{before} "
            "ORDER BY l.created_at, l.{seq} LIMIT ?",
            (since, *bound, BATCH),
        )
    else:
        rows = yield (
            "all",
            f"SELECT {LOG_COLUMNS}, a.session_id AS run_id FROM agent_logs l "
            "JOIN agents a ON a.id = l.agent_id "
            f"WHERE (a.session_id = ? OR a.adw_id = ?) AND l.created_at >= ?{before} "
            "ORDER BY l.created_at, l.{seq} LIMIT ?",
            (run_id, run_id, since, *bound, BATCH),
        )
    events = []
    for row in rows:
        event = event_row(row)
        event["run_id"] = run_id or str(event["run_id"])
        events.append(event)
    return events


def _prompts(since: str, until: str | None, run_id: str | None) -> Query[list[Row]]:
    changed = "coalesce(p.completed_at, p.created_at)"
    before, bound = _before(changed, until)
    rows = yield (
        "all",
        f"SELECT {PROMPT_COLUMNS} FROM prompts p WHERE p.agent_id IN ({RUN_AGENTS}) "
        f"AND {changed} >= ?{before} ORDER BY {changed}, p.id LIMIT ?",
        (run_id, run_id, since, *bound, BATCH),
    )
    prompts = []
    for row in rows:
        prompt = prompt_row(row)
        prompt["run_id"] = run_id
        prompts.append(prompt)
    return prompts


def _runs(since: str, until: str | None, run_id: str | None) -> Query[list[Row]]:
    before, bound = _before("updated_at", until)
    where, params = f"updated_at >= ?{before}", [since, *bound]
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
