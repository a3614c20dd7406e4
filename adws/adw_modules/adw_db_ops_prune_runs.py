"""The part of `prune` that trims what workflow runs leave (migration 005): finished runs with
their checks, and the webhook deliveries the replay guard remembers.

Active runs (queued, running, paused) are never pruned, however old: a paused run waits for an
answer and a queued one for a worker. A finished run goes with its checks when it ended (or,
never started, was last updated) before the cutoff, like a finished agent. Deliveries are kept
at least DELIVERY_MIN_DAYS whatever the cutoff: GitHub redelivers a delivery (same
X-GitHub-Delivery id) for up to 3 days on github.com and 7 on GitHub Enterprise Server, and a
forgotten id would let such a redelivery start a second run.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from .adw_db_ops_shared import Op
from .orch_database_types import format_timestamp

DELIVERY_MIN_DAYS = 7.0
RUN_TABLES = ("runs", "run_checks", "webhook_deliveries")
FINISHED_RUNS = (
    "SELECT adw_id FROM runs WHERE status IN ('completed', 'failed', 'cancelled') "
    "AND coalesce(completed_at, updated_at) < ?"
)
_BATCH = 500  # ids per statement: far below SQLite's 32,766 bound parameters


def delivery_cutoff(now: datetime, older_than_days: float) -> str:
    """Deliveries received before this are pruned: the later of the cutoff and the window."""
    return format_timestamp(now - timedelta(days=max(older_than_days, DELIVERY_MIN_DAYS)))


def count_runs(cutoff: str, deliveries_before: str) -> Op[dict[str, int]]:
    """What prune_runs would delete."""
    counts: dict[str, int] = {}
    row = yield ("one", f"SELECT count(*) AS n FROM ({FINISHED_RUNS}) AS f", (cutoff,))
    counts["runs"] = row["n"]
    row = yield (
        "one",
        f"SELECT count(*) AS n FROM run_checks WHERE adw_id IN ({FINISHED_RUNS})",
        (cutoff,),
    )
    counts["run_checks"] = row["n"]
    row = yield (
        "one",
        "SELECT count(*) AS n FROM webhook_deliveries WHERE received_at < ?",
        (deliveries_before,),
    )
    counts["webhook_deliveries"] = row["n"]
    return counts


def prune_runs(cutoff: str, deliveries_before: str) -> Op[dict[str, int]]:
    """Delete finished runs before `cutoff` with their checks (counted, not left to ON DELETE
    CASCADE), and deliveries received before `deliveries_before`. The runs are locked first,
    so a run being reopened meanwhile either waits or is not among them."""
    rows = yield ("all", f"{FINISHED_RUNS} {{for_update}}", (cutoff,))
    ids = [row["adw_id"] for row in rows]
    counts = dict.fromkeys(RUN_TABLES, 0)
    for start in range(0, len(ids), _BATCH):
        batch = tuple(ids[start : start + _BATCH])
        marks = ", ".join("?" * len(batch))
        counts["run_checks"] += yield (
            "exec",
            f"DELETE FROM run_checks WHERE adw_id IN ({marks})",
            batch,
        )
        # The status is checked again: a run reopened between the SELECT and here (SQLite
        # holds the write lock throughout; PostgreSQL's row lock makes the reopen wait).
        counts["runs"] += yield (
            "exec",
            f"DELETE FROM runs WHERE adw_id IN ({marks}) "
            "AND status IN ('completed', 'failed', 'cancelled')",
            batch,
        )
    counts["webhook_deliveries"] += yield (
        "exec",
        "DELETE FROM webhook_deliveries WHERE received_at < ?",
        (deliveries_before,),
    )
    return counts
