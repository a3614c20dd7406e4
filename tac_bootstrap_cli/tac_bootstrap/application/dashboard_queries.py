"""What the dashboard's runs and costs pages show, read from the orchestrator database.

Runs: the rows of `runs` (migration 005) and the interactive sessions (agents grouped by
session_id that no runs row names), newest first, one page at a time. Pagination is a keyset
(the last row's start time and id), never OFFSET: page 1,000 costs what page 1 costs. The
tokens and cost of a page's runs come from prompt_totals' rows of their agents (migration
004, kept by triggers) and the transcript usage of sessions no prompt ran, as `db stats
--by session` counts them; no query reads every prompt.

Costs are in dashboard_queries_costs.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

from tac_bootstrap.application.dashboard_queries_shared import (
    RUNS_VERSION,
    TOKEN_KINDS,
    Page,
    Query,
    Row,
    day_start,
    integer,
    is_timestamp,
    like_pattern,
    millis,
    number,
    placeholders,
    plain,
)
from tac_bootstrap.domain.errors import UsageError
from tac_bootstrap.runtime.orch_database_types import RunStatus

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
STATUSES = tuple(status.value for status in RunStatus)
SESSION_STATUSES = ("running", "failed", "completed")
INTERACTIVE = "interactive"
_RUN_COLUMNS = (
    "adw_id, workflow, status, issue_source, issue_ref, issue_title, branch, worktree, "
    "pr_url, error, created_at, started_at, completed_at, updated_at"
)
# An interactive session's status from its agents': any still going, else any failed.
_SESSION_STATUS = (
    "CASE WHEN sum(CASE WHEN a.status IN ('pending', 'running') THEN 1 ELSE 0 END) > 0 "
    "THEN 'running' WHEN sum(CASE WHEN a.status = 'failed' THEN 1 ELSE 0 END) > 0 "
    "THEN 'failed' ELSE 'completed' END"
)


@dataclass(frozen=True)
class RunFilters:
    """The runs page's query: every value is checked before it reaches SQL."""

    status: str | None = None
    issue: str | None = None
    since: str | None = None  # YYYY-MM-DD (UTC), inclusive
    until: str | None = None  # YYYY-MM-DD (UTC), inclusive
    model: str | None = None
    q: str | None = None
    after: str | None = None  # the keyset cursor of the previous page
    limit: int = DEFAULT_LIMIT
    cursor: tuple[str, str] | None = field(default=None, compare=False)

    @classmethod
    def parse(cls, query: dict[str, str]) -> RunFilters:
        """From a request's query string; a bad value raises UsageError (HTTP 400)."""

        def value(name: str) -> str | None:
            text = (query.get(name) or "").strip()
            return text or None

        status = value("status")
        if status is not None and status not in STATUSES:
            raise UsageError(f"invalid status {status!r}: use {', '.join(STATUSES)}")
        try:
            limit = int(value("limit") or DEFAULT_LIMIT)
        except ValueError:
            raise UsageError("invalid limit: a whole number from 1 to 200") from None
        since, until = value("since"), value("until")
        for name, day in (("since", since), ("until", until)):
            if day is not None:
                day_start(day, name)
        after = value("after")
        issue = value("issue")
        return cls(
            status=status,
            issue=issue.lstrip("#") if issue else None,
            since=since,
            until=until,
            model=value("model"),
            q=value("q"),
            after=after,
            limit=max(1, min(limit, MAX_LIMIT)),
            cursor=decode_cursor(after) if after else None,
        )

    def query_string(self, **changes: Any) -> dict[str, str]:
        """These filters as query parameters (what the next page's link carries)."""
        values = {
            "status": self.status,
            "issue": self.issue,
            "since": self.since,
            "until": self.until,
            "model": self.model,
            "q": self.q,
            "limit": str(self.limit) if self.limit != DEFAULT_LIMIT else None,
        }
        values.update(changes)
        return {key: str(value) for key, value in values.items() if value}


def encode_cursor(started: str, run_id: str) -> str:
    raw = f"{started}\n{run_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        started, run_id = raw.split("\n", 1)
    except (ValueError, UnicodeDecodeError):
        raise UsageError("invalid cursor (after): take it from the previous page") from None
    if not is_timestamp(started) or not run_id:
        raise UsageError("invalid cursor (after): take it from the previous page")
    return started, run_id


# -- the runs list ----------------------------------------------------------------------------


def runs_page(filters: RunFilters) -> Query[Page]:
    """One page of runs and sessions, newest first, and the cursor of the next."""
    wanted = filters.limit + 1
    version = yield from _schema_version()
    runs: list[Row] = []
    if version >= RUNS_VERSION:
        runs = yield from _workflow_runs(filters, wanted)
    sessions = yield from _sessions(filters, wanted, with_runs=version >= RUNS_VERSION)
    merged = sorted(runs + sessions, key=lambda r: (r["started"] or "", r["id"]), reverse=True)
    page = merged[: filters.limit]
    yield from _add_usage(page)
    yield from _add_phases(page)
    more = len(merged) > filters.limit
    last = page[-1] if page else None
    cursor = encode_cursor(last["started"], last["id"]) if more and last else None
    return Page(page, cursor)


def _schema_version() -> Query[int]:
    row = yield ("one", "SELECT max(version) AS version FROM schema_migrations", ())
    return integer(row["version"]) if row else 0


def _workflow_runs(filters: RunFilters, wanted: int) -> Query[list[Row]]:
    where, params = ["1 = 1"], []
    if filters.status:
        where.append("r.status = ?")
        params.append(filters.status)
    if filters.issue:
        where.append("r.issue_ref = ?")
        params.append(filters.issue)
    if filters.since:
        where.append("r.created_at >= ?")
        params.append(day_start(filters.since, "since"))
    if filters.until:
        where.append("r.created_at < ?")
        params.append(_day_after(filters.until))
    if filters.model:
        where.append(
            "EXISTS (SELECT 1 FROM agents a WHERE a.session_id = r.adw_id AND (a.model = ? "
            "OR EXISTS (SELECT 1 FROM prompts p WHERE p.agent_id = a.id AND p.model = ?)))"
        )
        params += [filters.model, filters.model]
    if filters.q:
        where.append(
            "(lower(r.adw_id) LIKE ? ESCAPE '!' OR lower(r.issue_title) LIKE ? ESCAPE '!' "
            "OR lower(coalesce(r.issue_ref, '')) LIKE ? ESCAPE '!')"
        )
        params += [like_pattern(filters.q)] * 3
    if filters.cursor:
        where.append("(r.created_at < ? OR (r.created_at = ? AND r.adw_id < ?))")
        started, run_id = filters.cursor
        params += [started, started, run_id]
    rows = yield (
        "all",
        f"SELECT {_RUN_COLUMNS} FROM runs r WHERE {' AND '.join(where)} "
        "ORDER BY r.created_at DESC, r.adw_id DESC LIMIT ?",
        (*params, wanted),
    )
    return [_workflow_row(plain(row)) for row in rows]


def _workflow_row(row: Row) -> Row:
    started = row["started_at"] or row["created_at"]
    ended = row["completed_at"]
    return {
        "id": row["adw_id"],
        "kind": "workflow",
        "workflow": row["workflow"],
        "status": row["status"],
        "issue": _issue_label(row["issue_source"], row["issue_ref"], row["issue_title"]),
        "issue_ref": row["issue_ref"],
        "issue_title": row["issue_title"],
        "branch": row["branch"],
        "pr_url": row["pr_url"],
        "error": row["error"],
        "started": row["created_at"],
        "start": started,
        "end": ended,
        "updated": row["updated_at"],
        "duration_ms": _duration(started, ended),
    }


def _issue_label(source: str, ref: str | None, title: str) -> str:
    if source == "github" and ref:
        return f"#{ref}"
    if source == "local" and ref:
        return ref
    first = title.strip().splitlines()[0] if title.strip() else ""
    return first[:80]


def _duration(start: str | None, end: str | None) -> int | None:
    if not start or not end:
        return None
    return max(0, millis(end) - millis(start))


def _day_after(day: str) -> str:
    from datetime import datetime, timedelta

    moment = datetime.strptime(day, "%Y-%m-%d") + timedelta(days=1)
    return f"{moment:%Y-%m-%d}T00:00:00.000Z"


def _sessions(filters: RunFilters, wanted: int, *, with_runs: bool) -> Query[list[Row]]:
    """Interactive sessions: agents whose session no runs row names, grouped."""
    if filters.issue or (filters.status and filters.status not in SESSION_STATUSES):
        return []
    where, having, params, later = ["1 = 1"], ["1 = 1"], [], []
    if with_runs:
        where.append("NOT EXISTS (SELECT 1 FROM runs r WHERE r.adw_id = a.session_id)")
    if filters.q:
        where.append("lower(a.session_id) LIKE ? ESCAPE '!'")
        params.append(like_pattern(filters.q))
    if filters.status:
        having.append(f"{_SESSION_STATUS} = ?")
        later.append(filters.status)
    if filters.model:
        having.append(
            "sum(CASE WHEN a.model = ? OR EXISTS (SELECT 1 FROM prompts p "
            "WHERE p.agent_id = a.id AND p.model = ?) THEN 1 ELSE 0 END) > 0"
        )
        later += [filters.model, filters.model]
    if filters.since:
        having.append("min(a.created_at) >= ?")
        later.append(day_start(filters.since, "since"))
    if filters.until:
        having.append("min(a.created_at) < ?")
        later.append(_day_after(filters.until))
    if filters.cursor:
        started, run_id = filters.cursor
        having.append("(min(a.created_at) < ? OR (min(a.created_at) = ? AND a.session_id < ?))")
        later += [started, started, run_id]
    rows = yield (
        "all",
        "SELECT a.session_id AS id, min(a.created_at) AS started, "
        "max(coalesce(a.completed_at, a.started_at, a.created_at)) AS last_seen, "
        f"{_SESSION_STATUS} AS status, "
        "sum(CASE WHEN a.status IN ('pending', 'running') THEN 1 ELSE 0 END) AS active "
        f"FROM agents a WHERE {' AND '.join(where)} GROUP BY a.session_id "
        f"HAVING {' AND '.join(having)} ORDER BY started DESC, id DESC LIMIT ?",
        (*params, *later, wanted),
    )
    return [_session_row(plain(row)) for row in rows]


def _session_row(row: Row) -> Row:
    ended = None if integer(row["active"]) else row["last_seen"]
    return {
        "id": row["id"],
        "kind": "session",
        "workflow": INTERACTIVE,
        "status": row["status"],
        "issue": "",
        "issue_ref": None,
        "issue_title": "",
        "branch": None,
        "pr_url": None,
        "error": None,
        "started": row["started"],
        "start": row["started"],
        "end": ended,
        "updated": row["last_seen"],
        "duration_ms": _duration(row["started"], ended),
    }


def _add_usage(page: list[Row]) -> Query[None]:
    """Each row's prompts, tokens of every kind and cost: prompt_totals of its agents plus
    the transcript usage of its agents no prompt ran (as `db stats --by session`)."""
    for row in page:
        row.update({"prompts": 0, **dict.fromkeys(TOKEN_KINDS, 0), "cost_usd": 0.0})
    if not page:
        return
    by_id = {row["id"]: row for row in page}
    ids = tuple(by_id)
    sums = ", ".join(f"sum(t.{kind}) AS {kind}" for kind in TOKEN_KINDS)
    totals = yield (
        "all",
        f"SELECT a.session_id AS id, sum(t.prompts) AS prompts, {sums}, "
        "sum(t.cost_usd) AS cost_usd FROM agents a JOIN prompt_totals t "
        "ON t.dimension = 'agent' AND t.key = CAST(a.id AS TEXT) "
        f"WHERE a.session_id IN ({placeholders(len(ids))}) GROUP BY a.session_id",
        ids,
    )
    from tac_bootstrap.runtime.transcript_usage import COUNTED_USAGE

    usage_sums = ", ".join(f"sum(su.{kind}) AS {kind}" for kind in TOKEN_KINDS)
    usage = yield (
        "all",
        f"SELECT su.session_id AS id, 0 AS prompts, {usage_sums}, sum(su.cost_usd) AS cost_usd "
        f"FROM session_usage su WHERE {COUNTED_USAGE} "
        f"AND su.session_id IN ({placeholders(len(ids))}) GROUP BY su.session_id",
        ids,
    )
    for found in [*totals, *usage]:
        row = by_id[found["id"]]
        row["prompts"] += integer(found["prompts"])
        for kind in TOKEN_KINDS:
            row[kind] += integer(found[kind])
        row["cost_usd"] = round(row["cost_usd"] + number(found["cost_usd"]), 10)
    for row in page:
        row["tokens"] = sum(row[kind] for kind in TOKEN_KINDS)


def _add_phases(page: list[Row]) -> Query[None]:
    """Each row's phases (its agents' names, the latest attempt's status) and models."""
    for row in page:
        row["phases"], row["models"] = [], []
    if not page:
        return
    by_id = {row["id"]: row for row in page}
    agents = yield (
        "all",
        "SELECT a.session_id AS id, a.name, a.status, a.model, a.created_at FROM agents a "
        f"WHERE a.session_id IN ({placeholders(len(by_id))}) ORDER BY a.created_at, a.id",
        tuple(by_id),
    )
    for agent in agents:
        row = by_id[agent["id"]]
        name = agent["name"] or "agent"
        phases: list[dict[str, Any]] = row["phases"]
        known = next((p for p in phases if p["name"] == name), None)
        if known is None:
            phases.append({"name": name, "status": agent["status"], "attempts": 1})
        else:
            known["status"] = agent["status"]
            known["attempts"] += 1
        if agent["model"] and agent["model"] not in row["models"]:
            row["models"].append(agent["model"])


def run_summary(run_id: str) -> Query[Row | None]:
    """One run's row as the runs list shows it (the live stream's `run` event)."""
    version = yield from _schema_version()
    rows: list[Row] = []
    if version >= RUNS_VERSION:
        found = yield ("one", f"SELECT {_RUN_COLUMNS} FROM runs r WHERE r.adw_id = ?", (run_id,))
        if found is not None:
            rows = [_workflow_row(plain(found))]
    if not rows:
        found = yield (
            "one",
            "SELECT a.session_id AS id, min(a.created_at) AS started, "
            "max(coalesce(a.completed_at, a.started_at, a.created_at)) AS last_seen, "
            f"{_SESSION_STATUS} AS status, "
            "sum(CASE WHEN a.status IN ('pending', 'running') THEN 1 ELSE 0 END) AS active "
            "FROM agents a WHERE a.session_id = ? GROUP BY a.session_id",
            (run_id,),
        )
        if found is None:
            return None
        rows = [_session_row(plain(found))]
    yield from _add_usage(rows)
    yield from _add_phases(rows)
    return rows[0]


def model_names() -> Query[list[str]]:
    """The models the filter offers: every prompt's model (prompt_totals) and agents'."""
    rows = yield (
        "all",
        "SELECT key FROM prompt_totals WHERE dimension = 'model' AND prompts > 0 "
        "UNION SELECT model FROM agents WHERE model IS NOT NULL ORDER BY 1",
        (),
    )
    return [str(row["key"]) for row in rows if row["key"]]


__all__ = ["RunFilters", "model_names", "run_summary", "runs_page"]
