"""`tac-bootstrap db ...` as functions: `tac-bootstrap db status` is `db.status()`.

    from tac_bootstrap.api import db

    db.init(project="code/shop")
    print(db.status("code/shop").to_dict()["counts"])
    rows = db.stats("code/shop", by="model").rows
    db.prune("code/shop", older_than_days=30, dry_run=True).deleted

CLI arguments (DEST, SOURCE, PATHS) come first, then ``project`` (``--project``: the project
directory; None is the nearest tac_bootstrap.yml at or above the current directory), then the
other options, keyword-only. The database is the one the CLI would use (TAC_ORCHESTRATOR_DB >
orchestrator.database > the project's SQLite file). As in the rest of the API nothing prompts
(``prune`` deletes without asking: pass ``dry_run=True`` to look first), prints or exits;
each function returns a report (``ok``, ``to_dict()`` = the ``--json`` document, and
``warnings`` where the command warns) and errors raise TacError subclasses. ``progress``
(backup, export, import_transcripts, copy) is called with (done, total), the CLI's bar.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from tac_bootstrap.application.os_errors import tac_errors

if TYPE_CHECKING:
    from tac_bootstrap.application.database_copy_report import CopyReport
    from tac_bootstrap.application.database_reports import (
        BackupReport,
        DatabaseInitReport,
        ExportReport,
        LogsReport,
        MigrateReport,
        PruneReport,
        StatsReport,
        StatusReport,
    )
    from tac_bootstrap.application.database_transcripts import TranscriptImport

__all__ = [
    "backup",
    "copy",
    "export",
    "import_transcripts",
    "init",
    "logs",
    "migrate",
    "prune",
    "stats",
    "status",
]

PathLike = str | Path
Progress = Callable[[int, int], None]


def _path(value: PathLike | None) -> Path | None:
    return None if value is None else Path(value)


def init(project: PathLike | None = None) -> DatabaseInitReport:
    """`db init`: create the database (on PostgreSQL the tables) and apply all migrations."""
    from tac_bootstrap.application.database_reports import init_database

    with tac_errors({"--project": _path(project)}):
        return init_database(_path(project))


def migrate(project: PathLike | None = None, *, dry_run: bool = False) -> MigrateReport:
    """`db migrate`: apply pending migrations, backing an existing SQLite database up first."""
    from tac_bootstrap.application.database_reports import migrate_database

    with tac_errors({"--project": _path(project)}):
        return migrate_database(_path(project), dry_run=dry_run)


def status(project: PathLike | None = None) -> StatusReport:
    """`db status`: backend, location, size, schema version, pending migrations, row counts.

    A SQLite file that does not exist yet is not created (``report.status.exists`` False)."""
    from tac_bootstrap.application.database_reports import database_status

    with tac_errors({"--project": _path(project)}):
        return database_status(_path(project))


def stats(
    project: PathLike | None = None, *, by: str = "session", session: str | None = None
) -> StatsReport:
    """`db stats`: cost and token rollups by session, agent, model or day."""
    from tac_bootstrap.application.database_reports import cost_stats

    with tac_errors({"--project": _path(project)}):
        return cost_stats(_path(project), by=by, session=session)


def import_transcripts(
    paths: Sequence[PathLike] | None = None,
    project: PathLike | None = None,
    *,
    since_days: float | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> TranscriptImport:
    """`db import-transcripts [PATHS]`: record the usage of past Claude Code sessions.

    ``paths`` None (or empty) reads this project's sessions under ~/.claude/projects/.
    Files that failed are in ``report.report.errors`` (``ok`` False); the rest is imported."""
    from tac_bootstrap.application.database_transcripts import import_transcripts as run

    given = [Path(p) for p in paths or ()]
    with tac_errors({"--project": _path(project)}):
        return run(_path(project), given, since_days=since_days, dry_run=dry_run, progress=progress)


def logs(
    project: PathLike | None = None,
    *,
    agent: str | None = None,
    level: str | None = None,
    since: datetime | str | None = None,
    limit: int = 50,
) -> LogsReport:
    """`db logs`: recent agent and system logs, newest first.

    ``since`` is a datetime or what ``--since`` takes: 30m, 2h, 7d or an ISO 8601 timestamp."""
    from tac_bootstrap.application.database_reports import recent_logs
    from tac_bootstrap.application.database_service import parse_since
    from tac_bootstrap.domain.errors import UsageError

    if not isinstance(limit, int) or limit < 1:
        raise UsageError(f"--limit {limit!r} must be a whole number of at least 1")
    since_at = parse_since(since) if isinstance(since, str) else since
    with tac_errors({"--project": _path(project)}):
        return recent_logs(_path(project), agent=agent, level=level, since=since_at, limit=limit)


def prune(
    project: PathLike | None = None, *, older_than_days: float, dry_run: bool = False
) -> PruneReport:
    """`db prune --older-than N --yes`: delete logs, finished agents with their prompts and
    logs, and finished workflow runs with their checks, older than N days (webhook deliveries:
    at least 7 days). Never asks: ``dry_run=True`` only counts."""
    from tac_bootstrap.application.database_reports import prune_database

    with tac_errors({"--project": _path(project)}):
        return prune_database(_path(project), older_than_days=older_than_days, dry_run=dry_run)


def backup(
    destination: PathLike, project: PathLike | None = None, *, progress: Progress | None = None
) -> BackupReport:
    """`db backup DEST`: online backup of a SQLite database to a new file.

    On PostgreSQL it raises the CLI's error, which names the pg_dump line to run."""
    from tac_bootstrap.application.database_reports import backup_database

    with tac_errors({"--project": _path(project), "DEST": Path(destination)}):
        return backup_database(_path(project), Path(destination), progress)


def export(
    destination: PathLike,
    project: PathLike | None = None,
    *,
    format: str = "json",
    progress: Progress | None = None,
) -> ExportReport:
    """`db export DEST`: every table as JSON (one file) or CSV (a directory of files)."""
    from tac_bootstrap.application.database_reports import export_database

    with tac_errors({"--project": _path(project), "DEST": Path(destination)}):
        return export_database(_path(project), Path(destination), format, progress)


def copy(
    source: str,
    dest: str,
    project: PathLike | None = None,
    *,
    batch_size: int = 10_000,
    progress: Progress | None = None,
) -> CopyReport:
    """`db copy SOURCE DEST`: copy an orchestrator database to another one and verify it.

    SOURCE and DEST are paths, sqlite:///FILE or postgresql:// URLs, as in the CLI. A failed
    verification is ``ok`` False with ``problems`` (the CLI exits 1), not an exception."""
    from tac_bootstrap.application import database_copy

    def file_argument(argument: str) -> Path | None:
        # never a URL or keyword string: an error line must not show a password
        return None if "://" in argument or "=" in argument else Path(argument)

    arguments = {
        "--project": _path(project),
        "SOURCE": file_argument(source),
        "DEST": file_argument(dest),
    }
    with tac_errors(arguments):
        plan = database_copy.plan(source, dest, _path(project))
        return database_copy.copy_database(plan, batch_size=batch_size, progress=progress)
