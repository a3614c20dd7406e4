"""What every phase of a run works with: its state, database, agent CLI, root and environment.

The run's root is its worktree (workflow.isolation = worktree) or the checkout itself; every
agent and every check command runs there with the run's environment (port slot, adw_id, the
main checkout's database for the hooks). TAC_ADW_OVERRIDES (a JSON object of config sections,
e.g. {"workflow": {"isolation": "none"}, "commands": {"test": "true"}}) overrides the config
for one run: CI jobs and the layer's own tests use it to run without touching the checkout.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .adw_database import OrchestratorDB
from .adw_project import ProjectSettings, current_project
from .adw_settings import settings
from .adw_state import ADWState
from .hook_spool import FALLBACK_ENV_VAR, FALLBACK_NAME

OVERRIDES_ENV_VAR = "TAC_ADW_OVERRIDES"


def overrides() -> dict[str, dict[str, Any]]:
    """The sections TAC_ADW_OVERRIDES replaces keys of ({} when unset or not a JSON object)."""
    raw = os.environ.get(OVERRIDES_ENV_VAR, "").strip()
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{OVERRIDES_ENV_VAR} is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ValueError(f"{OVERRIDES_ENV_VAR} must be a JSON object of config sections")
    return {k: v for k, v in value.items() if isinstance(v, dict)}


def section(name: str, project: ProjectSettings | None = None) -> dict[str, Any]:
    """A config section with TAC_ADW_OVERRIDES applied; the workflow sections with defaults."""
    project = project or current_project()
    base: dict[str, Any]
    if name in ("workflow", "issues", "triggers", "queue"):
        base = settings(name, project)
    else:
        base = dict(project.section(name))
    return {**base, **overrides().get(name, {})}


@dataclass
class RunContext:
    state: ADWState
    db: OrchestratorDB
    cli: str
    project: ProjectSettings
    workflow: dict[str, Any]  # the workflow section, overrides applied
    root: Path  # where agents and checks run: the worktree, or the checkout
    env: dict[str, str] = field(default_factory=dict)  # the run's environment (ports ...)
    source: Any = None  # the issue source (adw_issues.IssueSource), None for a text issue
    issue: Any = None  # the adw_issues.Issue the run works on, None for a text issue
    is_git: bool = True

    @property
    def adw_id(self) -> str:
        return self.state.adw_id

    @property
    def isolated(self) -> bool:
        return self.state.worktree is not None

    def agent_env(self, agent_id: str) -> dict[str, str]:
        """What the agent CLI gets: the run's environment, and what its hooks need to record
        into the main database against this agent, from whatever directory they run in."""
        fallback = os.environ.get(FALLBACK_ENV_VAR) or str(
            self.project.path("logs_dir", "logs") / FALLBACK_NAME
        )
        return {
            **self.env,
            "TAC_AGENT_ID": agent_id,
            "TAC_ADW_ID": self.adw_id,
            "TAC_PYTHON": sys.executable,
            "TAC_ORCHESTRATOR_DB": self.db.location.target,
            # Events the hooks cannot write (PostgreSQL, a busy database) wait in the main
            # checkout's spool, which this run replays, not in the worktree's.
            FALLBACK_ENV_VAR: fallback,
        }

    def note(self, message: str) -> None:
        """A progress line on stderr (stdout is for the final JSON line)."""
        print(f"[{self.adw_id}] {message}", file=sys.stderr)

    def log(self, message: str, *, level: str = "INFO", **details: Any) -> None:
        self.db.log_system(
            f"adw {self.adw_id}: {message}",
            level=level,
            component="adw",
            details={"adw_id": self.adw_id, **details} if details else None,
        )

    def update_run(self, **fields: Any) -> None:
        """Keep the runs row current (status, branch, worktree, port, pr_url, error)."""
        self.db.update_run(self.adw_id, **fields)


COMMIT_TYPES = {"feature": "feat", "bug": "fix", "chore": "chore"}


def issue_label(state: ADWState) -> str:
    """How messages name the issue: #12, the local file, or the start of the text."""
    if state.issue_source == "github" and state.issue_ref:
        return f"#{state.issue_ref}"
    if state.issue_ref:
        return state.issue_ref
    lines = state.issue.strip().splitlines()
    title = state.issue_title or (lines[0] if lines else "")
    return f'"{title[:60]}"' if title else "the issue"


def commit_phase(ctx: RunContext, what: str) -> str | None:
    """Commit everything the phase changed in the run's root (workflow.commit), with a
    conventional message naming the adw_id; the sha, or None when nothing changed."""
    if not ctx.workflow.get("commit", True) or not ctx.is_git:
        return None
    from .adw_git import commit_all  # part B1

    kind = COMMIT_TYPES.get(ctx.state.issue_type or "", "chore")
    message = f"{kind}(adw): {what} for {issue_label(ctx.state)} [adw_id {ctx.adw_id}]"
    sha = commit_all(ctx.root, message)
    if sha:
        ctx.note(f"committed {sha[:12]}: {message}")
        ctx.log(f"committed {what}", sha=sha, branch=ctx.state.branch)
    return sha
