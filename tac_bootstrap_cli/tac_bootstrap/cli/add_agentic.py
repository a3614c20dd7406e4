"""Body of `add-agentic`: give an existing repository the agentic layer (see app.py).

The stack is detected from the repository's own files, shown, confirmed (or changed) by a
person at a terminal, and written as the config file plus the layer. Nothing the repository
already has is overwritten: a file at a target path is a conflict that is reported (exit 1),
and .gitignore only gets its missing lines appended.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import typer
from pydantic import ValidationError
from rich.table import Table
from rich.text import Text

from tac_bootstrap.application.gitignore import (
    GitignoreAction,
    GitignoreUpdate,
    required_lines,
    update_gitignore,
)
from tac_bootstrap.application.plan_executor import PlanExecutor
from tac_bootstrap.application.scaffold_service import ScaffoldService
from tac_bootstrap.application.stack_detection import DetectedStack, detect_stack
from tac_bootstrap.application.upgrade_service import PROPOSAL_SUFFIX
from tac_bootstrap.cli.output import Output
from tac_bootstrap.cli.project import require_writable
from tac_bootstrap.cli.prompts import has_terminal
from tac_bootstrap.domain.config import (
    CONFIG_FILENAME,
    FRAMEWORKS,
    PACKAGE_MANAGERS,
    CommandsSection,
    Language,
    PackageManager,
    ProjectSection,
    TacConfig,
    default_commands,
)
from tac_bootstrap.domain.errors import UsageError
from tac_bootstrap.domain.manifest import MANIFEST_FILENAME
from tac_bootstrap.domain.permissions import command_warnings
from tac_bootstrap.domain.plan import ApplyReport, ScaffoldPlan
from tac_bootstrap.infrastructure.filesystem import atomic_write, confined_path

# The commands a person is asked to confirm; install, format and build keep what was detected.
ASKED_COMMANDS = (
    ("test", "Test command"),
    ("lint", "Lint command"),
    ("typecheck", "Typecheck command"),
    ("start", "Start command"),
)
NONE_ANSWER = "-"  # typed at a command prompt: the project has no such command


def _interactive(yes: bool, json_output: bool) -> bool:
    """Ask only a person at a terminal; scripts, CI, --yes and --json never wait for input."""
    return not yes and not json_output and has_terminal()


def _resolve_root(path: Path) -> Path:
    if not path.exists():
        raise UsageError(f"{path} does not exist", hint="pass the path of an existing repository")
    if not path.is_dir():
        raise UsageError(f"{path} is not a directory", hint="pass the repository's directory")
    if (path / CONFIG_FILENAME).exists():
        raise UsageError(
            f"{path} already has the agentic layer ({CONFIG_FILENAME} exists)",
            hint="use `tac-bootstrap upgrade`",
        )
    if (path / MANIFEST_FILENAME).exists():
        raise UsageError(
            f"{path} has {MANIFEST_FILENAME} but no {CONFIG_FILENAME}",
            hint=f"restore {CONFIG_FILENAME} from git, or delete the manifest to start over",
        )
    return path


# -- showing and confirming the stack --------------------------------------------------------


def _show(out: Output, root: Path, stack: DetectedStack) -> None:
    # Cells are Text, never markup: values such as "-e '.[dev]'" must show as they are.
    table = Table(title=Text(f"Detected in {root}"))
    table.add_column("setting")
    table.add_column("value")
    rows = [
        ("project name", stack.name),
        ("language", stack.language.value),
        ("framework", stack.framework),
        ("package manager", stack.package_manager.value),
    ]
    rows += [(f"{key} command", value) for key, value in stack.commands]
    for setting, value in rows:
        table.add_row(Text(setting), Text(value) if value else Text("(none)", style="dim"))
    out.console.print(table)
    evidence = Table(title="Evidence")
    evidence.add_column("file")
    evidence.add_column("what it told us")
    for item in stack.evidence:
        evidence.add_row(Text(item.file), Text(item.finding))
    out.console.print(evidence)


def _ask(
    out: Output, stack: DetectedStack
) -> tuple[Language, str, PackageManager, CommandsSection]:
    """Let a person confirm every value (Enter) or type another."""
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
    if (language, pm) == (stack.language, stack.package_manager):
        commands = stack.commands
    else:
        # What was detected belongs to another toolchain: start from that one's defaults, but
        # keep the repository's Makefile targets, which work whatever the language.
        make_targets = {key: value for key, value in stack.commands if value.startswith("make ")}
        commands = default_commands(language, pm, framework).model_copy(update=make_targets)
    out.info(f"Commands: Enter keeps the value shown; {NONE_ANSWER} means none.")
    answers = commands.model_dump()
    for key, label in ASKED_COMMANDS:
        answer = Prompt.ask(label, default=answers[key] or NONE_ANSWER).strip()
        answers[key] = "" if answer == NONE_ANSWER else answer
    return language, framework, pm, CommandsSection(**answers)


def _build_config(
    name: str,
    language: Language,
    framework: str,
    pm: PackageManager,
    commands: CommandsSection,
) -> TacConfig:
    try:
        project = ProjectSection(
            name=name, language=language, framework=framework, package_manager=pm
        )
        config = TacConfig(project=project, commands=commands)
    except ValidationError as exc:
        message = str(exc.errors(include_url=False)[0]["msg"]).removeprefix("Value error, ")
        raise UsageError(message) from None
    config.git.init = False  # the repository exists already; add-agentic never creates one
    return config


# -- the command -------------------------------------------------------------------------------


def run_add_agentic(*, path: Path, yes: bool, dry_run: bool, json_output: bool) -> None:
    out = Output(json_output)
    with out.handling_errors({"PATH": path}):
        root = _resolve_root(path)
        if not dry_run:
            require_writable(root, f"PATH {path}")
        stack = detect_stack(root)
        _show(out, root, stack)
        if not stack.recognised:
            out.warn("no language markers found; check the values above")
        if _interactive(yes, json_output):
            language, framework, pm, commands = _ask(out, stack)
        else:
            language, framework, pm = stack.language, stack.framework, stack.package_manager
            commands = stack.commands
        config = _build_config(stack.name, language, framework, pm, commands)
        for warning in command_warnings(config):
            out.warn(warning)

        service = ScaffoldService()
        plan = service.build_plan(config, include_config=True)
        executor = PlanExecutor(service)
        if dry_run:
            report = executor.preview(plan, config, root)
        else:
            # Never force: a file the repository already has at a target path is a conflict.
            report = executor.apply(plan, config, root)
            _write_proposals(root, plan, config, service, report)
        gitignore = _update_gitignore(root, config, dry_run)
        _warn_missing_programs(out, root, config.commands)
        _finish(out, report, gitignore, config, stack)


def _write_proposals(
    root: Path, plan: ScaffoldPlan, config: TacConfig, service: ScaffoldService, report: ApplyReport
) -> None:
    """Put the layer's version beside each conflicting file, so merging it in is easy.

    The proposal is a new file (never the user's); a proposal from an earlier run is replaced.
    """
    conflicted = {result.path for result in report.conflicts}
    for op in plan.files:
        if op.path in conflicted:
            proposal = confined_path(root, op.path + PROPOSAL_SUFFIX)
            if proposal.is_dir():
                continue
            atomic_write(proposal, service.content_for(op, config))


def _update_gitignore(root: Path, config: TacConfig, dry_run: bool) -> GitignoreUpdate:
    lines = required_lines(config)
    try:
        return update_gitignore(root, lines, dry_run=dry_run)
    except OSError as exc:  # the layer is written; an unwritable .gitignore is only reported
        reason = f"could not update it ({exc.strerror or exc}); add these lines yourself"
        return GitignoreUpdate(GitignoreAction.SKIPPED, tuple(lines), reason)


def _warn_missing_programs(out: Output, root: Path, commands: CommandsSection) -> None:
    """A command whose program is not installed is only a warning (CI may have it)."""
    users: dict[str, list[str]] = {}
    for key, command in commands:
        words = command.split()
        if words:
            users.setdefault(words[0], []).append(key)
    for program, keys in users.items():
        missing = not (root / program).exists() if "/" in program else shutil.which(program) is None
        if missing:
            out.warn(
                f"{program} is not installed; the {', '.join(keys)} command(s) use it "
                f"(install it, or edit 'commands' in {CONFIG_FILENAME})"
            )


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


def _finish(
    out: Output,
    report: ApplyReport,
    gitignore: GitignoreUpdate,
    config: TacConfig,
    stack: DetectedStack,
) -> None:
    if report.dry_run:
        out.tree(report)
        out.info(out.summary_line(report))
    else:
        out.summary_table(report)
    if gitignore.action is GitignoreAction.SKIPPED:
        out.warn(_describe_gitignore(gitignore, report.dry_run))
    else:
        out.info(_describe_gitignore(gitignore, report.dry_run))
    if report.conflicts:
        out.info(
            f"{len(report.conflicts)} file(s) already exist with other content and were left "
            "untouched (add-agentic never overwrites a file it did not create)"
        )
        if not report.dry_run:
            out.info(
                f"the layer's version of each is beside it as <file>{PROPOSAL_SUFFIX}: merge "
                "what you want into your file (for .claude/settings.json, at least the "
                '"hooks" block, which records agent activity), then delete the proposal'
            )
    elif not report.dry_run:
        out.info(
            f"The agentic layer is in {report.target}; review {CONFIG_FILENAME} "
            "(commands run by the agents) and commit it with the layer"
        )
    if out.json_mode:
        out.emit_json(
            {
                "ok": not report.conflicts,
                "command": "add-agentic",
                "project": config.project.name,
                "stack": {
                    "language": config.project.language.value,
                    "framework": config.project.framework,
                    "package_manager": config.package_manager.value,
                    "commands": config.commands.model_dump(),
                },
                "evidence": [{"file": e.file, "finding": e.finding} for e in stack.evidence],
                "gitignore": gitignore.to_dict(),
                **report.to_dict(),
            }
        )
    if report.conflicts:
        raise typer.Exit(1)
