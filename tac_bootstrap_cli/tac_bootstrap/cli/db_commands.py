"""Bodies of the `tac-bootstrap db` commands: arguments in, rich tables or JSON out.

Each body calls the application function the Python API calls (database_reports, imported
per command; `db status` from database_status_report) and prints its report: the human
lines and tables from the report's data, `--json` from `to_dict()`.
The location is shown as `target.display`, which masks a URL's password.
"""

from __future__ import annotations

from pathlib import Path

from rich.table import Table
from rich.text import Text

from tac_bootstrap.cli.db_output import human_size, progress_bar
from tac_bootstrap.cli.output import Output
from tac_bootstrap.cli.prompts import confirm


def init_db(project: Path | None, json_output: bool) -> None:
    out = Output(json_output)
    with out.handling_errors({"--project": project}):
        from tac_bootstrap.application.database_reports import init_database

        report = init_database(project)
        target, version = report.target, report.schema_version
        if target.location.is_postgres:  # the database is the server's; the tables are ours
            verb = "tables created in" if report.created else "already initialised:"
            out.info(f"database {verb} {target.display} (schema version {version})")
        else:
            verb = "created" if report.created else "already existed"
            out.info(f"database {verb}: {target.path} (schema version {version})")
        for filename in report.applied:
            out.info(f"applied {filename}")
        if out.json_mode:
            out.emit_json(report.to_dict())


def migrate(project: Path | None, dry_run: bool, json_output: bool) -> None:
    out = Output(json_output)
    with out.handling_errors({"--project": project}):
        from tac_bootstrap.application.database_reports import migrate_database

        report = migrate_database(project, dry_run=dry_run)
        if dry_run:
            for filename in report.migrations:
                out.info(f"would apply {filename}")
        else:
            if report.note:
                out.info(report.note)
            if report.backup:
                out.info(f"backup of the database before migrating: {report.backup}")
            for filename in report.migrations:
                out.info(f"applied {filename}")
        if not report.migrations:
            out.info(f"{report.target.display} is up to date")
        if out.json_mode:
            out.emit_json(report.to_dict())


def status(project: Path | None, json_output: bool) -> None:
    out = Output(json_output)
    with out.handling_errors({"--project": project}):
        # Not through database_reports: `db status` skips the other reports' dataclasses.
        from tac_bootstrap.application.database_status_report import database_status

        report = database_status(project)
        target, state = report.target, report.status
        table = Table(title="Orchestrator database", show_header=False)
        table.add_column("key", style="bold")
        table.add_column("value", overflow="fold")
        table.add_row("backend", "PostgreSQL" if target.location.is_postgres else "SQLite")
        # Text, not markup: a path or server version may hold "[...]".
        table.add_row("location", Text(f"{target.display} ({target.location.source})"))
        if state.server_version:
            table.add_row("server version", Text(state.server_version))
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
            out.emit_json(report.to_dict())


def prune(
    project: Path | None, older_than: float, dry_run: bool, yes: bool, json_output: bool
) -> None:
    out = Output(json_output)

    def ask(counts: dict[str, int]) -> None:
        question = f"Delete {_listed(counts)} older than {older_than:g} days?"
        confirm(
            question,
            yes=yes,
            may_ask=not json_output,
            default=False,
            refusal="refusing to delete without confirmation",
            hint="pass --yes (or --dry-run)",
            cancelled="cancelled; nothing was deleted",
        )

    with out.handling_errors({"--project": project}):
        from tac_bootstrap.application.database_reports import prune_database

        report = prune_database(project, older_than_days=older_than, dry_run=dry_run, confirm=ask)
        if report.dry_run:
            total = sum(report.deleted.values())
            out.info(f"would delete {_listed(report.deleted)}" if total else "nothing to prune")
        else:
            out.info(f"deleted {_listed(report.deleted)}")
        if out.json_mode:
            out.emit_json(report.to_dict())


def _listed(counts: dict[str, int]) -> str:
    return ", ".join(f"{n:,} {table}" for table, n in counts.items())


def backup(project: Path | None, destination: Path, json_output: bool) -> None:
    out = Output(json_output)
    with out.handling_errors({"--project": project, "DEST": destination}):
        from tac_bootstrap.application.database_reports import backup_database

        with progress_bar(out, "backup") as progress:
            report = backup_database(project, destination, progress)
        out.info(f"backup written: {destination} ({human_size(report.size_bytes)})")
        if out.json_mode:
            out.emit_json(report.to_dict())


def export(project: Path | None, destination: Path, fmt: str, json_output: bool) -> None:
    out = Output(json_output)
    with out.handling_errors({"--project": project, "DEST": destination}):
        from tac_bootstrap.application.database_reports import export_database

        with progress_bar(out, "export") as progress:
            report = export_database(project, destination, fmt, progress)
        out.info(f"exported {sum(report.counts.values()):,} rows to {destination} ({fmt})")
        if out.json_mode:
            out.emit_json(report.to_dict())
