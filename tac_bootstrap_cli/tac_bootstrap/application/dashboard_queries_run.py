"""What the dashboard's page of one run shows: its agents as a timeline, its prompts, and its
hook events with each tool call paired with its result.

A run is a workflow run (an adw_id, the session of its agents) or an interactive session (a
Claude Code session id). Every query reaches rows through the run's agents (idx_agents_session,
idx_agents_adw), then their prompts (idx_prompts_agent) and logs (idx_agent_logs_agent), so a
run's page reads that run's rows only, whatever the database holds.

Events are ordered by their insertion number (`{seq}`: SQLite's rowid, PostgreSQL's identity
column), which is also the events API's cursor.
"""

from __future__ import annotations

from typing import Any

from tac_bootstrap.application.dashboard_queries import run_summary
from tac_bootstrap.application.dashboard_queries_shared import (
    TOKEN_KINDS,
    Query,
    Row,
    integer,
    json_object,
    millis,
    number,
    placeholders,
    plain,
)
from tac_bootstrap.domain.errors import UsageError

PROMPT_LIMIT = 500
EVENT_LIMIT = 500
SCAN_LIMIT = 5_000  # log rows one events request reads at most (a selective tool filter)
TEXT_PREVIEW = 4000  # characters of a prompt or response the page shows
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
RUN_AGENTS = "SELECT id FROM agents WHERE session_id = ? OR adw_id = ?"
PROMPT_COLUMNS = (
    "p.id, p.agent_id, p.model, p.status, p.input_tokens, p.output_tokens, "
    "p.cache_creation_tokens, p.cache_read_tokens, p.cost_usd, p.latency_ms, p.error_message, "
    "p.failure_kind, p.cli_retries, p.created_at, p.completed_at, "
    f"substr(p.prompt_text, 1, {TEXT_PREVIEW}) AS prompt_text, "
    f"substr(p.response_text, 1, {TEXT_PREVIEW}) AS response_text"
)
LOG_COLUMNS = (
    "l.{seq} AS seq, l.id, l.agent_id, l.log_type, l.log_level, l.message, l.details, "
    "l.tool_use_id, l.created_at, "
    "(SELECT an.name FROM agents an WHERE an.id = l.agent_id) AS agent_name"
)


def run_detail(run_id: str) -> Query[Row | None]:
    """The run (as the runs list shows it), its agents and its first prompts; None: unknown."""
    summary = yield from run_summary(run_id)
    if summary is None:
        return None
    agents = yield from _agents(run_id)
    retries = yield from _retries(run_id)
    for agent in agents:
        agent["cli_retries"] = retries.get(agent["id"], 0)
    prompts = yield from prompts_of(run_id, limit=PROMPT_LIMIT)
    return {"run": summary, "agents": agents, "prompts": prompts}


def _agents(run_id: str) -> Query[list[Row]]:
    rows = yield (
        "all",
        "SELECT id, name, status, model, session_id, adw_id, context, input_tokens, "
        "output_tokens, cache_creation_tokens, cache_read_tokens, total_cost_usd, "
        "error_message, created_at, started_at, completed_at FROM agents "
        "WHERE session_id = ? OR adw_id = ? ORDER BY created_at, id",
        (run_id, run_id),
    )
    agents = []
    for row in rows:
        agent = plain(row)
        context = json_object(agent.pop("context"))
        attempt = context.get("attempt")
        attempt = attempt if isinstance(attempt, int) and not isinstance(attempt, bool) else 1
        start = agent["started_at"] or agent["created_at"]
        agent.update(
            {
                "phase": str(context.get("phase") or agent["name"] or ""),
                "attempt": max(attempt, 1),
                "retries": max(attempt, 1) - 1,
                "start": start,
                "end": agent["completed_at"],
                "duration_ms": (
                    max(0, millis(agent["completed_at"]) - millis(start))
                    if agent["completed_at"]
                    else None
                ),
                "cost_usd": number(agent.pop("total_cost_usd")),
            }
        )
        agents.append(agent)
    return agents


def _retries(run_id: str) -> Query[dict[str, int]]:
    """The CLI's own retries (rate limits, overload) summed over each agent's prompts."""
    rows = yield (
        "all",
        "SELECT p.agent_id, sum(p.cli_retries) AS retries FROM prompts p "
        f"WHERE p.agent_id IN ({RUN_AGENTS}) GROUP BY p.agent_id",
        (run_id, run_id),
    )
    return {str(plain(row)["agent_id"]): integer(row["retries"]) for row in rows}


def prompts_of(run_id: str, *, limit: int = PROMPT_LIMIT) -> Query[list[Row]]:
    """The run's prompts in the order they were sent, with every token kind and cost."""
    rows = yield (
        "all",
        f"SELECT {PROMPT_COLUMNS} FROM prompts p WHERE p.agent_id IN ({RUN_AGENTS}) "
        "ORDER BY p.created_at, p.id LIMIT ?",
        (run_id, run_id, limit),
    )
    return [prompt_row(row) for row in rows]


def prompt_row(row: Any) -> Row:
    prompt = plain(row)
    prompt["cost_usd"] = number(prompt["cost_usd"])
    prompt["tokens"] = sum(integer(prompt[kind]) for kind in TOKEN_KINDS)
    return prompt


# -- events -----------------------------------------------------------------------------------


def parse_after(value: str | None) -> int:
    if not value:
        return 0
    try:
        after = int(value)
    except ValueError:
        raise UsageError("invalid after: the seq of the last event seen (a number)") from None
    return max(after, 0)


def events_of(
    run_id: str,
    *,
    tool: str | None = None,
    level: str | None = None,
    agent: str | None = None,
    after: int = 0,
    limit: int = EVENT_LIMIT,
) -> Query[dict[str, Any]]:
    """The run's hook and lifecycle events after seq `after`, oldest first, each tool call
    with its result (`result`); a result whose call is listed is not listed again.
    `tool` is matched against the event's tool name (details.tool_name), in Python: the
    engines keep JSON differently, and one run's events are few."""
    if level is not None and level.upper() not in LOG_LEVELS:
        raise UsageError(f"invalid level {level!r}: use {', '.join(LOG_LEVELS)}")
    where, params = [f"l.agent_id IN ({RUN_AGENTS})"], [run_id, run_id]
    if level:
        where.append("l.log_level = ?")
        params.append(level.upper())
    if agent:
        where.append("CAST(l.agent_id AS TEXT) = ?")
        params.append(agent)
    found: list[Row] = []
    cursor, scanned, exhausted = after, 0, False
    # A selective tool filter reads at most SCAN_LIMIT rows per request; the cursor then says
    # where the next request goes on.
    while len(found) < limit and scanned < SCAN_LIMIT:
        rows = yield (
            "all",
            f"SELECT {LOG_COLUMNS} FROM agent_logs l WHERE {' AND '.join(where)} "
            "AND l.{seq} > ? ORDER BY l.{seq} LIMIT ?",
            (*params, cursor, limit),
        )
        scanned += len(rows)
        for row in rows:
            event = event_row(row)
            cursor = event["seq"]
            if tool is None or event["tool"] == tool:
                found.append(event)
            if len(found) == limit:
                break
        if len(rows) < limit:
            exhausted = len(found) < limit
            break
    page = found[:limit]
    events = yield from pair_results(page)
    # The last seq read (matching or not): more may follow unless the table ran out.
    last_seq = cursor if page or not exhausted else after
    more = not exhausted and cursor > after
    return {"events": events, "next": str(cursor) if more else None, "last_seq": last_seq}


def event_row(row: Any) -> Row:
    event = plain(row)
    event["seq"] = integer(event["seq"])
    details = json_object(event.get("details"))
    event["details"] = details
    tool = details.get("tool_name")
    event["tool"] = tool if isinstance(tool, str) else None
    event["result"] = None
    event["call_id"] = None
    # The names the page's columns and the browser script use (dashboard.js).
    event["timestamp"] = event["created_at"]
    event["level"] = event["log_level"]
    event["agent"] = str(event["agent_id"])
    hook = details.get("hook_event_name")
    event["event"] = hook if isinstance(hook, str) and hook else event["log_type"]
    return event


def pair_results(events: list[Row]) -> Query[list[Row]]:
    """Attach each tool call's result (same tool_use_id) and drop that result from the list;
    a result listed without its call (on a later page, or live) names it in `call_id`."""
    calls = {
        e["tool_use_id"]: e for e in events if e["log_type"] == "tool_call" and e["tool_use_id"]
    }
    if calls:
        ids = tuple(calls)
        rows = yield (
            "all",
            f"SELECT {LOG_COLUMNS} FROM agent_logs l WHERE l.log_type = 'tool_result' "
            f"AND l.tool_use_id IN ({placeholders(len(ids))}) ORDER BY l.{{seq}}",
            ids,
        )
        for row in rows:
            result = event_row(row)
            calls[result["tool_use_id"]]["result"] = result
    paired = {c["result"]["id"] for c in calls.values() if c["result"] is not None}
    listed = [e for e in events if e["id"] not in paired]
    yield from name_calls([e for e in listed if e["log_type"] == "tool_result"])
    return listed


def name_calls(results: list[Row]) -> Query[None]:
    """Set `call_id` on results whose tool call is not beside them."""
    wanted = {e["tool_use_id"]: e for e in results if e["tool_use_id"]}
    if not wanted:
        return
    ids = tuple(wanted)
    rows = yield (
        "all",
        f"SELECT l.id, l.tool_use_id FROM agent_logs l WHERE l.log_type = 'tool_call' "
        f"AND l.tool_use_id IN ({placeholders(len(ids))})",
        ids,
    )
    for row in rows:
        found = plain(row)
        wanted[found["tool_use_id"]]["call_id"] = str(found["id"])


def tool_names(events: list[Row]) -> list[str]:
    return sorted({e["tool"] for e in events if e["tool"]})


__all__ = ["events_of", "prompts_of", "run_detail"]
