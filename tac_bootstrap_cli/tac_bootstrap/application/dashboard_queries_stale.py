"""A running run that crashed is shown as "stale", as `tac-bootstrap runs` shows it.

The runs table says running until someone records the end; a run nothing keeps alive (no
live lease, no recent heartbeat, no process of its own or in its worktree:
runs_service.is_stale) will never record it. Only the rows shown are checked: a page's
running workflow runs, one query for their records.
"""

from __future__ import annotations

from tac_bootstrap.application.dashboard_queries_shared import Query, Row, placeholders
from tac_bootstrap.application.runs_service import STALE, is_stale
from tac_bootstrap.runtime.orch_run_models import RunRecord


def mark_stale(rows: list[Row], lease_seconds: float) -> Query[None]:
    """Set `recorded_status` on every row, and `status` "stale" on crashed running runs."""
    for row in rows:
        row.setdefault("recorded_status", row["status"])
    running = {r["id"]: r for r in rows if r["kind"] == "workflow" and r["status"] == "running"}
    if not running:
        return
    ids = tuple(running)
    found = yield ("all", f"SELECT * FROM runs WHERE adw_id IN ({placeholders(len(ids))})", ids)
    for record_row in found:
        record = RunRecord.model_validate(dict(record_row))
        if is_stale(record, lease_seconds):
            running[record.adw_id]["status"] = STALE
