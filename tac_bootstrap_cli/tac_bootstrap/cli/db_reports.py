"""`tac-bootstrap db stats`, `db logs` and `db import-transcripts`: what was recorded, as rich
tables or one JSON document."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from tac_bootstrap.application import database_service as service
from tac_bootstrap.application import database_transcripts
from tac_bootstrap.cli.db_output import progress_bar, reading, where
from tac_bootstrap.cli.output import Output
from tac_bootstrap.domain.errors import UsageError

ROLLUP_CHOICES = ("session", "agent", "model", "day")


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
        with reading(out, target) as db:
            if db is not None:
                rows = db.rollup(by, session_id=session)  # type: ignore[arg-type]
                unpriced = database_transcripts.unpriced_models(db, session)
                if by == "session":
                    budgets = db.run_budgets(session_id=session)
        totals = _stats_totals(rows)
        out.console.print(_stats_table(by, rows, budgets, totals))
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


def _stats_totals(rows: list[Any]) -> dict[str, Any]:
    totals: dict[str, Any] = {
        field: sum(getattr(r, field) for r in rows) for _, field in STATS_COLUMNS
    }
    totals["cost_usd"] = round(sum(r.cost_usd for r in rows), 10)
    totals["unpriced_messages"] = sum(r.unpriced_messages for r in rows)
    return totals


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
        cells = [row.key, *(f"{getattr(row, f):,}" for _, f in STATS_COLUMNS), cost]
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
                    **where(done.target),
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
        with reading(out, target) as db:
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
