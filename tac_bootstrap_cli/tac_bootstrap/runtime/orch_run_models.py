"""Pydantic models of the workflow runs (migration 005): runs, run_checks, webhook deliveries.

A run is one workflow execution (adw_id) from whichever start: a person, a trigger, or a queue
worker. Kept apart from orch_database_models.py so neither module grows past a screenful of
models. The run enums (the CHECK lists of adws/schema/migrations/005_runs.sql) live in
orch_database_types.py with the errors RunExists and NoFreePort, and are re-exported here.
"""

from __future__ import annotations

from pydantic import Field

from .orch_database_models import JsonObject, NonNegativeInt, Text, Timestamp, _Row

# Re-exported: code written against this module before the split imports them from here.
from .orch_database_types import ACTIVE_RUN_STATUSES as ACTIVE_RUN_STATUSES
from .orch_database_types import TERMINAL_RUN_STATUSES as TERMINAL_RUN_STATUSES
from .orch_database_types import IssueSource as IssueSource
from .orch_database_types import IssueType as IssueType
from .orch_database_types import RunStatus as RunStatus


class RunRecord(_Row):
    """One row of `runs`: a workflow run, where it works, and who holds it (the queue)."""

    adw_id: Text
    workflow: Text
    status: RunStatus
    issue_source: IssueSource = IssueSource.TEXT
    issue_ref: str | None = None
    issue_title: str = ""
    issue_type: IssueType | None = None
    base_branch: str | None = None
    branch: str | None = None
    worktree: str | None = None  # absolute path
    port_base: int | None = None
    worker_id: str | None = None  # the worker that claimed it last
    lease_expires_at: Timestamp | None = None  # None: no worker holds it (never requeued)
    heartbeat_at: Timestamp | None = None
    claims: NonNegativeInt = 0
    pr_url: str | None = None
    error: str | None = None
    details: JsonObject = Field(default_factory=dict)
    created_at: Timestamp
    updated_at: Timestamp
    started_at: Timestamp | None = None
    completed_at: Timestamp | None = None

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_RUN_STATUSES


class CheckRecord(_Row):
    """One run of a project command (test, lint, typecheck) by a phase of a run: the exit
    code decides, never the agent's word; exit_code None: it timed out or could not start."""

    id: str
    adw_id: Text
    phase: Text
    attempt: int = Field(ge=1)
    name: Text
    command: str
    exit_code: int | None = None
    timed_out: bool = False
    duration_ms: NonNegativeInt = 0
    output: str = ""
    created_at: Timestamp

    @property
    def passed(self) -> bool:
        return self.exit_code == 0 and not self.timed_out
