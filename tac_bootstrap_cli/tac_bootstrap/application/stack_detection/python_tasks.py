"""Task tables a pyproject.toml declares: hatch environment scripts, pdm scripts, poe and
taskipy tasks.

Like package.json scripts, they are what the project's developers run, with the flags they
chose, so they beat commands guessed from the tools a project depends on. A task is matched to a
command field by its name (``test``, ``lint``, ``typing``...); a generic name (``check``,
``all``) in a hatch environment of its own takes the environment's name (``types:check`` is the
type check).
"""

from __future__ import annotations

import configparser
import re
from typing import Any

from .reading import table
from .shellwords import only_checks

_NOX_SESSION = re.compile(r"@(?:nox\.)?session\b[^\n]*\n(?:\s*@[^\n]*\n)*\s*def\s+(\w+)")

TASK_FIELDS = {
    "test": "test", "tests": "test", "unit": "test", "pytest": "test",
    "lint": "lint", "style": "lint", "check-style": "lint", "linting": "lint",
    "typecheck": "typecheck", "type-check": "typecheck", "typing": "typecheck",
    "types": "typecheck", "mypy": "typecheck", "check-types": "typecheck",
    "format": "format", "fmt": "format",
}  # fmt: skip
_GENERIC = ("check", "all", "run", "default")
# hatch's own environments behind `hatch test` and `hatch fmt`.
_HATCH_BUILTINS = (
    ("hatch-test", "test", "hatch test"),
    ("hatch-static-analysis", "lint", "hatch fmt --check"),
    ("hatch-static-analysis", "format", "hatch fmt"),
)


def task_field(name: str, group: str = "default") -> str | None:
    """The field a task called ``name`` (in hatch environment ``group``) is."""
    if name in _GENERIC and group != "default":
        name = group
    return TASK_FIELDS.get(name)


def _field_of(name: str, value: Any, group: str = "default") -> str | None:
    """The task's field; a format task that only checks (``fmt = "black --check ."``) is none:
    running it fixes nothing."""
    field = task_field(name, group)
    return None if field == "format" and only_checks(_body(value)) else field


def _body(value: Any) -> str:
    """The commands of a task however the table spells it (a string, a list, ``{cmd = ...}``)."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return " && ".join(_body(item) for item in value)
    if isinstance(value, dict):
        return " && ".join(_body(item) for item in value.values())
    return ""


def _hatch(py: dict[str, Any], found: dict[str, tuple[str, str]]) -> None:
    envs = table(py, "tool", "hatch", "envs")
    # The default environment first: `hatch run test` is what a developer types.
    for env in sorted(envs, key=lambda name: name != "default"):
        for script, value in table(envs, env, "scripts").items():
            field = _field_of(script, value, env)
            if field is not None:
                ref = script if env == "default" else f"{env}:{script}"
                found.setdefault(field, (f"hatch run {ref}", f"[tool.hatch.envs.{env}.scripts]"))
    for env, field, command in _HATCH_BUILTINS:
        if env in envs:
            found.setdefault(field, (command, f"[tool.hatch.envs.{env}]"))


def task_commands(py: dict[str, Any] | None, run: str) -> dict[str, tuple[str, str]]:
    """field -> (command, the table that declares it); ``run`` is the environment's runner
    prefix (``uv run ``), for the task runners installed in it (poe, taskipy)."""
    found: dict[str, tuple[str, str]] = {}
    if py is None:
        return found
    _hatch(py, found)
    for keys, command in (
        (("tool", "pdm", "scripts"), "pdm run {}"),
        (("tool", "poe", "tasks"), run + "poe {}"),
        (("tool", "taskipy", "tasks"), run + "task {}"),
    ):
        for name, value in table(py, *keys).items():
            field = _field_of(name, value)
            if field is not None:
                found.setdefault(field, (command.format(name), f"[{'.'.join(keys)}]"))
    return found


def session_commands(
    noxfile: str | None, tox: configparser.ConfigParser | None
) -> dict[str, tuple[str, str]]:
    """field -> (command, file): nox sessions and tox environments named like a command
    (``nox -s lint``, ``tox -e typing``); used for fields nothing else gives."""
    found: dict[str, tuple[str, str]] = {}
    for name in _NOX_SESSION.findall(noxfile or ""):
        field = task_field(name)
        if field is not None:
            found.setdefault(field, (f"nox -s {name}", "noxfile.py"))
    for section in tox.sections() if tox is not None else []:
        name = section.removeprefix("testenv:")
        field = task_field(name) if section.startswith("testenv:") else None
        if field is not None:
            found.setdefault(field, (f"tox -e {name}", "tox.ini"))
    return found
