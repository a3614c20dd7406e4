"""Bodies of `init` and `render`, imported only when one of them runs (see app.py)."""

from __future__ import annotations

import os
import shutil
from enum import Enum
from pathlib import Path
from typing import TypeVar

import typer
from pydantic import ValidationError

from tac_bootstrap import __version__
from tac_bootstrap.application.plan_executor import PlanExecutor
from tac_bootstrap.application.scaffold_service import ScaffoldService
from tac_bootstrap.cli.output import Output
from tac_bootstrap.cli.project import project_root, require_writable
from tac_bootstrap.cli.prompts import has_terminal
from tac_bootstrap.domain.config import (
    CONFIG_FILENAME,
    FRAMEWORKS,
    PACKAGE_MANAGERS,
    Language,
    PackageManager,
    TacConfig,
    new_config,
    validate_project_name,
)
from tac_bootstrap.domain.errors import UsageError
from tac_bootstrap.domain.permissions import command_warnings
from tac_bootstrap.domain.plan import ApplyReport, Status
from tac_bootstrap.infrastructure.config_loader import load_config

E = TypeVar("E", bound=Enum)

# The executable each package manager needs; a missing one is only a warning.
PM_EXECUTABLE = {
    PackageManager.MAVEN: "mvn",
    PackageManager.GRADLE: "gradle",
    PackageManager.BUNDLER: "bundle",
}


def _parse_choice(enum: type[E], value: str, option: str) -> E:
    try:
        return enum(value.lower())
    except ValueError:
        choices = ", ".join(str(member.value) for member in enum)
        raise UsageError(
            f"{option} {value!r} is not supported", hint=f"use one of: {choices}"
        ) from None


def _interactive(yes: bool, json_output: bool) -> bool:
    """Prompt only for a person at a terminal; scripts, CI and --json get the defaults (stdout
    holds only the JSON document), never a hang."""
    return not yes and not json_output and has_terminal()


def _check_output_dir(output_dir: Path, name: str) -> Path:
    """-o and NAME are the user's arguments: a name the filesystem cannot hold, or a DIR that is
    a file, a device or where nothing can be created (read-only, /proc), is a usage error
    (exit 2) naming the argument, found before anything is written."""
    base = output_dir.absolute()
    while not base.exists() and not base.is_symlink() and base != base.parent:
        base = base.parent
    try:
        name_max = os.pathconf(base if base.is_dir() else base.parent, "PC_NAME_MAX")
    except (OSError, ValueError):
        name_max = 255
    size = len(os.fsencode(name))
    if size > name_max:
        raise UsageError(
            f"NAME is {size} bytes long, more than the {name_max} the filesystem allows",
            hint="choose a shorter project name",
        )
    target = output_dir / name
    if target.is_dir():
        base = target
    elif target.exists() or target.is_symlink():
        raise UsageError(f"{target} exists and is not a directory", hint="choose another name")
    if not base.is_dir():
        raise UsageError(
            f"--output-dir {output_dir}: {base} is not a directory",
            hint="pass an existing directory, or one that can be created",
        )
    require_writable(base, f"--output-dir {output_dir}")
    return target


def _ask_stack(
    language: Language | None, framework: str | None, pm: PackageManager | None
) -> tuple[Language, str, PackageManager | None]:
    from rich.prompt import Prompt

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


def _build_config(
    name: str, language: Language, framework: str, pm: PackageManager | None
) -> TacConfig:
    try:
        return new_config(name, language, framework, pm)
    except ValidationError as exc:
        message = str(exc.errors(include_url=False)[0]["msg"]).removeprefix("Value error, ")
        raise UsageError(message) from None


def _warn_missing_tools(out: Output, config: TacConfig) -> None:
    executable = PM_EXECUTABLE.get(config.package_manager, config.package_manager.value)
    if shutil.which(executable) is None:
        out.warn(
            f"{executable} is not installed; the project's commands use it "
            f"(install it, or edit 'commands' in {CONFIG_FILENAME})"
        )


def _finish(out: Output, report: ApplyReport, extra: dict[str, object]) -> None:
    """Show the report and exit 1 when conflicts remain."""
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
    if out.json_mode:
        out.emit_json({"ok": not report.conflicts, **extra, **report.to_dict()})
    if report.conflicts:
        raise typer.Exit(1)


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
    out = Output(json_output)
    with out.handling_errors({"--output-dir": output_dir}):
        try:
            validate_project_name(name)
        except ValueError as exc:
            raise UsageError(f"invalid project name: {exc}") from None
        lang = _parse_choice(Language, language, "--language") if language else None
        pm = (
            _parse_choice(PackageManager, package_manager, "--package-manager")
            if package_manager
            else None
        )
        target = _check_output_dir(output_dir, name)
        if _interactive(yes, json_output):
            lang, framework, pm = _ask_stack(lang, framework, pm)
        config = _build_config(name, lang or Language.PYTHON, framework or "none", pm)
        config.git.init = git
        for warning in command_warnings(config):
            out.warn(warning)
        service = ScaffoldService()
        plan = service.build_plan(config, include_config=True)
        executor = PlanExecutor(service)
        if dry_run:
            report = executor.preview(plan, config, target, force=force)
        else:
            report = executor.apply(plan, config, target, force=force, git_init=config.git.init)
            if report.count(Status.CREATE) or report.count(Status.OVERWRITE):
                out.info(f"Project {name!r} is ready in {target}")
            if config.git.init and not report.conflicts:
                from tac_bootstrap.infrastructure.git_repo import init_repository

                out.info(init_repository(target, f"Agentic layer by tac-bootstrap {__version__}"))
        _warn_missing_tools(out, config)
        _finish(out, report, {"command": "init", "project": name})


def run_render(
    *, path: Path | None, dry_run: bool, force: bool, check: bool, json_output: bool
) -> None:
    out = Output(json_output)
    with out.handling_errors({"PATH": path}):
        if check and force:
            raise UsageError("--check writes nothing, so --force makes no sense with it")
        path = project_root(path)
        config = load_config(path / CONFIG_FILENAME)
        for warning in command_warnings(config):
            out.warn(warning)
        service = ScaffoldService()
        plan = service.build_plan(config)
        executor = PlanExecutor(service)
        if check:
            _check(out, executor.preview(plan, config, path))
            return
        if dry_run:
            report = executor.preview(plan, config, path, force=force)
        else:
            report = executor.apply(plan, config, path, force=force)
        _finish(out, report, {"command": "render"})


def _check(out: Output, report: ApplyReport) -> None:
    drifted = [r for r in report.results if r.status in (Status.CREATE, Status.CONFLICT)]
    for result in drifted:
        state = "missing" if result.status is Status.CREATE else "differs"
        out.info(f"{state}: {result.path}")
    if drifted:
        out.info(
            f"{len(drifted)} of {len(report.results)} generated files differ from the templates; "
            "run `tac-bootstrap render --force` to regenerate them"
        )
    else:
        out.info(f"all {len(report.results)} generated files match the templates")
    if out.json_mode:
        out.emit_json(
            {
                "ok": not drifted,
                "command": "render --check",
                "target": report.target,
                "differs": [
                    {"path": r.path, "state": "missing" if r.status is Status.CREATE else "differs"}
                    for r in drifted
                ],
            }
        )
    if drifted:
        raise typer.Exit(1)
