"""`tac-bootstrap runs`: every workflow run of a project with its worktree, branch and cost.

The runs come from the database's `runs` table (migration 005) and, for runs made before it
or when the database cannot be read, from the state files in <logs_dir>/adw/<adw_id>/. Their
cost is the database's rollup of the run's session (the adw_id). A run whose row says running
while nothing keeps it alive (no live lease, no recent heartbeat, no process working in its
worktree) crashed: it is shown as "stale", and `clean --force` may remove its worktree.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from tac_bootstrap.application import database_service as service
from tac_bootstrap.domain.config import CONFIG_FILENAME, TacConfig
from tac_bootstrap.domain.errors import ConfigError, UsageError
from tac_bootstrap.infrastructure.config_loader import load_config
from tac_bootstrap.runtime.adw_database import OrchestratorDB
from tac_bootstrap.runtime.orch_run_models import RunRecord, RunStatus

RUNS_DIR_ENV_VAR = "TAC_ADW_RUNS_DIR"  # the runtime's override of <logs_dir>/adw (adw_state)
RUNS_VERSION = 5  # the migration that made the runs table
STALE = "stale"
FINISHED = frozenset({"completed", "failed", "cancelled"})
STATUSES = (*(s.value for s in RunStatus), STALE)
LIST_LIMIT = 1000


@dataclass(frozen=True)
class RunRow:
    """One run as `runs` shows it; ``status`` is "stale" for a crashed running run."""

    adw_id: str
    workflow: str
    status: str
    recorded_status: str  # what the database or state file says
    issue: str  # "#12", a local issue's path, or the text's first line
    issue_title: str
    branch: str | None
    base_branch: str | None
    worktree: str | None
    worktree_exists: bool
    port_base: int | None
    cost_usd: float | None  # None: the database could not be read
    started: str | None  # ISO 8601, UTC
    source: str  # "database" or "state file"
    pr_url: str | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "adw_id": self.adw_id,
            "workflow": self.workflow,
            "status": self.status,
            "recorded_status": self.recorded_status,
            "issue": self.issue,
            "issue_title": self.issue_title,
            "branch": self.branch,
            "base_branch": self.base_branch,
            "worktree": self.worktree,
            "worktree_exists": self.worktree_exists,
            "port_base": self.port_base,
            "cost_usd": self.cost_usd,
            "started": self.started,
            "source": self.source,
            "pr_url": self.pr_url,
            "error": self.error,
        }


@dataclass(frozen=True)
class RunsReport:
    root: Path
    runs: list[RunRow]
    warnings: list[str] = field(default_factory=list)
    ok: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "project": str(self.root),
            "runs": [run.to_dict() for run in self.runs],
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True)
class ProjectRuns:
    """What `runs` and `clean` read: the project, its config and its runs."""

    root: Path
    config: TacConfig
    target: service.DatabaseTarget
    runs: list[RunRow]
    warnings: list[str]

    @property
    def runs_dir(self) -> Path:
        return runs_dir(self.root, self.config)


def runs_dir(root: Path, config: TacConfig) -> Path:
    """Where the state files (and clean's backups) are: <logs_dir>/adw, as the runtime's."""
    configured = os.environ.get(RUNS_DIR_ENV_VAR)
    return Path(configured) if configured else root / config.paths.logs_dir / "adw"


def load_project(project: Path | None) -> tuple[Path, TacConfig]:
    root = service.find_project(project if project is not None else Path.cwd())
    if project is not None and root != project.resolve():
        raise ConfigError(f"{project / CONFIG_FILENAME}: no config file found")
    return root, load_config(root / CONFIG_FILENAME)


def read_runs(project: Path | None) -> ProjectRuns:
    """The project's runs, newest first: the database's, then the state files' others."""
    root, config = load_project(project)
    target = service.target_for(root, config)
    warnings: list[str] = []
    lease = float(config.queue.lease_seconds)
    from_db, costs = _database_runs(target, warnings)
    known = {run.adw_id for run in from_db}
    rows = [_from_record(run, costs, lease) for run in from_db]
    for state in _state_files(runs_dir(root, config), warnings):
        if str(state.get("adw_id")) not in known:
            rows.append(_from_state(state, costs))
    rows.sort(key=lambda row: row.started or "", reverse=True)
    return ProjectRuns(root, config, target, rows, warnings)


def list_runs(project: Path | None, *, status: str | None = None) -> RunsReport:
    """`runs [--status S]`: S is a run status or "stale"."""
    if status is not None and status not in STATUSES:
        raise UsageError(
            f"--status {status!r} is not a run status", hint=f"use {', '.join(STATUSES)}"
        )
    found = read_runs(project)
    rows = [run for run in found.runs if status is None or run.status == status]
    return RunsReport(found.root, rows, found.warnings)


# -- the database ---------------------------------------------------------------------------


def _database_runs(
    target: service.DatabaseTarget, warnings: list[str]
) -> tuple[list[RunRecord], dict[str, float] | None]:
    """The runs table's rows and each recorded session's cost (None: no database to ask)."""
    from tac_bootstrap.application.database_reports import reading
    from tac_bootstrap.domain.errors import TacError

    try:
        with reading(target, warnings) as db:
            if db is None:
                return [], None
            costs = _costs(db)
            if db.schema_version() < RUNS_VERSION:
                warnings.append(
                    "the database has no runs table yet (run `tac-bootstrap db migrate`): "
                    "runs are read from their state files"
                )
                return [], costs
            return db.list_runs(limit=LIST_LIMIT), costs
    except TacError as exc:  # an unreachable server: the state files still answer
        warnings.append(f"cannot read the database ({exc.message}): runs from state files only")
        return [], None


def _costs(db: OrchestratorDB) -> dict[str, float]:
    """Cost by session (a run's session is its adw_id): one rollup for all runs."""
    return {row.key: row.cost_usd for row in db.rollup("session")}


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z") if value else None


def _issue_label(source: str, ref: str | None, title: str) -> str:
    if source == "github" and ref:
        return f"#{ref}"
    if source == "local" and ref:
        return ref
    first = title.strip().splitlines()[0] if title.strip() else ""
    return first[:60] + ("…" if len(first) > 60 else "")


def _from_record(run: RunRecord, costs: dict[str, float] | None, lease: float) -> RunRow:
    status = run.status.value
    if status == "running" and is_stale(run, lease):
        status = STALE
    return RunRow(
        adw_id=run.adw_id,
        workflow=run.workflow,
        status=status,
        recorded_status=run.status.value,
        issue=_issue_label(run.issue_source.value, run.issue_ref, run.issue_title),
        issue_title=run.issue_title,
        branch=run.branch,
        base_branch=run.base_branch,
        worktree=run.worktree,
        worktree_exists=bool(run.worktree) and Path(str(run.worktree)).is_dir(),
        port_base=run.port_base,
        cost_usd=None if costs is None else round(costs.get(run.adw_id, 0.0), 6),
        started=_iso(run.started_at or run.created_at),
        source="database",
        pr_url=run.pr_url,
        error=run.error,
    )


# -- liveness -------------------------------------------------------------------------------


def is_stale(run: RunRecord, lease_seconds: float, now: datetime | None = None) -> bool:
    """A running run nothing keeps alive: its lease expired (or it has none), its own process
    (details.pid on details.host) is gone, no heartbeat came within a lease, and no process
    works in its worktree (Linux: /proc)."""
    moment = now or datetime.now(timezone.utc)
    if run.lease_expires_at is not None and run.lease_expires_at > moment:
        return False
    if _own_process_alive(run.details):
        return False
    if run.heartbeat_at is not None and run.heartbeat_at > moment - timedelta(
        seconds=lease_seconds
    ):
        return False
    return not (run.worktree and process_in(Path(run.worktree)))


def _own_process_alive(details: dict[str, Any]) -> bool:
    """A run started by hand (no worker, no lease) may name its process: details.pid and
    details.host. Alive when that process exists on this machine (in doubt: alive)."""
    pid, host = details.get("pid"), details.get("host")
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False
    if host != socket.gethostname():
        return host is not None  # another machine's process: this one cannot tell
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it exists, as another user
        return True
    return True


def process_in(directory: Path) -> bool:
    """Whether a process (other than this one) has its working directory in ``directory``;
    False where /proc cannot tell (another system, no permission)."""
    proc = Path("/proc")
    if not proc.is_dir() or not directory.is_dir():
        return False
    wanted = os.path.realpath(directory)
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if cwd == wanted or cwd.startswith(wanted + os.sep):
            return True
    return False


# -- state files (runs before the runs table) -----------------------------------------------


def _state_files(directory: Path, warnings: list[str]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if not directory.is_dir():
        return found
    for path in sorted(directory.glob("*/adw_state.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            warnings.append(f"{path}: unreadable state file ({exc})")
            continue
        if isinstance(data, dict) and isinstance(data.get("adw_id"), str):
            found.append(data)
    return found


def _state_status(state: dict[str, Any]) -> str:
    """The state file's status; an older one has only its phases' statuses."""
    status = state.get("status")
    if isinstance(status, str) and status in STATUSES:
        return status
    phases = state.get("phases")
    statuses = (
        [p.get("status") for p in phases.values() if isinstance(p, dict)]
        if isinstance(phases, dict)
        else []
    )
    if "failed" in statuses:
        return "failed"
    if statuses and all(s == "completed" for s in statuses):
        return "completed"
    return "running"


def _text(state: dict[str, Any], key: str) -> str | None:
    value = state.get(key)
    return value if isinstance(value, str) and value else None


def _from_state(state: dict[str, Any], costs: dict[str, float] | None) -> RunRow:
    """A run known only from its state file: running there means crashed unless a process
    still works in its worktree (no lease or heartbeat is kept in the file)."""
    adw_id = str(state["adw_id"])
    recorded = _state_status(state)
    worktree = _text(state, "worktree")
    status = recorded
    if recorded == "running" and not (worktree and process_in(Path(worktree))):
        status = STALE
    source = _text(state, "issue_source") or "text"
    title = _text(state, "issue_title") or _text(state, "issue") or ""
    port = state.get("port_base")
    return RunRow(
        adw_id=adw_id,
        workflow=_text(state, "workflow") or "sdlc",
        status=status,
        recorded_status=recorded,
        issue=_issue_label(source, _text(state, "issue_ref"), title),
        issue_title=title,
        branch=_text(state, "branch"),
        base_branch=_text(state, "base_branch"),
        worktree=worktree,
        worktree_exists=bool(worktree) and Path(str(worktree)).is_dir(),
        port_base=port if isinstance(port, int) and not isinstance(port, bool) else None,
        cost_usd=None if costs is None else round(costs.get(adw_id, 0.0), 6),
        started=_text(state, "created_at"),
        source="state file",
        pr_url=_text(state, "pr_url"),
    )
