"""Body of `tac-bootstrap remove`: show what goes, ask, remove, say what was kept and where
the backups are."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table
from rich.text import Text

from tac_bootstrap.application.remove_files import Removal, RemoveItem
from tac_bootstrap.application.remove_service import (
    RemovePlan,
    apply_remove,
    plan_remove,
    prepare_remove,
)
from tac_bootstrap.cli.output import Output
from tac_bootstrap.cli.prompts import confirm

STYLE = {
    Removal.DELETE: "red",
    Removal.RESTORE: "green",
    Removal.UNMERGE: "cyan",
    Removal.MOVE: "yellow",
    Removal.KEEP: "bold yellow",
    Removal.GONE: "dim",
}


def _shown(item: RemoveItem, dry_run: bool) -> bool:
    """A dry run lists every action; a run lists all but the plain deletions (counted)."""
    return dry_run or item.action is not Removal.DELETE or item.backup or item.database


def _show(out: Output, plan: RemovePlan, dry_run: bool) -> None:
    table = Table(title="Remove (dry run)" if dry_run else "Remove")
    for column in ("path", "action", "detail"):
        table.add_column(column, overflow="fold")
    for item in plan.items:
        if _shown(item, dry_run):
            style = STYLE.get(item.action, "")
            action = Text(item.action.value, style=style)
            table.add_row(Text(item.path), action, Text(item.detail))
    if dry_run:
        for directory in plan.directories:
            table.add_row(Text(f"{directory}/"), Text("rmdir", style="red"), Text("left empty"))
    if table.row_count:
        out.console.print(table)
    counts: dict[str, int] = {}
    for item in plan.items:
        counts[item.action.value] = counts.get(item.action.value, 0) + 1
    summary = ", ".join(f"{n} {name}" for name, n in counts.items())
    emptied = len(plan.directories)
    directories = f"{emptied} director{'y' if emptied == 1 else 'ies'} left empty"
    out.info(f"{len(plan.items)} paths: {summary}; {directories}")


def run_remove(
    *,
    path: Path,
    dry_run: bool,
    yes: bool,
    force: bool,
    purge_database: bool,
    json_output: bool,
) -> None:
    out = Output(json_output)
    with out.handling_errors({"PATH": path}):
        prepared = prepare_remove(path)
        plan = plan_remove(prepared, force=force, purge_database=purge_database)
        if not out.json_mode:
            _show(out, plan, dry_run)
        if not dry_run:
            confirm(
                f"Remove the agentic layer from {prepared.root}?",
                yes=yes,
                may_ask=not json_output,
                default=False,
                refusal="refusing to remove the layer without confirmation",
                hint="pass --yes (or look first with --dry-run)",
                cancelled="cancelled; nothing was changed",
            )
        report = apply_remove(prepared, plan, dry_run=dry_run)
        for warning in report.warnings:
            out.warn(warning)
        if report.backup:
            out.info(
                f"backups (remove the directory once you no longer need them): {report.backup}"
            )
        elif not dry_run and report.ok:
            out.info(f"the agentic layer is removed from {prepared.root}")
        if out.json_mode:
            out.emit_json(report.to_dict())
    if not report.ok:
        raise typer.Exit(1)
