"""Pydantic models of the workflow runs (migration 005): runs, run_checks, webhook deliveries.

A run is one workflow execution (adw_id) from whichever start: a person, a trigger, or a queue
worker. Kept apart from orch_database_models.py (which holds the errors RunExists and
NoFreePort with the others) so neither module grows past a screenful of models. The enums list
exactly the CHECK lists of adws/schema/migrations/005_runs.sql.
"""

from __future__ import annotations

from enum import Enum

from pydantic import Field

from .orch_database_models import JsonObject, NonNegativeInt, Text, Timestamp, _Row


class RunStatus(str, Enum):
    QUEUED = "queued"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


# A run in one of these holds its issue (one active run per issue); running and paused runs
# also hold their port slot. The others are final: finish_run writes them.
ACTIVE_RUN_STATUSES = frozenset({RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.PAUSED})
TERMINAL_RUN_STATUSES = frozenset({RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELLED})


class IssueSource(str, Enum):
    TEXT = "text"  # the issue is the text given on the command line
    GITHUB = "github"  # issue_ref: the issue number, as text
    LOCAL = "local"  # issue_ref: the Markdown file's path relative to the project


class IssueType(str, Enum):
    FEATURE = "feature"
    BUG = "bug"
    CHORE = "chore"


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
