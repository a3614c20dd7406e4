"""`tac-bootstrap db import-transcripts`: the usage of Claude Code sessions from transcripts.

The runtime (transcripts.py) reads the files and writes the rows; this module finds the
project's transcript folders, refuses a database with pending migrations, and reports.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tac_bootstrap.application.database_service import (
    DatabaseTarget,
    Progress,
    initialised,
    locate,
    opened,
    translated_errors,
)
from tac_bootstrap.domain.errors import OperationError, UsageError
from tac_bootstrap.runtime import transcripts
from tac_bootstrap.runtime.adw_database import OrchestratorDB


@dataclass(frozen=True)
class TranscriptImport:
    """What `db import-transcripts` did: the runtime's report and where it looked."""

    target: DatabaseTarget
    report: transcripts.Report
    searched: list[Path]  # the files and folders given, or the project's transcript folders
    default_search: bool  # no paths given: the project's folders under ~/.claude/projects

    @property
    def ok(self) -> bool:
        """False when a file could not be read or a session not written (the CLI exits 1)."""
        return not self.report.errors

    def to_dict(self) -> dict[str, Any]:
        """The document `db import-transcripts --json` prints."""
        return {
            "ok": self.ok,
            "command": "db import-transcripts",
            "path": str(self.target.path) if self.target.path is not None else None,
            "backend": self.target.backend,
            "location": self.target.display,
            "searched": [str(p) for p in self.searched],
            **self.report.to_json(),
        }


def transcript_sources(
    target: DatabaseTarget, paths: Sequence[Path], environ: Mapping[str, str] | None = None
) -> tuple[list[Path], bool]:
    """The given paths (each must exist: a usage error otherwise), or the project's
    transcript folders (~/.claude/projects/<project>/ and its subdirectories')."""
    if not paths:
        return transcripts.project_transcript_dirs(target.project_root, environ), True
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise UsageError(
            f"no such file or directory: {', '.join(missing)}",
            hint="give transcript files (.jsonl) or folders holding them",
        )
    return list(paths), False


def import_transcripts(
    project: Path | None = None,
    paths: Sequence[Path] = (),
    *,
    since_days: float | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
    environ: Mapping[str, str] | None = None,
    target: DatabaseTarget | None = None,
) -> TranscriptImport:
    """Record the usage of past Claude Code sessions from their transcripts (the API behind
    `tac-bootstrap db import-transcripts`). Idempotent: a message already recorded is
    skipped. A dry run writes nothing and creates no database. Unreadable files and sessions
    that could not be written are in `report.errors`; the rest is imported."""
    if since_days is not None and not since_days >= 0:
        raise UsageError(f"--since {since_days!r} must be a number of days >= 0")
    target = target or locate(project)
    searched, default = transcript_sources(target, list(paths), environ)
    files, errors = transcripts.find_transcripts(searched, since_days=since_days)
    if dry_run and not target.exists:
        report = transcripts.import_files(
            transcripts.no_database_runner(), files, dry_run=True, progress=progress
        )
    else:
        with opened(target, migrate=not target.exists) as db:
            if not initialised(db):
                if dry_run:
                    runner = transcripts.no_database_runner()
                else:
                    db.migrate()
                    runner = transcripts.db_runner(db)
            elif db.pending_migrations():
                raise OperationError(
                    f"{target.display} has pending migrations",
                    hint="run `tac-bootstrap db migrate` first (it backs the database up)",
                )
            else:
                runner = transcripts.db_runner(db)
            with translated_errors(target.location):
                report = transcripts.import_files(runner, files, dry_run=dry_run, progress=progress)
    report.errors[:0] = errors
    return TranscriptImport(target, report, searched, default)


def unpriced_models(db: OrchestratorDB, session_id: str | None = None) -> dict[str, int]:
    """Models of counted transcript messages that have no price (their cost is 0)."""
    run = transcripts.db_runner(db)
    result: dict[str, int] = run(lambda: transcripts.unpriced_models(session_id), False)
    return result
