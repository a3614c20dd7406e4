"""Bodies of the `tac-bootstrap db` commands: arguments in, rich tables or JSON out.

Every command works on a SQLite file and on a PostgreSQL database alike; the location is shown
as `target.display`, which masks a URL's password.
"""

from __future__ import annotations

from pathlib import Path

from rich.table import Table

from tac_bootstrap.application import database_export
from tac_bootstrap.application import database_service as service
from tac_bootstrap.cli.db_output import human_size, progress_bar, where
from tac_bootstrap.cli.output import Output
from tac_bootstrap.cli.prompts import confirm
from tac_bootstrap.domain.errors import UsageError


def init_db(project: Path | None, json_output: bool) -> None:
    out = Output(json_output)
    with out.handling_errors({"--project": project}):
        target = service.locate(project)
        missing_file = not target.exists
        run = service.migrate(target)
        if target.location.is_postgres:  # the database is the server's; the tables are ours
            created = run.version_before == 0
            verb = "tables created in" if created else "already initialised:"
            out.info(f"database {verb} {target.display} (schema version {run.version_after})")
        else:
            created = missing_file
            verb = "created" if created else "already existed"
            out.info(f"database {verb}: {target.path} (schema version {run.version_after})")
        for migration in run.applied:
            out.info(f"applied {migration.filename}")
        if out.json_mode:
            out.emit_json(
                {
                    "ok": True,
                    **where(target),
                    "created": created,
                    "schema_version": run.version_after,
                    "applied": [m.filename for m in run.applied],
                }
            )


def migrate(project: Path | None, dry_run: bool, json_output: bool) -> None:
    out = Output(json_output)
    with out.handling_errors({"--project": project}):
        target = service.locate(project)
        todo = service.pending(target)
        backup_path = None
        note = None
        if dry_run:
            for migration in todo:
                out.info(f"would apply {migration.filename}")
        elif todo:
            if target.location.is_postgres:
                note = service.NO_BACKUP_ON_POSTGRES
                out.info(note)
            run = service.migrate(target)
            todo, backup_path = run.applied, run.backup
            if backup_path:
                out.info(f"backup of the database before migrating: {backup_path}")
            for migration in todo:
                out.info(f"applied {migration.filename}")
        if not todo:
            out.info(f"{target.display} is up to date")
        if out.json_mode:
            out.emit_json(
                {
                    "ok": True,
                    **where(target),
                    "dry_run": dry_run,
                    "migrations": [m.filename for m in todo],
                    "backup": str(backup_path) if backup_path else None,
                    "note": note,
                }
            )


def status(project: Path | None, json_output: bool) -> None:
    out = Output(json_output)
    with out.handling_errors({"--project": project}):
        target = service.locate(project)
        state = service.status(target)
        table = Table(title="Orchestrator database", show_header=False)
        table.add_column("key", style="bold")
        table.add_column("value", overflow="fold")
        table.add_row("backend", "PostgreSQL" if target.location.is_postgres else "SQLite")
        table.add_row("location", f"{target.display} ({target.location.source})")
        if state.server_version:
            table.add_row("server version", state.server_version)
        size = human_size(state.size_bytes) if state.exists else "not created yet"
        if target.location.is_postgres:
            size += " (the orchestrator's tables and indexes)"
        table.add_row("size", size)
        table.add_row("schema version", str(state.schema_version))
        table.add_row("pending migrations", ", ".join(state.pending) or "none")
        for name, count in state.counts.items():
            table.add_row(f"rows: {name}", f"{count:,}")
        out.console.print(table)
        if out.json_mode:
            out.emit_json(
                {
                    "ok": True,
                    **where(target),
                    "server_version": state.server_version or None,
                    "source": target.location.source,
                    "exists": state.exists,
                    "size_bytes": state.size_bytes,
                    "schema_version": state.schema_version,
                    "pending_migrations": state.pending,
                    "counts": state.counts,
                }
            )


def prune(
    project: Path | None, older_than: float, dry_run: bool, yes: bool, json_output: bool
) -> None:
    out = Output(json_output)
    with out.handling_errors({"--project": project}):
        target = service.locate(project)
        with service.opened_existing(target) as db:
            counts = db.prune(older_than, dry_run=True)
            total = sum(counts.values())
            summary = ", ".join(f"{n:,} {table}" for table, n in counts.items())
            if dry_run or total == 0:
                out.info(f"would delete {summary}" if total else "nothing to prune")
            else:
                _confirm(f"Delete {summary} older than {older_than:g} days?", yes, json_output)
                counts = db.prune(older_than)  # what was deleted, not what was counted
                out.info("deleted " + ", ".join(f"{n:,} {table}" for table, n in counts.items()))
        if out.json_mode:
            out.emit_json({"ok": True, "dry_run": dry_run or total == 0, "deleted": counts})


def _confirm(question: str, yes: bool, json_output: bool) -> None:
    confirm(
        question,
        yes=yes,
        may_ask=not json_output,
        default=False,
        refusal="refusing to delete without confirmation",
        hint="pass --yes (or --dry-run)",
        cancelled="cancelled; nothing was deleted",
    )


def backup(project: Path | None, destination: Path, json_output: bool) -> None:
    out = Output(json_output)
    with out.handling_errors({"--project": project, "DEST": destination}):
        target = service.locate(project)
        with progress_bar(out, "backup") as progress:
            size = service.backup(target, destination, progress)
        out.info(f"backup written: {destination} ({human_size(size)})")
        if out.json_mode:
            out.emit_json(
                {
                    "ok": True,
                    "source": str(target.path),
                    "backup": str(destination),
                    "size_bytes": size,
                }
            )


def export(project: Path | None, destination: Path, fmt: str, json_output: bool) -> None:
    out = Output(json_output)
    with out.handling_errors({"--project": project, "DEST": destination}):
        if fmt not in ("json", "csv"):
            raise UsageError(f"--format {fmt!r} is not supported", hint="use json or csv")
        target = service.locate(project)
        with (
            service.opened_existing(target) as db,
            progress_bar(out, "export") as progress,
        ):
            counts = database_export.export(db, destination, fmt, progress)
        out.info(f"exported {sum(counts.values()):,} rows to {destination} ({fmt})")
        if out.json_mode:
            out.emit_json(
                {"ok": True, "destination": str(destination), "format": fmt, "counts": counts}
            )
