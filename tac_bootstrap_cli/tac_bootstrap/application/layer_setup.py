"""What `init` and `add-agentic` share: a config from the user's answers, and its tools.

One place turns answers (language, framework, package manager, commands) into a validated
config, and one place says which program the project's commands need but the machine lacks.
"""

from __future__ import annotations

import shutil
from enum import Enum
from pathlib import Path
from typing import TypeVar

from pydantic import ValidationError

from tac_bootstrap.domain.config import (
    CONFIG_FILENAME,
    CommandsSection,
    Language,
    PackageManager,
    ProjectSection,
    TacConfig,
    new_config,
)
from tac_bootstrap.domain.errors import UsageError

E = TypeVar("E", bound=Enum)


def parse_choice(enum: type[E], value: str, option: str) -> E:
    """``value`` as a member of ``enum`` (any case), or a usage error naming ``option``."""
    try:
        return enum(value.lower())
    except ValueError:
        choices = ", ".join(str(member.value) for member in enum)
        raise UsageError(
            f"{option} {value!r} is not supported", hint=f"use one of: {choices}"
        ) from None


def build_config(
    name: str,
    language: Language,
    framework: str,
    package_manager: PackageManager | None,
    commands: CommandsSection | None = None,
    *,
    git: bool,
) -> TacConfig:
    """The config for these answers; without ``commands``, those derived from the stack.

    An invalid combination is the user's (a usage error, exit 2), said in pydantic's words.
    """
    try:
        if commands is None:
            config = new_config(name, language, framework, package_manager)
        else:
            project = ProjectSection(
                name=name, language=language, framework=framework, package_manager=package_manager
            )
            config = TacConfig(project=project, commands=commands)
    except ValidationError as exc:
        message = str(exc.errors(include_url=False)[0]["msg"]).removeprefix("Value error, ")
        raise UsageError(message) from None
    config.git.init = git
    return config


def _programs(config: TacConfig, per_command: bool) -> dict[str, list[str]]:
    """Each program to look for, with the commands that start it (none: all of them)."""
    if not per_command:
        return {config.package_manager.spec.executable: []}
    users: dict[str, list[str]] = {}
    for key, command in config.commands:
        words = command.split()
        if words:
            users.setdefault(words[0], []).append(key)
    return users


def missing_tool_warnings(config: TacConfig, root: Path, *, per_command: bool) -> list[str]:
    """A warning per program the commands need that is not installed (CI may have it).

    ``per_command`` looks up the first word of every command (add-agentic: the commands were
    detected or typed); otherwise only the package manager the derived commands run through
    (init). A program given as a path (``./gradlew``) must exist in ``root``.
    """
    warnings = []
    for program, keys in _programs(config, per_command).items():
        missing = not (root / program).exists() if "/" in program else shutil.which(program) is None
        if missing:
            users = f"the {', '.join(keys)} command(s)" if keys else "the project's commands"
            warnings.append(
                f"{program} is not installed; {users} use it "
                f"(install it, or edit 'commands' in {CONFIG_FILENAME})"
            )
    return warnings
