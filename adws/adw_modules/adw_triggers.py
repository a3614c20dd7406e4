"""What the triggers (webhook, poller, launcher) share: turning an issue into a queued run.

Triggers never run a workflow themselves: they add a `queued` row to the runs table and the
workers claim it (run_worker.py). The database decides every race: the partial unique index on
(issue_source, issue_ref) over active runs refuses a second active run for the same issue,
whichever receiver, poller or machine asked first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .adw_database import OrchestratorDB
from .adw_state import new_adw_id
from .orch_database_types import OrchestratorError, RunExists
from .orch_run_models import RunRecord

ACTIVE = ("queued", "running", "paused")
FINISHED = ("completed", "failed", "cancelled")
DEFAULT_WORKFLOW = "sdlc_ship"
# GitHub's author_association values of people with write access to the repository: only
# they may start paid agent runs by a comment (anyone can comment on a public repository).
TRUSTED_ASSOCIATIONS = frozenset({"OWNER", "MEMBER", "COLLABORATOR"})
# Scripts in the adws dir that are not workflows a trigger may start.
NOT_WORKFLOWS = frozenset({"trigger_webhook", "trigger_poll", "launch", "worker"})
_WORKFLOW_NAME = re.compile(r"[a-z][a-z0-9_]{0,40}")
_COMMAND = re.compile(r"/?adw(?:\s+(\S+))?", re.IGNORECASE)
# Enough rows to see every run of an issue on one page (list_runs is newest first).
RUN_LOOKUP_LIMIT = 10_000


class TriggerError(OrchestratorError):
    """A trigger could not enqueue or re-queue a run (one clear line)."""


@dataclass(frozen=True)
class Enqueued:
    adw_id: str
    created: bool  # False: the issue already had an active run, and adw_id is that run's
    status: str


def parse_command(body: str) -> str | None:
    """The workflow a comment asks for: `adw` or `/adw` → "" (the default), `/adw patch` →
    "patch"; None when the comment is no command. Only the first non-empty line counts."""
    first = next((line.strip() for line in body.splitlines() if line.strip()), "")
    match = _COMMAND.fullmatch(first)
    if match is None:
        return None
    return (match.group(1) or "").lower()


def valid_workflow(name: str, adws_dir: Path | None) -> bool:
    """A workflow name a trigger may enqueue: a plain name whose script exists (when the
    adws dir is known), never one of the trigger or worker scripts themselves."""
    if not _WORKFLOW_NAME.fullmatch(name) or name in NOT_WORKFLOWS:
        return False
    return adws_dir is None or (adws_dir / f"adw_{name}.py").is_file()


def _of_issue(runs: Iterable[RunRecord], source: str, ref: str) -> list[RunRecord]:
    return [run for run in runs if run.issue_source == source and run.issue_ref == ref]


def runs_for_issue(db: OrchestratorDB, source: str, ref: str) -> list[RunRecord]:
    """Every run of the issue, newest first."""
    return _of_issue(db.list_runs(limit=RUN_LOOKUP_LIMIT), source, ref)


def active_run(db: OrchestratorDB, source: str, ref: str) -> RunRecord | None:
    """The issue's queued, running or paused run (the unique index allows one at most)."""
    found = _of_issue(db.list_runs(status=ACTIVE, limit=RUN_LOOKUP_LIMIT), source, ref)
    return found[0] if found else None


def enqueue_issue(
    db: OrchestratorDB,
    *,
    source: str,
    ref: str,
    title: str,
    workflow: str,
    details: Mapping[str, Any] | None = None,
) -> Enqueued:
    """A queued run for the issue, or the issue's active run when it has one already."""
    for _ in range(3):  # a fresh adw_id colliding with an old one: draw again
        try:
            run = db.create_run(
                new_adw_id(),
                workflow,
                status="queued",
                issue_source=source,
                issue_ref=ref,
                issue_title=title,
                details=dict(details or {}),
            )
        except RunExists:
            existing = active_run(db, source, ref)
            if existing is not None:
                return Enqueued(existing.adw_id, False, existing.status.value)
            continue
        return Enqueued(run.adw_id, True, run.status.value)
    raise TriggerError(f"could not enqueue {source} issue {ref}: no free adw_id after 3 tries")


def requeue_paused(db: OrchestratorDB, adw_id: str, reason: Mapping[str, Any]) -> bool:
    """Put a paused run back in the queue (its question was answered); False when it is no
    longer paused (another trigger re-queued it first, or it was cancelled)."""
    run = db.get_run(adw_id)
    if run is None or run.status != "paused":
        return False
    db.update_run(adw_id, status="queued", details={"requeued": dict(reason)})
    return True
