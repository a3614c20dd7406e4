"""Body of `tac-bootstrap doctor`: a table of checks for people, one JSON document for scripts."""

from __future__ import annotations

from pathlib import Path

import typer

from tac_bootstrap.application.doctor import CheckStatus, DoctorReport
from tac_bootstrap.application.doctor_service import doctor_project
from tac_bootstrap.cli.output import Output
from tac_bootstrap.cli.plain_table import Column

GLYPH = {
    CheckStatus.OK: ("✔ ok", "green"),
    CheckStatus.WARN: ("! warn", "yellow"),
    CheckStatus.FAIL: ("✖ fail", "bold red"),
}
DETAIL_LINES = 8  # paths shown under a message; --json has them all


def run_doctor_command(*, path: Path | None, fix: bool, json_output: bool) -> None:
    out = Output(json_output)
    with out.handling_errors({"PATH": path}):
        report = doctor_project(path, fix=fix)  # an invalid config: a usage error (exit 2)
        _show(out, report, fix)
        if out.json_mode:
            out.emit_json({"command": "doctor", **report.to_dict()})
    if not report.ok:
        raise typer.Exit(1)


def _show(out: Output, report: DoctorReport, fix: bool) -> None:
    for item in report.fixed:
        out.info(f"fixed: {item.message}")
        for fixed_path in item.paths[:DETAIL_LINES]:
            out.info(f"  {fixed_path}")
        if len(item.paths) > DETAIL_LINES:
            out.info(f"  … and {len(item.paths) - DETAIL_LINES} more")
    columns = (
        Column("check", wrap=False),
        Column("status", wrap=False),
        Column("message", fold=True),
        Column("how to fix", fold=True),
    )
    rows: list[tuple[str, ...]] = []
    styles: list[tuple[str, ...]] = []
    for check in report.checks:
        message = check.message
        extra = [d for d in check.details if d not in check.message]
        for detail in extra[:DETAIL_LINES]:
            message += f"\n  {detail}"
        if len(extra) > DETAIL_LINES:
            message += f"\n  … and {len(extra) - DETAIL_LINES} more (--json lists all)"
        hint = check.hint if check.status is not CheckStatus.OK else ""
        glyph, style = GLYPH[check.status]
        rows.append((check.name, glyph, message, hint))
        styles.append(("", style, "", ""))
    title = f"tac-bootstrap doctor: {report.root}"
    out.table(title, columns, rows, styles, title_left=True)
    out.info(_summary(report, fix))


def _summary(report: DoctorReport, fix: bool) -> str:
    failed = report.count(CheckStatus.FAIL)
    warned = report.count(CheckStatus.WARN)
    counts = (
        f"{len(report.checks)} checks: {report.count(CheckStatus.OK)} ok, "
        f"{warned} warning{'' if warned == 1 else 's'}, {failed} failed"
    )
    if not failed:
        return f"{counts}; the agentic layer is healthy" + (" (see the warnings)" if warned else "")
    fixable = sum(1 for c in report.checks if c.status is CheckStatus.FAIL and c.fixable)
    if fixable and not fix:
        return f"{counts}; {fixable} can be fixed with `tac-bootstrap doctor --fix`"
    return f"{counts}; see 'how to fix' above"
