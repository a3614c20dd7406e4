"""Bodies of `init` and `render`, imported only when one of them runs (see app.py).

Each body asks (at a terminal), calls the application service and prints its report; the
service validates, plans, writes and collects the warnings. Each body imports its own service:
`render --check` must not pay for init's (tests/test_startup_imports.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from tac_bootstrap.cli.output import Output
from tac_bootstrap.domain.plan import ApplyReport, FileResult, Status

if TYPE_CHECKING:
    from tac_bootstrap.application.render_service import RenderReport
    from tac_bootstrap.domain.config import Language, PackageManager


def _ask_stack(
    language: Language | None, framework: str | None, pm: PackageManager | None
) -> tuple[Language, str, PackageManager | None]:
    from rich.prompt import Prompt

    from tac_bootstrap.domain.config import FRAMEWORKS, PACKAGE_MANAGERS, Language, PackageManager

    if language is None:
        answer = Prompt.ask(
            "Language", choices=[lang.value for lang in Language], default=Language.PYTHON.value
        )
        language = Language(answer)
    if framework is None:
        framework = Prompt.ask("Framework", choices=list(FRAMEWORKS[language]), default="none")
    if pm is None:
        options = [p.value for p in PACKAGE_MANAGERS[language]]
        pm = PackageManager(Prompt.ask("Package manager", choices=options, default=options[0]))
    return language, framework, pm


def _show_apply(out: Output, report: ApplyReport) -> None:
    """The files and their statuses: a tree for a dry run, else a summary table."""
    if report.dry_run:
        out.tree(report)
        out.info(out.summary_line(report))
    else:
        out.summary_table(report)
        if report.conflicts:
            out.info(
                f"{len(report.conflicts)} conflict(s) left untouched; "
                "re-run with --force to overwrite them (a backup of each is kept)"
            )


def _warn_all(out: Output, warnings: list[str]) -> None:
    for warning in warnings:
        out.warn(warning)


def run_init(
    *,
    name: str,
    output_dir: Path,
    language: str | None,
    framework: str | None,
    package_manager: str | None,
    yes: bool,
    git: bool,
    dry_run: bool,
    force: bool,
    json_output: bool,
) -> None:
    from tac_bootstrap.application.init_service import apply_init, check_init, prepare_init
    from tac_bootstrap.cli.prompts import may_prompt

    out = Output(json_output)
    with out.handling_errors({"--output-dir": output_dir}):
        checked = check_init(name, output_dir, language, package_manager)
        lang, pm = checked.language, checked.package_manager
        if may_prompt(yes, json_output):
            lang, framework, pm = _ask_stack(lang, framework, pm)
        prepared = prepare_init(
            checked, language=lang, framework=framework, package_manager=pm, git=git
        )
        _warn_all(out, prepared.warnings)
        report = apply_init(prepared, dry_run=dry_run, force=force)
        if not dry_run and report.wrote_files:
            out.info(f"Project {name!r} is ready in {report.target}")
        if report.git_message is not None:
            out.info(report.git_message)
        _warn_all(out, report.tool_warnings)
        _warn_all(out, report.gitignore_warnings)
        _show_apply(out, report.apply)
        if out.json_mode:
            out.emit_json(report.to_dict())
    if not report.ok:
        raise typer.Exit(1)


def run_render(
    *,
    path: Path | None,
    dry_run: bool,
    force: bool,
    check: bool,
    restore: list[str],
    json_output: bool,
) -> None:
    out = Output(json_output)
    plain_check = check and not (dry_run or force or restore)
    if plain_check and _replay_check(out, path):
        return
    from tac_bootstrap.application.render_service import apply_render, prepare_render

    with out.handling_errors({"PATH": path}):
        prepared = prepare_render(path, check=check, force=force, restore=restore)
        _warn_all(out, prepared.warnings)
        report = apply_render(prepared, check=check, force=force, dry_run=dry_run, restore=restore)
        if check:
            _show_check(out, report)
        else:
            _show_apply(out, report.apply)
        for note in report.ignore_notes:  # generated files git would leave out of every commit
            out.warn(note)
        if out.json_mode:
            out.emit_json(report.to_dict())
    if not report.ok:
        raise typer.Exit(1)
    if plain_check and not report.ignore_notes:
        from tac_bootstrap.application.render_check_memo import record

        record(
            prepared.root,
            read=report.read,
            generated=report.generated,
            warnings=prepared.warnings,
            lines=check_lines(report),
        )


def _replay_check(out: Output, path: Path | None) -> bool:
    """Print a clean check again from render_check_memo, when nothing it read has changed."""
    from tac_bootstrap.application.project_lookup import project_root
    from tac_bootstrap.application.render_check_memo import replay

    with out.handling_errors({"PATH": path}):
        root = project_root(path)
    recorded = replay(root)
    if recorded is None:
        return False
    _warn_all(out, recorded.warnings)
    for line in recorded.lines:
        out.info(line)
    if out.json_mode:  # what RenderReport.to_dict says of a clean check
        out.emit_json({"ok": True, "command": "render --check", "target": str(root), "differs": []})
    return True


def _show_check(out: Output, report: RenderReport) -> None:
    for line in check_lines(report):
        out.info(line)


def check_lines(report: RenderReport) -> list[str]:
    """What `render --check` says: each drifted file, the summary, the files you deleted."""
    from tac_bootstrap.application.render_service import drift_state

    drifted, total = report.drifted, len(report.apply.results)
    lines = [f"{drift_state(result)}: {result.path}" + _check_hint(result) for result in drifted]
    if drifted:
        lines.append(
            f"{len(drifted)} of {total} generated files differ from the templates; "
            "run `tac-bootstrap render` to write the missing ones and merge the layer's part "
            "of shared files (`--force` also regenerates edited ones, keeping a backup)"
        )
    else:
        lines.append(f"all {total} generated files match the templates")
    for result in report.apply.results:
        if result.status is Status.DELETED and not result.pending:
            lines.append(f"deleted by you: {result.path} (kept deleted)")
    return lines


def _check_hint(result: FileResult) -> str:
    """For a deleted or unmergeable file, what to do about it (the rest: see the summary)."""
    if result.status is Status.DELETED or (result.status is Status.CONFLICT and result.detail):
        return f" ({result.detail})"
    return ""
