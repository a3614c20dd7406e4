"""The `tac-bootstrap db` commands as calls that return reports (the Python API's db part).

Each function does what its command does, on the same services (database_service,
database_export, database_transcripts), and returns a report whose ``to_dict()`` is the
document the command's ``--json`` prints and whose ``warnings`` are the lines it prints as
warnings. Nothing here prompts or prints: ``prune`` deletes without asking (the CLI asks
first unless --yes). Errors are the domain's TacError subclasses.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from tac_bootstrap.application import database_service as service
from tac_bootstrap.application.database_status_report import StatusReport as StatusReport
from tac_bootstrap.application.database_status_report import database_status as database_status
from tac_bootstrap.application.database_status_report import where as where
from tac_bootstrap.domain.errors import UsageError
from tac_bootstrap.runtime.adw_database import OrchestratorDB
from tac_bootstrap.runtime.orch_database_models import LogRecord, RollupRow

if TYPE_CHECKING:
    from tac_bootstrap.runtime.adw_db_ops_rollups import RollupBy

ROLLUP_CHOICES = ("session", "agent", "model", "day")
EXPORT_FORMATS = ("json", "csv")
TOTALLED = (
    "prompts",
    "messages",
    "input_tokens",
    "output_tokens",
    "cache_creation_tokens",
    "cache_read_tokens",
)


@dataclass(frozen=True)
class DatabaseInitReport:
    """`db init`: whether the database (SQLite) or its tables (PostgreSQL) were created."""

    target: service.DatabaseTarget
    created: bool
    schema_version: int
    applied: list[str]
    ok: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": True,
            **where(self.target),
            "created": self.created,
            "schema_version": self.schema_version,
            "applied": self.applied,
        }


def init_database(project: Path | None) -> DatabaseInitReport:
    target = service.locate(project)
    missing_file = not target.exists
    run = service.migrate(target)
    created = run.version_before == 0 if target.location.is_postgres else missing_file
    return DatabaseInitReport(target, created, run.version_after, [m.filename for m in run.applied])


@dataclass(frozen=True)
class MigrateReport:
    """`db migrate`: the migrations applied (or, dry run, pending) and the backup taken."""

    target: service.DatabaseTarget
    dry_run: bool
    migrations: list[str]
    backup: Path | None = None
    note: str | None = None  # PostgreSQL: why there is no backup
    ok: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": True,
            **where(self.target),
            "dry_run": self.dry_run,
            "migrations": self.migrations,
            "backup": str(self.backup) if self.backup else None,
            "note": self.note,
        }


def migrate_database(project: Path | None, *, dry_run: bool = False) -> MigrateReport:
    target = service.locate(project)
    todo = service.pending(target)
    if dry_run or not todo:
        return MigrateReport(target, dry_run, [m.filename for m in todo])
    note = service.NO_BACKUP_ON_POSTGRES if target.location.is_postgres else None
    run = service.migrate(target)
    return MigrateReport(target, dry_run, [m.filename for m in run.applied], run.backup, note)


@contextmanager
def reading(target: service.DatabaseTarget, warnings: list[str]) -> Iterator[OrchestratorDB | None]:
    """The open database, or None (and a warning) when nothing has been recorded yet; warns
    about pending migrations. What `db stats` and `db logs` read through."""
    if not target.exists:
        warnings.append(f"no database at {target.path} yet: nothing has been recorded")
        yield None
        return
    with service.opened(target, migrate=False) as db:
        if not service.initialised(db):
            warnings.append(
                f"no orchestrator tables in {target.display} yet: nothing has been recorded"
            )
            yield None
            return
        todo = db.pending_migrations()
        if todo:
            warnings.append(f"{len(todo)} pending migration(s); run `tac-bootstrap db migrate`")
        yield db


@dataclass(frozen=True)
class StatsReport:
    """`db stats`: one RollupRow per group, their totals, unpriced models, run budgets."""

    by: str
    session: str | None
    rows: list[RollupRow]
    unpriced_models: dict[str, int]
    budgets: dict[str, float]
    warnings: list[str] = field(default_factory=list)
    ok: bool = True

    @property
    def totals(self) -> dict[str, Any]:
        totals: dict[str, Any] = {
            name: sum(getattr(r, name) for r in self.rows) for name in TOTALLED
        }
        totals["cost_usd"] = round(sum(r.cost_usd for r in self.rows), 10)
        totals["unpriced_messages"] = sum(r.unpriced_messages for r in self.rows)
        return totals

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": True,
            "by": self.by,
            "session": self.session,
            "rows": [r.model_dump(mode="json") for r in self.rows],
            "totals": self.totals,
            "unpriced_models": self.unpriced_models,
            "budgets": self.budgets,
        }


def cost_stats(project: Path | None, *, by: str, session: str | None) -> StatsReport:
    if by not in ROLLUP_CHOICES:
        raise UsageError(f"--by {by!r} is not supported", hint="use session, agent, model or day")
    target = service.locate(project)
    warnings: list[str] = []
    report = StatsReport(by, session, [], {}, {}, warnings)
    with reading(target, warnings) as db:
        if db is None:
            return report
        # Imported here: it loads the transcript importer, which `db status` does not need.
        from tac_bootstrap.application import database_transcripts

        rows = db.rollup(cast("RollupBy", by), session_id=session)  # checked above
        unpriced = database_transcripts.unpriced_models(db, session)
        budgets = db.run_budgets(session_id=session) if by == "session" else {}
    return StatsReport(by, session, rows, unpriced, budgets, warnings)


@dataclass(frozen=True)
class LogsReport:
    """`db logs`: agent and system log lines, newest first."""

    logs: list[LogRecord]
    warnings: list[str] = field(default_factory=list)
    ok: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {"ok": True, "logs": [r.model_dump(mode="json") for r in self.logs]}


def recent_logs(
    project: Path | None,
    *,
    agent: str | None,
    level: str | None,
    since: datetime | None,
    limit: int,
) -> LogsReport:
    target = service.locate(project)
    warnings: list[str] = []
    records: list[LogRecord] = []
    with reading(target, warnings) as db:
        if db is not None:
            records = db.recent_logs(
                agent_id=agent,
                min_level=level.upper() if level else None,
                since=since,
                limit=limit,
            )
    return LogsReport(records, warnings)


@dataclass(frozen=True)
class PruneReport:
    """`db prune`: rows deleted per table (dry run, or nothing to delete: rows to delete)."""

    dry_run: bool
    deleted: dict[str, int]
    ok: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {"ok": True, "dry_run": self.dry_run, "deleted": self.deleted}


def prune_database(
    project: Path | None,
    *,
    older_than_days: float,
    dry_run: bool = False,
    confirm: Callable[[dict[str, int]], None] | None = None,
) -> PruneReport:
    """Counts first; deletes unless a dry run or nothing to delete. ``confirm`` (the CLI's
    question) sees the counts before anything is deleted and raises to cancel."""
    target = service.locate(project)
    with service.opened_existing(target) as db:
        counts = db.prune(older_than_days, dry_run=True)
        if dry_run or sum(counts.values()) == 0:
            return PruneReport(True, counts)
        if confirm is not None:
            confirm(counts)
        return PruneReport(False, db.prune(older_than_days))  # what was deleted


@dataclass(frozen=True)
class BackupReport:
    """`db backup`: the SQLite file backed up, the new file and its size."""

    source: Path | None
    backup: Path
    size_bytes: int
    ok: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": True,
            "source": str(self.source),
            "backup": str(self.backup),
            "size_bytes": self.size_bytes,
        }


def backup_database(
    project: Path | None, destination: Path, progress: service.Progress | None = None
) -> BackupReport:
    target = service.locate(project)
    size = service.backup(target, destination, progress)
    return BackupReport(target.path, destination, size)


@dataclass(frozen=True)
class ExportReport:
    """`db export`: rows written per table, to one JSON file or a directory of CSV files."""

    destination: Path
    format: str
    counts: dict[str, int]
    ok: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": True,
            "destination": str(self.destination),
            "format": self.format,
            "counts": self.counts,
        }


def export_database(
    project: Path | None,
    destination: Path,
    fmt: str,
    progress: service.Progress | None = None,
) -> ExportReport:
    if fmt not in EXPORT_FORMATS:
        raise UsageError(f"--format {fmt!r} is not supported", hint="use json or csv")
    from tac_bootstrap.application import database_export  # csv and the writers: export only

    target = service.locate(project)
    with service.opened_existing(target) as db:
        counts = database_export.export(db, destination, fmt, progress)
    return ExportReport(destination, fmt, counts)
