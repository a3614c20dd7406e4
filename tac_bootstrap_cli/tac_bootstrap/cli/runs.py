"""Bodies of `tac-bootstrap runs` (the workflow runs: a table fitted to the terminal, else
tab-separated lines; cli/runs_table.py) and `tac-bootstrap clean`
(show what goes, ask, remove the finished runs' worktrees, say what was kept and why)."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.table import Table
from rich.text import Text

from tac_bootstrap.application.runs_clean import (
    CleanAction,
    CleanItem,
    CleanReport,
    apply_clean,
    plan_clean,
)
from tac_bootstrap.application.runs_service import list_runs
from tac_bootstrap.cli.output import Output
from tac_bootstrap.cli.prompts import confirm
from tac_bootstrap.cli.runs_table import print_table, shown_path, tsv_lines

ACTION_STYLE = {
    CleanAction.REMOVE: "red",
    CleanAction.REMOVED: "red",
    CleanAction.KEEP: "bold yellow",
    CleanAction.SKIP: "dim",
    CleanAction.FAILED: "bold red",
    CleanAction.UNKNOWN: "bold red",
}


def run_runs(*, project: Path | None, status: str | None, json_output: bool) -> None:
    out = Output(json_output)
    with out.handling_errors({"--project": project}):
        report = list_runs(project, status=status)
        for warning in report.warnings:
            out.warn(warning)
        if out.json_mode:
            out.emit_json(report.to_dict())
        elif report.runs and out.console.is_terminal:
            print_table(out.console, report.root, report.runs)
        elif report.runs:  # a pipe or a file: tab-separated lines, nothing cut
            sys.stdout.write("".join(line + "\n" for line in tsv_lines(report.root, report.runs)))
            sys.stdout.flush()
        else:
            which = f" with status {status}" if status else ""
            out.info(f"no workflow runs{which} in {report.root}")


def _clean_table(root: Path, items: list[CleanItem], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("adw_id", "status", "action", "worktree", "detail"):
        table.add_column(column, overflow="fold")
    for item in items:
        detail = item.reason
        if item.patch:
            detail += f"; uncommitted work saved as {item.patch}"
        if item.bundle:
            detail += f"; the unmerged branch saved as {item.bundle}"
        if item.branch_deleted:
            detail += f"; branch {item.branch} deleted"
        table.add_row(
            Text(item.adw_id),
            Text(item.status),
            Text(item.action.value, style=ACTION_STYLE.get(item.action, "")),
            Text(shown_path(root, item.worktree)),
            Text(detail),
        )
    return table


def run_clean(
    *,
    adw_ids: list[str],
    project: Path | None,
    all_finished: bool,
    force: bool,
    dry_run: bool,
    yes: bool,
    json_output: bool,
) -> None:
    out = Output(json_output)
    with out.handling_errors({"--project": project}):
        plan = plan_clean(project, adw_ids, all_finished=all_finished, force=force)
        if plan.removals and not dry_run:
            if not out.json_mode and not yes:  # the plan, before the question
                out.console.print(_clean_table(plan.found.root, plan.items, "Clean"))
            confirm(
                f"Remove {len(plan.removals)} worktree(s) of {plan.found.root}?",
                yes=yes,
                may_ask=not json_output,
                default=False,
                refusal="refusing to remove worktrees without confirmation",
                hint="pass --yes (or look first with --dry-run)",
                cancelled="cancelled; nothing was removed",
            )
        report = apply_clean(plan, dry_run=dry_run)
        _report(out, report)
    if not report.ok:
        raise typer.Exit(1)


def _report(out: Output, report: CleanReport) -> None:
    for warning in report.warnings:
        out.warn(warning)
    if out.json_mode:
        out.emit_json(report.to_dict())
        return
    if not report.items:
        out.info("nothing to clean: no finished or stale run has a worktree")
        return
    title = "Clean (dry run)" if report.dry_run else "Clean"
    out.console.print(_clean_table(report.root, report.items, title))
    removed = sum(1 for i in report.items if i.action is CleanAction.REMOVED)
    planned = sum(1 for i in report.items if i.action is CleanAction.REMOVE)
    kept = sum(1 for i in report.items if i.action is CleanAction.KEEP)
    if report.dry_run:
        out.info(f"{planned} worktree(s) would be removed, {kept} kept; nothing was changed")
    else:
        out.info(f"{removed} worktree(s) removed, {kept} kept")
    if any(i.patch or i.bundle for i in report.items):
        out.info(
            f"backups are in {report.backup_dir}/<adw_id>/ (git apply <patch>; "
            "git fetch <bundle> <branch>:<branch>)"
        )
