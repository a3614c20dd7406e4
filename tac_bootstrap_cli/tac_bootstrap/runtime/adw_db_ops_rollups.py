"""Database operations that read or trim the whole database: cost rollups, prune, counts.

Operations are generators of SQL steps (adw_db_ops_shared); adw_db_operations re-exports them.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Literal

from .adw_db_ops_prune_runs import count_runs, delivery_cutoff, prune_runs
from .adw_db_ops_shared import (
    TABLE_SINCE,
    TOKEN_KINDS,
    Op,
    _batch_validator,
    schema_level,
    tables_at,
)
from .orch_database_types import InvalidInput, format_timestamp

if TYPE_CHECKING:
    from .orch_database_models import RollupRow

RollupBy = Literal["session", "agent", "model", "day"]
ROLLUP_KEYS: dict[str, str] = {
    "session": "a.session_id",
    "agent": "a.id",
    "model": "coalesce(p.model, 'unknown')",
    "day": "{day}",
}


# The same groupings for transcript usage (session_usage rows, alias su).
USAGE_ROLLUP_KEYS: dict[str, str] = {
    "session": "su.session_id",
    "agent": "coalesce(CAST(su.agent_id AS TEXT), 'unknown')",
    "model": "su.model",
    "day": "{usage_day}",
}


# Migration 004 added prompt_totals (kept current by triggers on prompts): a rollup of the whole
# database reads its few rows instead of every prompt. A database not migrated yet (`db stats`
# opens without migrating) is answered from the prompts themselves.
TOTALS_VERSION = 4
_TOTALS_DIMENSION = {"session": "agent", "agent": "agent", "model": "model", "day": "day"}


def rollup(by: RollupBy, *, session_id: str | None = None) -> Op[list[RollupRow]]:
    """Cost and tokens grouped by session, agent, model or UTC day: workflow prompts, and
    the transcript usage of sessions no prompt ran (interactive ones, session_usage).

    A CLI session that belongs to a workflow prompt is counted once, from the prompt: its
    result line is complete where its transcript is not (COUNTED_USAGE)."""
    from .orch_database_models import RollupRow

    if by not in ROLLUP_KEYS:
        raise InvalidInput(f"invalid rollup: {by!r} is not one of {', '.join(ROLLUP_KEYS)}")
    where, params = ("WHERE a.session_id = ?", (session_id,)) if session_id else ("", ())
    key = "CAST(a.id AS TEXT)" if by == "agent" else ROLLUP_KEYS[by]
    totals = False
    if session_id is None:
        row = yield ("one", "SELECT max(version) AS version FROM schema_migrations", ())
        totals = row is not None and (row["version"] or 0) >= TOTALS_VERSION
    prompts = _total_groups(by) if totals else _prompt_groups(key, where)
    prompt_params = params
    if by == "model":
        prompts += " UNION ALL " + _model_share_moves(key, where)
        prompt_params = (*params, *params, *params)  # `where` is in the moves twice
    outer = ", ".join(f"CAST(sum({kind}) AS BIGINT) AS {kind}" for kind in TOKEN_KINDS)
    rows = yield (
        "all",
        "SELECT key, CAST(sum(prompts) AS BIGINT) AS prompts, "
        f"CAST(sum(messages) AS BIGINT) AS messages, {outer}, "
        # A model's share moved back and forth can leave a float residue of -1e-18 for 0.
        "CASE WHEN sum(cost_usd) < 0 THEN 0 ELSE sum(cost_usd) END AS cost_usd, "
        "CAST(sum(unpriced_messages) AS BIGINT) AS unpriced_messages "
        f"FROM ({prompts} UNION ALL {_usage_groups(by, session_id)}) AS grouped "
        "GROUP BY key ORDER BY cost_usd DESC, key",
        (*prompt_params, *params),
    )
    # One validation for the whole list: a rollup by agent can have thousands of rows.
    rollup_rows: list[RollupRow] = _batch_validator(RollupRow).validate_python(
        [dict(r) for r in rows]
    )
    return rollup_rows


def _prompt_groups(key: str, where: str) -> str:
    """Prompts grouped by `key`, read from the prompts' covering index (a session's few
    prompts, or every prompt of a database without prompt_totals)."""
    sums = ", ".join(f"CAST(sum(p.{kind}) AS BIGINT) AS {kind}" for kind in TOKEN_KINDS)
    return (
        f"SELECT {key} AS key, count(*) AS prompts, 0 AS messages, {sums}, "
        "sum(p.cost_usd) AS cost_usd, 0 AS unpriced_messages "
        f"FROM agents a JOIN prompts p ON p.agent_id = a.id {where} GROUP BY 1"
    )


def _total_groups(by: str) -> str:
    """The same groups from prompt_totals; a session's are the sum of its agents' rows."""
    dimension = _TOTALS_DIMENSION[by]
    if by == "session":
        sums = ", ".join(f"CAST(sum(t.{kind}) AS BIGINT) AS {kind}" for kind in TOKEN_KINDS)
        return (
            "SELECT a.session_id AS key, CAST(sum(t.prompts) AS BIGINT) AS prompts, "
            f"0 AS messages, {sums}, sum(t.cost_usd) AS cost_usd, 0 AS unpriced_messages "
            "FROM prompt_totals t JOIN agents a ON t.key = CAST(a.id AS TEXT) "
            "WHERE t.dimension = 'agent' AND t.prompts > 0 GROUP BY 1"
        )
    columns = ", ".join(f"t.{kind}" for kind in TOKEN_KINDS)
    return (
        f"SELECT t.key AS key, t.prompts, 0 AS messages, {columns}, t.cost_usd, "
        f"0 AS unpriced_messages FROM prompt_totals t "
        f"WHERE t.dimension = '{dimension}' AND t.prompts > 0"
    )


def _model_share_moves(key: str, where: str) -> str:
    """Rows moving each model's share of a prompt from the prompt's main model to its own.

    A prompt that used several models has one prompt_model_usage row per model (they sum to
    the prompt's totals), so every model gets its own tokens and cost and the totals stay the
    prompts'. Only such prompts have shares, so this reads few rows. The few share rows lead,
    not the session's every prompt (each would need a table lookup for its id):
    {ordered_join} keeps the written order."""
    shares = "FROM prompt_model_usage u {ordered_join} prompts p ON p.id = u.prompt_id "
    shares += f"{{ordered_join}} agents a ON a.id = p.agent_id {where}"
    moved = ", ".join(f"CAST(sum(u.{kind}) AS BIGINT) AS {kind}" for kind in TOKEN_KINDS)
    taken = ", ".join(f"CAST(-sum(u.{kind}) AS BIGINT) AS {kind}" for kind in TOKEN_KINDS)
    return (
        f"SELECT u.model AS key, 0, 0, {moved}, sum(u.cost_usd), 0 {shares} GROUP BY 1 "
        f"UNION ALL SELECT {key} AS key, 0, 0, {taken}, -sum(u.cost_usd), 0 {shares} GROUP BY 1"
    )


def _usage_groups(by: str, session_id: str | None) -> str:
    """Transcript usage of the sessions no prompt ran, grouped the same way.

    Every priced message has a cost > 0 (it has tokens, every rate is > 0): cost 0 means
    its model has no price (transcripts.PRICES)."""
    # Here, not at the top: opening a database (db status, doctor) must not load the
    # transcript importer (tests/test_startup_imports.py).
    from .transcripts import COUNTED_USAGE

    usage_sums = ", ".join(f"CAST(sum(su.{kind}) AS BIGINT) AS {kind}" for kind in TOKEN_KINDS)
    return (
        f"SELECT {USAGE_ROLLUP_KEYS[by]} AS key, 0 AS prompts, count(*) AS messages, "
        f"{usage_sums}, sum(su.cost_usd) AS cost_usd, "
        "sum(CASE WHEN su.cost_usd = 0 THEN 1 ELSE 0 END) AS unpriced_messages "
        f"FROM session_usage su WHERE {COUNTED_USAGE}"
        + (" AND su.session_id = ?" if session_id else "")
        + " GROUP BY 1"
    )


def prune(older_than_days: float, *, dry_run: bool = False) -> Op[dict[str, int]]:
    """Delete log lines, finished agents (with their prompts, logs and transcript usage) and
    finished workflow runs (with their checks) older than N days, and webhook deliveries
    older than N days but at least the redelivery window (adw_db_ops_prune_runs)."""
    if not isinstance(older_than_days, (int, float)) or older_than_days < 0:
        raise InvalidInput(f"invalid older_than_days: must be >= 0 (got {older_than_days!r})")
    now = datetime.now(timezone.utc)
    cutoff = format_timestamp(now - timedelta(days=older_than_days))
    level = yield from schema_level()
    counts = yield from _prune_agents(cutoff, dry_run)
    if level >= TABLE_SINCE["runs"]:
        deliveries_before = delivery_cutoff(now, older_than_days)
        step = count_runs if dry_run else prune_runs
        counts.update((yield from step(cutoff, deliveries_before)))
    return counts


def _prune_agents(cutoff: str, dry_run: bool) -> Op[dict[str, int]]:
    finished = (
        "SELECT id FROM agents WHERE status IN ('completed', 'failed', 'cancelled') "
        "AND coalesce(completed_at, created_at) < ?"
    )
    if not dry_run:
        return (yield from _prune_counting_deletes(cutoff, finished))
    counts: dict[str, int] = {}
    row = yield ("one", f"SELECT count(*) AS n FROM ({finished}) AS f", (cutoff,))
    counts["agents"] = row["n"]
    row = yield (
        "one",
        f"SELECT count(*) AS n FROM prompts WHERE agent_id IN ({finished})",
        (cutoff,),
    )
    counts["prompts"] = row["n"]
    row = yield (
        "one",
        f"SELECT count(*) AS n FROM agent_logs WHERE created_at < ? OR agent_id IN ({finished})",
        (cutoff, cutoff),
    )
    counts["agent_logs"] = row["n"]
    row = yield ("one", "SELECT count(*) AS n FROM system_logs WHERE created_at < ?", (cutoff,))
    counts["system_logs"] = row["n"]
    row = yield (
        "one",
        f"SELECT count(*) AS n FROM session_usage WHERE agent_id IN ({finished})",
        (cutoff,),
    )
    counts["session_usage"] = row["n"]
    return counts


_PRUNE_BATCH = 500  # ids per statement: far below SQLite's 32,766 bound parameters


def _prune_counting_deletes(cutoff: str, finished: str) -> Op[dict[str, int]]:
    """Delete, counting what each DELETE itself removed (its rowcount): a count taken first
    sees another snapshot than the DELETE on PostgreSQL, where writers go on meanwhile.

    The finished agents are locked and listed first, so that the agents deleted are exactly
    those whose prompts, logs and usage were deleted (and counted) before them: nothing is
    left for ON DELETE CASCADE to remove uncounted, and a writer adding a row for one of them
    waits for the lock (then fails its foreign key, as with any deleted agent)."""
    rows = yield ("all", f"{finished} {{for_update}}", (cutoff,))
    ids = [row["id"] for row in rows]
    counts = dict.fromkeys(("agents", "prompts", "agent_logs", "system_logs", "session_usage"), 0)
    counts["agent_logs"] += yield ("exec", "DELETE FROM agent_logs WHERE created_at < ?", (cutoff,))
    counts["system_logs"] += yield (
        "exec",
        "DELETE FROM system_logs WHERE created_at < ?",
        (cutoff,),
    )
    for start in range(0, len(ids), _PRUNE_BATCH):
        batch = ids[start : start + _PRUNE_BATCH]
        marks = ", ".join("?" * len(batch))
        # session_usage.agent_id is ON DELETE SET NULL: the usage of a deleted agent goes first.
        for table, column in (
            ("session_usage", "agent_id"),
            ("agent_logs", "agent_id"),
            ("prompts", "agent_id"),
            ("agents", "id"),
        ):
            counts[table] += yield (
                "exec",
                f"DELETE FROM {table} WHERE {column} IN ({marks})",
                tuple(batch),
            )
    return counts


def run_budgets(*, session_id: str | None = None) -> Op[dict[str, float]]:
    """The budget (agentic.run_budget_usd) each workflow run was started with, by session;
    runs without one are left out."""
    where, params = ("AND session_id = ?", (session_id,)) if session_id else ("", ())
    rows = yield (
        "all",
        f"SELECT session_id, context FROM agents WHERE adw_id IS NOT NULL {where}",
        params,
    )
    budgets: dict[str, float] = {}
    for row in rows:
        context = row["context"]
        if isinstance(context, str):
            context = json.loads(context)
        budget = context.get("run_budget_usd") if isinstance(context, dict) else None
        if isinstance(budget, (int, float)) and not isinstance(budget, bool) and budget > 0:
            budgets[row["session_id"]] = float(budget)
    return budgets


def table_counts() -> Op[dict[str, int]]:
    """Rows per table, of the tables the database's schema version has."""
    level = yield from schema_level()
    counts = {}
    for table in tables_at(level):
        row = yield ("one", f"SELECT count(*) AS n FROM {table}", ())
        counts[table] = row["n"]
    return counts
