"""What the dashboard's costs page shows: cost and tokens by day, model and run type.

The runtime's own rollups (`OrchestratorDB.rollup`, what `db stats` prints), so the totals
are those of `db stats` by construction (tests/test_dashboard_http.py compares them to the
cent); by day and by model read prompt_totals' few rows. By run type is the rollup by session
with each session named by its run's workflow (`runs.workflow`), "interactive" for the
sessions no run names.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from tac_bootstrap.application.dashboard_queries import INTERACTIVE
from tac_bootstrap.application.dashboard_queries_shared import (
    RUNS_VERSION,
    TOKEN_KINDS,
    DashboardSource,
    Query,
    Row,
    integer,
    number,
)
from tac_bootstrap.domain.errors import UsageError

if TYPE_CHECKING:
    from tac_bootstrap.runtime.adw_db_ops_rollups import RollupBy

COST_GROUPS = ("day", "model", "run_type")


def costs(source: DashboardSource, by: str) -> dict[str, Any]:
    """Cost and tokens grouped by day, model or run type, with totals equal to `db stats`.

    A whole-database rollup reads every transcript message (session_usage has no totals
    table) and, by session, every agent: each grouping is kept with a marker of what it
    depends on that costs a few index reads (prompt_totals' day rows, the newest
    session_usage id, the runs' count and newest change), and computed again only once the
    marker moved. Known limit: rows pruned from session_usage alone do not move it."""
    if by not in COST_GROUPS:
        raise UsageError(f"invalid by {by!r}: use {', '.join(COST_GROUPS)}")
    marker = source.run(_marker(source.schema_version >= RUNS_VERSION))
    cache = source.cost_cache
    kept = cache.get(by)
    if kept is not None and kept[0] == marker:
        return kept[1]
    document = _costs(source, by)
    cache[by] = (marker, document)
    return document


def _marker(with_runs: bool) -> Query[tuple[Any, ...]]:
    sums = ", ".join(f"sum({kind}) AS {kind}" for kind in (*TOKEN_KINDS, "cost_usd", "prompts"))
    totals = yield (
        "one",
        f"SELECT count(*) AS n, {sums} FROM prompt_totals WHERE dimension = 'day'",
        (),
    )
    usage = yield ("one", "SELECT id FROM session_usage ORDER BY id DESC LIMIT 1", ())
    runs = None
    if with_runs:
        runs = yield ("one", "SELECT count(*) AS n, max(updated_at) AS at FROM runs", ())
    return tuple(
        tuple(dict(row).values()) if row is not None else None for row in (totals, usage, runs)
    )


def _costs(source: DashboardSource, by: str) -> dict[str, Any]:
    rollup_by = cast("RollupBy", "session" if by == "run_type" else by)  # checked above
    with source.locked() as db:
        rows = [row.model_dump() for row in db.rollup(rollup_by)]
    if by == "run_type":
        workflows = source.run(_workflows()) if source.schema_version >= RUNS_VERSION else {}
        rows = _grouped(rows, lambda key: workflows.get(key, INTERACTIVE))
    series = sorted(rows, key=lambda r: r["key"]) if by == "day" else rows
    totals: dict[str, float] = {
        name: sum(integer(r[name]) for r in rows) for name in ("prompts", "messages", *TOKEN_KINDS)
    }
    totals["cost_usd"] = round(sum(number(r["cost_usd"]) for r in rows), 10)
    return {"by": by, "series": series, "totals": totals}


def _workflows() -> Query[dict[str, str]]:
    rows = yield ("all", "SELECT adw_id, workflow FROM runs", ())
    return {str(row["adw_id"]): str(row["workflow"]) for row in rows}


def _grouped(rows: list[Row], name: Callable[[str], str]) -> list[Row]:
    groups: dict[str, Row] = {}
    for row in rows:
        key = name(row["key"])
        group = groups.setdefault(key, {"key": key, **dict.fromkeys(row, 0)} | {"key": key})
        for column, value in row.items():
            if column != "key":
                group[column] = group[column] + value
    return sorted(groups.values(), key=lambda r: (-number(r["cost_usd"]), r["key"]))
