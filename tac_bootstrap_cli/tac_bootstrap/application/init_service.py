"""`init`: create a new project with its config file and agentic layer.

Three steps, so that a person can be asked between them (prompting is the CLI's business):
``check_init`` validates the arguments before anything is asked or written, ``prepare_init``
turns the answers into a config (its warnings are shown before any write), ``apply_init``
writes (or previews) the layer, creates the git repository and returns an ``InitReport``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from tac_bootstrap import __version__
from tac_bootstrap.application.gitignore import describe_ignored, keep_generated_in_git
from tac_bootstrap.application.layer_setup import (
    build_config,
    missing_tool_warnings,
    parse_choice,
)
from tac_bootstrap.application.plan_executor import PlanExecutor
from tac_bootstrap.application.project_lookup import require_writable
from tac_bootstrap.application.scaffold_service import ScaffoldService
from tac_bootstrap.domain.config import (
    Language,
    PackageManager,
    TacConfig,
    validate_project_name,
)
from tac_bootstrap.domain.errors import UsageError
from tac_bootstrap.domain.permissions import command_warnings
from tac_bootstrap.domain.plan import ApplyReport, Status


@dataclass(frozen=True)
class InitTarget:
    """Arguments checked before any question: where the project goes and the stack given."""

    name: str
    target: Path
    language: Language | None
    package_manager: PackageManager | None


@dataclass(frozen=True)
class PreparedInit:
    name: str
    target: Path
    config: TacConfig
    warnings: list[str]  # about the config's commands; shown before anything is written


@dataclass
class InitReport:
    name: str
    target: Path
    apply: ApplyReport
    git_message: str | None = None  # what `git init` did (None: not asked, or a dry run)
    config_warnings: list[str] = field(default_factory=list)  # about the config's commands
    tool_warnings: list[str] = field(default_factory=list)  # programs they need, not installed
    # Generated files git ignored (a global excludes file, a parent repository's rules) and
    # the .gitignore lines that now keep them: they are not in the first commit.
    gitignore_warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.apply.conflicts

    @property
    def warnings(self) -> list[str]:
        """Every warning, in the order the CLI prints them."""
        return [*self.config_warnings, *self.tool_warnings, *self.gitignore_warnings]

    @property
    def wrote_files(self) -> bool:
        return bool(self.apply.count(Status.CREATE) or self.apply.count(Status.OVERWRITE))

    def to_dict(self) -> dict[str, object]:
        """The document `init --json` prints."""
        return {"ok": self.ok, "command": "init", "project": self.name, **self.apply.to_dict()}


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


def check_init(
    name: str, output_dir: Path, language: str | None, package_manager: str | None
) -> InitTarget:
    """Validate NAME, -o, -l and -p (usage errors, exit 2) before anything is asked."""
    try:
        validate_project_name(name)
    except ValueError as exc:
        raise UsageError(f"invalid project name: {exc}") from None
    lang = parse_choice(Language, language, "--language") if language else None
    pm = (
        parse_choice(PackageManager, package_manager, "--package-manager")
        if package_manager
        else None
    )
    return InitTarget(name, _check_output_dir(Path(output_dir), name), lang, pm)


def prepare_init(
    checked: InitTarget,
    *,
    language: Language | None = None,
    framework: str | None = None,
    package_manager: PackageManager | None = None,
    git: bool = True,
) -> PreparedInit:
    """The config for the answers (falling back to what was checked, then the defaults)."""
    config = build_config(
        checked.name,
        language or checked.language or Language.PYTHON,
        framework or "none",
        package_manager or checked.package_manager,
        git=git,
    )
    return PreparedInit(checked.name, checked.target, config, command_warnings(config))


def apply_init(prepared: PreparedInit, *, dry_run: bool = False, force: bool = False) -> InitReport:
    """Write (or with ``dry_run`` preview) the project; git init only when nothing conflicts."""
    config, target = prepared.config, prepared.target
    service = ScaffoldService()
    plan = service.build_plan(config, include_config=True)
    executor = PlanExecutor(service)
    git_message = None
    if dry_run:
        report = executor.preview(plan, config, target, force=force)
    else:
        report = executor.apply(plan, config, target, force=force, git_init=config.git.init)
        if config.git.init and not report.conflicts:
            from tac_bootstrap.infrastructure.git_repo import init_repository

            git_message = init_repository(target, f"Agentic layer by tac-bootstrap {__version__}")
    tools = missing_tool_warnings(config, target, per_command=False)
    # After `git init`: only the project's own repository says what it ignores.
    ignored = [] if dry_run else describe_ignored(keep_generated_in_git(target, plan), check=False)
    return InitReport(prepared.name, target, report, git_message, prepared.warnings, tools, ignored)
