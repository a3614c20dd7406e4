"""Bodies of the `tac-bootstrap db` commands: arguments in, rich tables or JSON out.

Every command works on a SQLite file and on a PostgreSQL database alike; the location is shown
as `target.display`, which masks a URL's password.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from tac_bootstrap.application import database_service as service
from tac_bootstrap.cli.output import Output
from tac_bootstrap.cli.prompts import confirm
from tac_bootstrap.domain.errors import UsageError
from tac_bootstrap.runtime.adw_database import OrchestratorDB

ROLLUP_CHOICES = ("session", "agent", "model", "day")
# Below this many rows/pages a progress bar would only flicker.
PROGRESS_THRESHOLD = 20_000


def _human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


@contextmanager
def _progress(out: Output, label: str) -> Iterator[service.Progress]:
    """A progress bar on stderr for large jobs; silent when stderr is not a terminal."""
    # Imported here: rich.progress costs start-up time and only backup/import show a bar.
    from rich.progress import (
        BarColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeRemainingColumn,
    )

    bar = Progress(
        TextColumn(label),
        BarColumn(),
        TaskProgressColumn(),
        TimeRemainingColumn(),
        console=out.stderr_console,
        transient=True,
        disable=not out.stderr_console.is_terminal,
    )
    task = bar.add_task(label, total=None)
    started = False

    def update(done: int, total: int) -> None:
        nonlocal started
        if not started and total >= PROGRESS_THRESHOLD:
            bar.start()
            started = True
        bar.update(task, completed=done, total=total)

    try:
        yield update
    finally:
        if started:
            bar.stop()


def _where(target: service.DatabaseTarget) -> dict[str, Any]:
    """The keys every JSON document uses to say which database it is about."""
    return {
        "path": str(target.path) if target.path is not None else None,
        "backend": target.backend,
        "location": target.display,
    }


def init_db(project: Path | None, json_output: bool) -> None:
    out = Output(json_output)
    with out.handling_errors({"--project": project}):
        target = service.locate(project)
        missing_file = not target.exists
        run = service.migrate(target)
        if target.is_postgres:  # the database is the server's; the tables are ours
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
                    **_where(target),
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
            if target.is_postgres:
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
                    **_where(target),
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
        table.add_row("backend", "PostgreSQL" if target.is_postgres else "SQLite")
        table.add_row("location", f"{target.display} ({target.location.source})")
        if state.server_version:
            table.add_row("server version", state.server_version)
        size = _human_size(state.size_bytes) if state.exists else "not created yet"
        if target.is_postgres:
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
                    **_where(target),
                    "server_version": state.server_version or None,
                    "source": target.location.source,
                    "exists": state.exists,
                    "size_bytes": state.size_bytes,
                    "schema_version": state.schema_version,
                    "pending_migrations": state.pending,
                    "counts": state.counts,
                }
            )


@contextmanager
def _reading(out: Output, target: service.DatabaseTarget) -> Iterator[OrchestratorDB | None]:
    """The open database, or None (and a note) when nothing has been recorded yet: no SQLite
    file, or a PostgreSQL database without the tables. Warns about pending migrations."""
    if not target.exists:
        out.warn(f"no database at {target.path} yet: nothing has been recorded")
        yield None
        return
    with service.opened(target, migrate=False) as db:
        if not service.initialised(db):
            out.warn(f"no orchestrator tables in {target.display} yet: nothing has been recorded")
            yield None
            return
        todo = db.pending_migrations()
        if todo:
            out.warn(f"{len(todo)} pending migration(s); run `tac-bootstrap db migrate`")
        yield db


STATS_COLUMNS = (
    ("prompts", "prompts"),
    ("messages", "messages"),
    ("input", "input_tokens"),
    ("output", "output_tokens"),
    ("cache write", "cache_creation_tokens"),
    ("cache read", "cache_read_tokens"),
)


def stats(project: Path | None, by: str, session: str | None, json_output: bool) -> None:
    out = Output(json_output)
    with out.handling_errors({"--project": project}):
        if by not in ROLLUP_CHOICES:
            raise UsageError(
                f"--by {by!r} is not supported", hint="use session, agent, model or day"
            )
        target = service.locate(project)
        rows: list[Any] = []
        unpriced: dict[str, int] = {}
        budgets: dict[str, float] = {}
        with _reading(out, target) as db:
            if db is not None:
                rows = db.rollup(by, session_id=session)  # type: ignore[arg-type]
                unpriced = service.unpriced_models(db, session)
                if by == "session":
                    budgets = db.run_budgets(session_id=session)
        # prompts: workflow prompts (their result lines); messages: transcript messages of
        # sessions no prompt ran (interactive sessions), recorded from their transcripts.
        table = Table(title=f"Cost and tokens by {by}")
        widest = max((len(row.key) for row in rows), default=len(by))
        table.add_column(by, justify="left", overflow="fold", min_width=min(widest, 36))
        for label, _ in STATS_COLUMNS:
            table.add_column(label, justify="right")
        table.add_column("cost (USD)", justify="right")
        if budgets:  # workflow runs started with agentic.run_budget_usd
            table.add_column("budget (USD)", justify="right")
        for row in rows:
            cost = f"{row.cost_usd:,.4f}" + (" *" if row.unpriced_messages else "")
            cells = [row.key, *(f"{getattr(row, f):,}" for _, f in STATS_COLUMNS), cost]
            if budgets:
                budget = budgets.get(row.key)
                spent = budget is not None and row.cost_usd >= budget
                shown = "" if budget is None else f"{budget:,.4f}" + (" spent" if spent else "")
                cells.append(shown)
            table.add_row(*cells)
        totals: dict[str, Any] = {
            field: sum(getattr(r, field) for r in rows) for _, field in STATS_COLUMNS
        }
        totals["cost_usd"] = round(sum(r.cost_usd for r in rows), 10)
        totals["unpriced_messages"] = sum(r.unpriced_messages for r in rows)
        table.add_section()
        table.add_row(
            "total",
            *(f"{totals[f]:,}" for _, f in STATS_COLUMNS),
            f"{totals['cost_usd']:,.4f}",
            *([""] if budgets else []),
        )
        out.console.print(table)
        if unpriced:
            listed = ", ".join(f"{model} ({n:,})" for model, n in unpriced.items())
            out.info(
                f"* {totals['unpriced_messages']:,} transcript message(s) of models without a "
                f"price are counted at cost 0: {listed}"
            )
        if out.json_mode:
            out.emit_json(
                {
                    "ok": True,
                    "by": by,
                    "session": session,
                    "rows": [r.model_dump(mode="json") for r in rows],
                    "totals": totals,
                    "unpriced_models": unpriced,
                    "budgets": budgets,
                }
            )


def import_transcripts(
    project: Path | None,
    paths: list[Path],
    since: float | None,
    dry_run: bool,
    json_output: bool,
) -> None:
    out = Output(json_output)
    with out.handling_errors({"--project": project}):
        with _progress(out, "import") as progress:
            done = service.import_transcripts(
                project, paths, since_days=since, dry_run=dry_run, progress=progress
            )
        report, counts = done.report, done.report.counts
        if done.default_search and not done.searched:
            out.info(
                f"no Claude Code transcripts of {done.target.project_root} found under "
                f"{transcripts_home()}"
            )
        verb = "would import" if dry_run else "imported"
        table = Table(
            title=f"Transcripts {'(dry run) ' if dry_run else ''}-> {done.target.display}"
        )
        table.add_column("what")
        table.add_column("count", justify="right")
        for label, value in (
            ("transcript files", report.files),
            ("sessions", len(counts.sessions)),
            ("messages", counts.messages),
            (f"messages {verb}", counts.inserted),
            ("messages updated (usage grew)", counts.updated),
            ("duplicates skipped", counts.duplicates),
            ("lines skipped (<synthetic>, no usage)", report.skipped),
            ("bad lines skipped", report.bad_lines),
            ("input tokens", counts.tokens["input_tokens"]),
            ("output tokens", counts.tokens["output_tokens"]),
            ("cache write tokens", counts.tokens["cache_creation_tokens"]),
            ("cache read tokens", counts.tokens["cache_read_tokens"]),
        ):
            table.add_row(label, f"{value:,}")
        table.add_row("cost (USD)", f"{counts.cost_usd:,.4f}")
        out.console.print(table)
        if counts.unpriced_models:
            out.info(
                f"{counts.unpriced:,} message(s) of models without a price, counted at cost 0: "
                + ", ".join(sorted(counts.unpriced_models))
            )
        for error in report.errors:
            sys.stderr.write(f"error: {error}\n")
        failed = bool(report.errors)
        if out.json_mode:
            out.emit_json(
                {
                    "ok": not failed,
                    "command": "db import-transcripts",
                    **_where(done.target),
                    "searched": [str(p) for p in done.searched],
                    **report.to_json(),
                }
            )
        if failed:
            raise typer.Exit(1)


def transcripts_home() -> Path:
    from tac_bootstrap.runtime.transcripts import claude_config_dir

    return claude_config_dir() / "projects"


def logs(
    project: Path | None,
    agent: str | None,
    level: str | None,
    since_at: datetime | None,
    limit: int,
    json_output: bool,
) -> None:
    out = Output(json_output)
    with out.handling_errors({"--project": project}):
        target = service.locate(project)
        records: list[Any] = []
        with _reading(out, target) as db:
            if db is not None:
                records = db.recent_logs(
                    agent_id=agent,
                    min_level=level.upper() if level else None,
                    since=since_at,
                    limit=limit,
                )
        table = Table(title="Recent logs (newest first)")
        for column in ("time (UTC)", "level", "source", "type"):
            table.add_column(column, no_wrap=True)
        table.add_column("message", overflow="fold")
        for record in records:
            # ids are time-ordered (UUIDv7): the tail, not the head, tells agents apart
            source = f"agent …{record.agent_id[-8:]}" if record.agent_id else record.component
            table.add_row(
                record.created_at.strftime("%m-%d %H:%M:%S"),
                record.log_level.value,
                source or "",
                record.log_type or "",
                record.message,
            )
        out.console.print(table)
        if out.json_mode:
            out.emit_json({"ok": True, "logs": [r.model_dump(mode="json") for r in records]})


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
        with _progress(out, "backup") as progress:
            size = service.backup(target, destination, progress)
        out.info(f"backup written: {destination} ({_human_size(size)})")
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
            _progress(out, "export") as progress,
        ):
            counts = service.export(db, destination, fmt, progress)
        out.info(f"exported {sum(counts.values()):,} rows to {destination} ({fmt})")
        if out.json_mode:
            out.emit_json(
                {"ok": True, "destination": str(destination), "format": fmt, "counts": counts}
            )
