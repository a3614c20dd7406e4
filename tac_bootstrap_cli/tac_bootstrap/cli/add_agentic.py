"""Body of `add-agentic` (see app.py): show the stack detected, let a person at a terminal
confirm or change it, then print what the service wrote (application/add_agentic_service).
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table
from rich.text import Text

from tac_bootstrap.application.add_agentic_service import (
    AddAgenticReport,
    Inspection,
    apply_add_agentic,
    inspect_repository,
    prepare_add_agentic,
    proposed_commands,
)
from tac_bootstrap.application.gitignore import GitignoreAction, GitignoreUpdate
from tac_bootstrap.application.proposals import PROPOSAL_SUFFIX
from tac_bootstrap.application.stack_detection import DetectedStack
from tac_bootstrap.application.stack_detection.workspaces import Part
from tac_bootstrap.cli.output import Output
from tac_bootstrap.cli.prompts import may_prompt
from tac_bootstrap.domain.config import (
    CONFIG_FILENAME,
    FRAMEWORKS,
    PACKAGE_MANAGERS,
    CommandsSection,
    Language,
    PackageManager,
)

# The commands a person is asked to confirm; install, format and build keep what was detected.
ASKED_COMMANDS = (
    ("test", "Test command"),
    ("lint", "Lint command"),
    ("typecheck", "Typecheck command"),
    ("start", "Start command"),
)
NONE_ANSWER = "-"  # typed at a command prompt: the project has no such command


# -- showing and confirming the stack --------------------------------------------------------


def _show(out: Output, inspection: Inspection) -> None:
    # Cells are Text, never markup: values such as "-e '.[dev]'" must show as they are.
    root, stack = inspection.root, inspection.stack
    title = f"Detected in {root}"
    if inspection.part is not None:
        title += f" (part {inspection.part.path} only)"
    table = Table(title=Text(title))
    table.add_column("setting")
    table.add_column("value")
    rows = [
        ("project name", stack.name),
        ("language", stack.language.value),
        ("framework", stack.framework),
        ("package manager", stack.package_manager.value),
    ]
    if inspection.workspace.parts and inspection.part is None:
        rows.append(("parts", ", ".join(p.path for p in inspection.workspace.parts)))
    rows += [(f"{key} command", value) for key, value in stack.commands]
    for setting, value in rows:
        table.add_row(Text(setting), Text(value) if value else Text("(none)", style="dim"))
    out.console.print(table)
    _show_parts(out, inspection)
    evidence = Table(title="Evidence")
    evidence.add_column("file")
    evidence.add_column("what it told us")
    for item in stack.evidence:
        evidence.add_row(Text(item.file), Text(item.finding))
    out.console.print(evidence)


def _show_parts(out: Output, inspection: Inspection) -> None:
    """A monorepo's parts: where each is, what it is, and what declared it."""
    parts = inspection.workspace.parts
    if not parts:
        return
    table = Table(title="Parts (commands run from the root)")
    for column in ("path", "stack", "role", "declared by"):
        table.add_column(column)
    for part in parts:
        chosen = " (--part)" if inspection.part and inspection.part.path == part.path else ""
        table.add_row(
            Text(part.path + chosen), Text(part.summary), Text(part.role), Text(part.source)
        )
    out.console.print(table)


def _ask(
    out: Output, stack: DetectedStack, parts: tuple[Part, ...] = ()
) -> tuple[Language, str, PackageManager, CommandsSection]:
    """Let a person confirm every value (Enter) or type another (``parts``: a monorepo's,
    whose toolchains keep the detected commands)."""
    from rich.prompt import Prompt

    language = Language(
        Prompt.ask(
            "Language", choices=[lang.value for lang in Language], default=stack.language.value
        )
    )
    frameworks = list(FRAMEWORKS[language])
    framework_default = stack.framework if stack.framework in frameworks else "none"
    framework = Prompt.ask("Framework", choices=frameworks, default=framework_default)
    managers = [pm.value for pm in PACKAGE_MANAGERS[language]]
    pm_default = stack.package_manager.value
    if pm_default not in managers:
        pm_default = managers[0]
    pm = PackageManager(Prompt.ask("Package manager", choices=managers, default=pm_default))
    commands = proposed_commands(stack, language, pm, framework, parts)
    out.info(f"Commands: Enter keeps the value shown; {NONE_ANSWER} means none.")
    answers = commands.model_dump()
    for key, label in ASKED_COMMANDS:
        answer = Prompt.ask(label, default=answers[key] or NONE_ANSWER).strip()
        answers[key] = "" if answer == NONE_ANSWER else answer
    return language, framework, pm, CommandsSection(**answers)


# -- the command -------------------------------------------------------------------------------


def run_add_agentic(
    *, path: Path, yes: bool, dry_run: bool, json_output: bool, part: str | None = None
) -> None:
    out = Output(json_output)
    with out.handling_errors({"PATH": path}):
        inspection = inspect_repository(path, dry_run=dry_run, part=part)
        _show(out, inspection)
        for warning in inspection.warnings:
            out.warn(warning)
        if may_prompt(yes, json_output):
            parts = inspection.workspace.parts if inspection.part is None else ()
            language, framework, pm, commands = _ask(out, inspection.stack, parts)
            prepared = prepare_add_agentic(
                inspection,
                language=language,
                framework=framework,
                package_manager=pm,
                commands=commands,
            )
        else:
            prepared = prepare_add_agentic(inspection)
        for warning in prepared.warnings:
            out.warn(warning)
        report = apply_add_agentic(prepared, dry_run=dry_run)
        for warning in report.tool_warnings:
            out.warn(warning)
        _finish(out, report)
    if not report.ok:
        raise typer.Exit(1)


def _describe_gitignore(update: GitignoreUpdate, dry_run: bool) -> str:
    lines = ", ".join(update.lines)
    if update.action is GitignoreAction.CREATE:
        return f"{update.path}: {'would create' if dry_run else 'created'} with {lines}"
    if update.action is GitignoreAction.APPEND:
        verb = "would append" if dry_run else "appended"
        return f"{update.path}: {verb} {len(update.lines)} line(s): {lines}"
    if update.action is GitignoreAction.UNCHANGED:
        return f"{update.path}: already ignores everything the layer needs"
    return f"{update.path}: {update.detail}: {lines}"


def _finish(out: Output, result: AddAgenticReport) -> None:
    report, gitignore = result.apply, result.gitignore
    if report.dry_run:
        out.tree(report)
        out.info(out.summary_line(report))
    else:
        out.summary_table(report)
    if gitignore.action is GitignoreAction.SKIPPED:
        out.warn(_describe_gitignore(gitignore, report.dry_run))
    else:
        out.info(_describe_gitignore(gitignore, report.dry_run))
    for warning in gitignore.warnings:  # generated files git would keep out of every commit
        out.warn(warning)
    if report.conflicts:
        out.info(
            f"{len(report.conflicts)} file(s) already exist with other content and were left "
            "untouched (add-agentic never overwrites a file it did not create)"
        )
        if not report.dry_run:
            out.info(
                f"the layer's version of each is beside it as <file>{PROPOSAL_SUFFIX} "
                "(git-ignored): merge what you want into your file, or fix what the conflict "
                "says (settings.json must be strict JSON to be merged), then run "
                "`tac-bootstrap render`: it removes the proposal once the file is merged"
            )
    elif not report.dry_run:
        out.info(
            f"The agentic layer is in {report.target}; review {CONFIG_FILENAME} "
            "(commands run by the agents) and commit it with the layer"
        )
    if out.json_mode:
        out.emit_json(result.to_dict())
