"""`tac-bootstrap clean`: remove the worktrees of finished runs, never losing work.

A finished run (completed, failed, cancelled) loses its worktree; its branch goes too when it
is merged into the base branch. A worktree with uncommitted work is kept and reported unless
``force``: then a patch of that work (staged, unstaged and untracked files) is written first
into the run's own directory, <logs_dir>/adw/<adw_id>/, and an unmerged branch is kept there as
a git bundle before it is deleted. A stale run (crashed while running) is cleaned only with
``force``; a live, queued or paused run never is. The history (the runs row, the state file)
stays; the row's details note what was removed and where the backups are.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path
from typing import Any

from tac_bootstrap.application import database_service as service
from tac_bootstrap.application.runs_service import FINISHED, STALE, ProjectRuns, RunRow, read_runs
from tac_bootstrap.domain.errors import UsageError
from tac_bootstrap.runtime.adw_git import GitError
from tac_bootstrap.runtime.adw_worktree import discard_worktree, worktree_dirty
from tac_bootstrap.runtime.orch_database_types import utc_now


class CleanAction(str, Enum):
    REMOVE = "remove"  # planned; after apply: removed (or, in a dry run, would be)
    REMOVED = "removed"
    KEEP = "keep"  # uncommitted work or a stale run without --force: exit 1
    SKIP = "skip"  # active (running, queued, paused) or nothing to remove
    FAILED = "failed"  # git refused; the message says why
    UNKNOWN = "unknown"  # no run with that adw_id


STALE_ERROR = "stale (crashed while running): its worktree was removed by clean --force"
PROBLEMS = frozenset({CleanAction.KEEP, CleanAction.FAILED, CleanAction.UNKNOWN})


@dataclass(frozen=True)
class CleanItem:
    adw_id: str
    status: str
    action: CleanAction
    reason: str
    worktree: str | None = None
    branch: str | None = None
    dirty: bool = False
    branch_deleted: bool = False
    patch: str | None = None
    bundle: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "adw_id": self.adw_id,
            "status": self.status,
            "action": self.action.value,
            "reason": self.reason,
            "worktree": self.worktree,
            "branch": self.branch,
            "dirty": self.dirty,
            "branch_deleted": self.branch_deleted,
            "patch": self.patch,
            "bundle": self.bundle,
        }


@dataclass(frozen=True)
class CleanPlan:
    found: ProjectRuns
    items: list[CleanItem]
    force: bool

    @property
    def removals(self) -> list[CleanItem]:
        return [item for item in self.items if item.action is CleanAction.REMOVE]


@dataclass(frozen=True)
class CleanReport:
    root: Path
    items: list[CleanItem]
    dry_run: bool
    backup_dir: Path  # each run's backups are in <backup_dir>/<adw_id>/
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(item.action in PROBLEMS for item in self.items)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "project": str(self.root),
            "dry_run": self.dry_run,
            "backup_dir": str(self.backup_dir),
            "items": [item.to_dict() for item in self.items],
            "warnings": list(self.warnings),
        }


def plan_clean(
    project: Path | None, adw_ids: list[str], *, all_finished: bool = False, force: bool = False
) -> CleanPlan:
    """What `clean` would do. No adw_id (or ``all_finished``): every finished run that still
    has a worktree, and the stale ones; named runs are looked at whatever their status."""
    found = read_runs(project)
    by_id = {run.adw_id: run for run in found.runs}
    items: list[CleanItem] = []
    for adw_id in dict.fromkeys(adw_ids):
        run = by_id.get(adw_id)
        if run is None:
            items.append(CleanItem(adw_id, "", CleanAction.UNKNOWN, "no run with this adw_id"))
        else:
            items.append(_judge(found.root, run, force, named=True))
    if all_finished or not adw_ids:
        named = set(adw_ids)
        for run in found.runs:
            if run.adw_id in named or run.status not in {*FINISHED, STALE}:
                continue
            if run.worktree_exists:
                items.append(_judge(found.root, run, force, named=False))
    return CleanPlan(found, items, force)


def _judge(root: Path, run: RunRow, force: bool, *, named: bool) -> CleanItem:
    """The planned action for one run (see the module docstring)."""
    item = CleanItem(run.adw_id, run.status, CleanAction.SKIP, "", run.worktree, run.branch)
    if not run.worktree or Path(run.worktree).resolve() == root.resolve():
        return replace(item, reason="it works in the checkout itself: no worktree to remove")
    if run.status not in {*FINISHED, STALE}:
        why = f"the run is {run.status}; only finished or stale runs are cleaned"
        return replace(item, action=CleanAction.KEEP if named else CleanAction.SKIP, reason=why)
    if not run.worktree_exists:
        return replace(
            item, action=CleanAction.REMOVE, reason="its worktree is gone: git forgets it"
        )
    try:
        dirty = worktree_dirty(Path(run.worktree))
    except GitError as exc:
        return replace(item, action=CleanAction.FAILED, reason=str(exc))
    item = replace(item, dirty=dirty)
    if run.status == STALE and not force:
        return replace(
            item,
            action=CleanAction.KEEP,
            reason="stale: running, but no worker or process keeps it alive (crashed?); "
            "resume it with --adw-id, or remove it with --force",
        )
    if dirty and not force:
        return replace(
            item,
            action=CleanAction.KEEP,
            reason="uncommitted work in the worktree; commit it, or --force (a patch backup "
            "is written first)",
        )
    reason = "finished" if run.status in FINISHED else "stale, removed by --force"
    return replace(
        item, action=CleanAction.REMOVE, reason=reason + (", dirty: backed up" if dirty else "")
    )


def apply_clean(plan: CleanPlan, *, dry_run: bool) -> CleanReport:
    """Carry out the plan (``dry_run``: change nothing, report what would be done)."""
    found = plan.found
    backups = found.runs_dir
    warnings = list(found.warnings)
    if dry_run:
        return CleanReport(found.root, plan.items, True, backups, warnings)
    remote = found.config.workflow.remote
    by_id = {run.adw_id: run for run in found.runs}
    done: list[CleanItem] = []
    for item in plan.items:
        if item.action is not CleanAction.REMOVE:
            done.append(item)
            continue
        run = by_id[item.adw_id]
        try:
            removed = discard_worktree(
                found.root,
                Path(str(run.worktree)),
                force=plan.force,
                backup_dir=backups / run.adw_id,
                base_branch=run.base_branch,
                remote=remote,
                branch=run.branch,
            )
        except GitError as exc:  # WorktreeDirty included: dirtied since the plan
            done.append(replace(item, action=CleanAction.FAILED, reason=str(exc)))
            continue
        done.append(
            replace(
                item,
                action=CleanAction.REMOVED,
                branch_deleted=removed.branch_deleted,
                patch=str(removed.patch) if removed.patch else None,
                bundle=str(removed.bundle) if removed.bundle else None,
            )
        )
    _record(found, [i for i in done if i.action is CleanAction.REMOVED], warnings)
    return CleanReport(found.root, done, False, backups, warnings)


def _record(found: ProjectRuns, removed: list[CleanItem], warnings: list[str]) -> None:
    """Note the removal in each database run's details (when the database can be written)."""
    rows = {run.adw_id for run in found.runs if run.source == "database"}
    todo = [item for item in removed if item.adw_id in rows]
    if not todo:
        return
    from tac_bootstrap.domain.errors import TacError

    try:
        with service.opened(found.target, migrate=False) as db:
            for item in todo:
                cleaned = {
                    "at": utc_now(),
                    "worktree": item.worktree,
                    "patch": item.patch,
                    "bundle": item.bundle,
                    "branch_deleted": item.branch_deleted,
                }
                db.update_run(item.adw_id, details={"cleaned": cleaned})
                if item.status == STALE:  # it frees its issue and port slot for a new run
                    db.finish_run(item.adw_id, "failed", error=STALE_ERROR)
    except TacError as exc:
        warnings.append(f"the worktrees are removed, but the database was not updated: {exc}")


def clean_runs(
    project: Path | None,
    adw_ids: list[str],
    *,
    all_finished: bool = False,
    force: bool = False,
    dry_run: bool = False,
) -> CleanReport:
    """`clean`: plan and apply in one call (the API; the CLI shows the plan and asks first)."""
    if any(not adw_id.strip() for adw_id in adw_ids):
        raise UsageError("an empty ADW_ID was given")
    return apply_clean(
        plan_clean(project, adw_ids, all_finished=all_finished, force=force), dry_run=dry_run
    )
