"""`tac-bootstrap db stats`, `db logs` and `db import-transcripts`: what was recorded, as rich
tables or one JSON document."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import typer
from rich.table import Table
from rich.text import Text

from tac_bootstrap.application import database_reports as reports
from tac_bootstrap.application import database_transcripts
from tac_bootstrap.cli.db_output import progress_bar
from tac_bootstrap.cli.output import Output

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
        report = reports.cost_stats(project, by=by, session=session)
        for warning in report.warnings:
            out.warn(warning)
        totals = report.totals
        out.console.print(_stats_table(by, report.rows, report.budgets, totals))
        if report.unpriced_models:
            listed = ", ".join(f"{model} ({n:,})" for model, n in report.unpriced_models.items())
            out.info(
                f"* {totals['unpriced_messages']:,} transcript message(s) of models without a "
                f"price are counted at cost 0: {listed}"
            )
        if out.json_mode:
            out.emit_json(report.to_dict())


def _stats_table(
    by: str, rows: list[Any], budgets: dict[str, float], totals: dict[str, Any]
) -> Table:
    """One row per group, then the totals; a budget column for runs that have one."""
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
        # Text, not markup: keys (session ids, model names) come from the database.
        cells: list[str | Text] = [
            Text(row.key),
            *(f"{getattr(row, f):,}" for _, f in STATS_COLUMNS),
            cost,
        ]
        if budgets:
            budget = budgets.get(row.key)
            spent = budget is not None and row.cost_usd >= budget
            shown = "" if budget is None else f"{budget:,.4f}" + (" spent" if spent else "")
            cells.append(shown)
        table.add_row(*cells)
    table.add_section()
    table.add_row(
        "total",
        *(f"{totals[f]:,}" for _, f in STATS_COLUMNS),
        f"{totals['cost_usd']:,.4f}",
        *([""] if budgets else []),
    )
    return table


def import_transcripts(
    project: Path | None,
    paths: list[Path],
    since: float | None,
    dry_run: bool,
    json_output: bool,
) -> None:
    out = Output(json_output)
    with out.handling_errors({"--project": project}):
        with progress_bar(out, "import") as progress:
            done = database_transcripts.import_transcripts(
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
            title=Text(f"Transcripts {'(dry run) ' if dry_run else ''}-> {done.target.display}")
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
        if out.json_mode:
            out.emit_json(done.to_dict())
        if not done.ok:
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
        report = reports.recent_logs(project, agent=agent, level=level, since=since_at, limit=limit)
        for warning in report.warnings:
            out.warn(warning)
        table = Table(title="Recent logs (newest first)")
        for column in ("time (UTC)", "level", "source", "type"):
            table.add_column(column, no_wrap=True)
        table.add_column("message", overflow="fold")
        for record in report.logs:
            # ids are time-ordered (UUIDv7): the tail, not the head, tells agents apart
            source = f"agent …{record.agent_id[-8:]}" if record.agent_id else record.component
            table.add_row(
                record.created_at.strftime("%m-%d %H:%M:%S"),
                record.log_level.value,
                # Text, not markup: a message like "[bold]x[/]" prints as written.
                Text(source or ""),
                Text(record.log_type or ""),
                Text(record.message),
            )
        out.console.print(table)
        if out.json_mode:
            out.emit_json(report.to_dict())
