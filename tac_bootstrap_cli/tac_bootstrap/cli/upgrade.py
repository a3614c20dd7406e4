"""Body of `tac-bootstrap upgrade`: show what changes, ask, apply, report conflicts."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.syntax import Syntax
from rich.table import Table

from tac_bootstrap.application.upgrade_service import Change, UpgradePlan, UpgradeService
from tac_bootstrap.cli.output import Output
from tac_bootstrap.cli.project import project_root
from tac_bootstrap.cli.prompts import confirm
from tac_bootstrap.domain.config import CONFIG_FILENAME
from tac_bootstrap.domain.permissions import command_warnings
from tac_bootstrap.infrastructure.config_loader import load_config

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
        table.add_row(item.path, f"[{style}]{item.change.value}[/]", item.detail)
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
        path = project_root(path)
        config = load_config(path / CONFIG_FILENAME)
        for warning in command_warnings(config):
            out.warn(warning)
        service = UpgradeService()
        plan = service.plan(path, config)
        _show(out, plan, dry_run)
        backup = None
        if dry_run:
            for item in plan.pending:
                diff = item.diff()
                if diff:
                    out.console.print(Syntax(diff, "diff", theme="ansi_dark", word_wrap=True))
        elif plan.pending:
            _confirm(f"Apply {len(plan.pending)} change(s) to {path}?", yes, json_output)
            backup = service.apply(plan)
            if backup:
                out.info(f"previous versions of changed files: {backup}")
        else:
            service.apply(plan)  # records adopted files in the manifest; changes nothing else
            out.info("the layer is up to date")
        for item in plan.conflicts:
            out.info(f"conflict: {item.path} ({item.detail})")
        if any(item.write is not None for item in plan.conflicts) and not dry_run:
            out.info("resolve the conflict markers (<<<<<<< ======= >>>>>>>), then commit")
        if out.json_mode:
            out.emit_json(
                {
                    "ok": not plan.conflicts,
                    "command": "upgrade",
                    "dry_run": dry_run,
                    "summary": plan.summary(),
                    "backup": backup,
                    "files": [
                        {"path": i.path, "change": i.change.value, "detail": i.detail}
                        for i in plan.items
                    ],
                }
            )
        if plan.conflicts:
            raise typer.Exit(1)
