"""Body of `tac-bootstrap upgrade`: show what changes, ask, apply, report conflicts."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from tac_bootstrap.application.upgrade_service import (
    Change,
    UpgradePlan,
    apply_upgrade,
    plan_upgrade,
    prepare_upgrade,
)
from tac_bootstrap.cli.output import Output
from tac_bootstrap.cli.prompts import confirm

STYLE = {
    Change.UPDATE: "green",
    Change.CREATE: "green",
    Change.MERGE: "cyan",
    Change.CONFLICT: "bold red",
    Change.KEEP: "dim",
    Change.DELETED: "yellow",
    Change.REMOVE: "yellow",
    Change.OBSOLETE: "yellow",
}


def _show(out: Output, plan: UpgradePlan, dry_run: bool) -> None:
    table = Table(title="Upgrade (dry run)" if dry_run else "Upgrade")
    for column in ("file", "change", "detail"):
        table.add_column(column, overflow="fold")
    for item in plan.items:
        if item.change is Change.UNCHANGED:
            continue
        style = STYLE.get(item.change, "")
        table.add_row(Text(item.path), f"[{style}]{item.change.value}[/]", Text(item.detail))
    if table.row_count:
        out.console.print(table)
    counts = ", ".join(f"{n} {name}" for name, n in plan.summary().items() if n)
    out.info(f"{len(plan.items)} files: {counts}")
    if not plan.had_manifest:
        out.warn(
            "no tac_bootstrap.manifest.json: files that differ from the templates are treated "
            "as yours (conflicts), never overwritten"
        )


def _confirm(question: str, yes: bool, json_output: bool) -> None:
    confirm(
        question,
        yes=yes,
        may_ask=not json_output,
        default=True,
        refusal="refusing to change files without confirmation",
        hint="pass --yes",
        cancelled="cancelled; nothing was changed",
    )


def run_upgrade(*, path: Path | None, dry_run: bool, yes: bool, json_output: bool) -> None:
    out = Output(json_output)
    with out.handling_errors({"PATH": path}):
        prepared = prepare_upgrade(path)
        for warning in prepared.warnings:
            out.warn(warning)
        plan = plan_upgrade(prepared)
        _show(out, plan, dry_run)
        if dry_run:
            for item in plan.pending:
                diff = item.diff()
                if diff:
                    out.console.print(Syntax(diff, "diff", theme="ansi_dark", word_wrap=True))
        elif plan.pending:
            _confirm(f"Apply {len(plan.pending)} change(s) to {prepared.root}?", yes, json_output)
        report = apply_upgrade(prepared, plan, dry_run=dry_run)
        if report.backup:
            out.info(f"previous versions of changed files: {report.backup}")
        elif not dry_run and not plan.pending:
            out.info("the layer is up to date")
        for item in plan.conflicts:
            out.info(f"conflict: {item.path} ({item.detail})")
        if any(item.write is not None for item in plan.conflicts) and not dry_run:
            out.info("resolve the conflict markers (<<<<<<< ======= >>>>>>>), then commit")
        if out.json_mode:
            out.emit_json(report.to_dict())
    if not report.ok:
        raise typer.Exit(1)
