"""Whether the project's own type checker also judges the layer's files.

A workflow's test phase runs `commands.typecheck` in the run's worktree and fails the run on
its exit code. ruff and pytest are kept off the layer's directories by files the layer owns
there (a nested ruff.toml, a conftest.py); mypy and pyright read one configuration only, the
project's, so a `mypy .` with no exclusion checks `<adws_dir>/` (which needs pydantic and
pyyaml, rarely in a project's environment) and, in the main checkout, every run's worktree (a
second copy of the project: "Duplicate module named ..."). We never edit the project's config:
this check says what to add. Reads files only, starts no process.
"""

from __future__ import annotations

import configparser
import re
import shlex
import sys
from pathlib import Path
from typing import Any

from tac_bootstrap.application.doctor.report import OK, WARN, Check, _Context

NAME = "project checks"


def _toml(path: Path) -> dict[str, Any]:
    # Imported here: doctor's other checks never read TOML.
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # Python 3.10
        import tomli as tomllib
    try:
        data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeError, tomllib.TOMLDecodeError):
        return {}
    return data


def _mypy_settings(root: Path) -> dict[str, Any]:
    """mypy's own settings, from the first file mypy itself would read."""
    for name in ("mypy.ini", ".mypy.ini"):
        if (root / name).is_file():
            return _ini_section(root / name, "mypy")
    if (root / "pyproject.toml").is_file():
        table = _toml(root / "pyproject.toml").get("tool", {}).get("mypy")
        if isinstance(table, dict):
            return table
    if (root / "setup.cfg").is_file():
        return _ini_section(root / "setup.cfg", "mypy")
    return {}


def _ini_section(path: Path, section: str) -> dict[str, Any]:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, UnicodeError):
        return {}
    if not parser.has_section(section):
        return {}
    values = dict(parser.items(section))
    if "exclude" in values:  # one regular expression, possibly over several lines
        values["exclude"] = "".join(line.strip() for line in values["exclude"].splitlines())
    return values


def _excludes(patterns: object) -> list[str]:
    if isinstance(patterns, str):
        return [patterns]
    if isinstance(patterns, list):
        return [p for p in patterns if isinstance(p, str)]
    return []


def _matches(patterns: list[str], path: str) -> bool:
    for pattern in patterns:
        try:
            if re.search(pattern, path):
                return True
        except re.error:
            continue
    return False


def _mypy_reach(words: list[str]) -> tuple[list[str], list[str]] | None:
    """(paths, --exclude patterns) of a mypy command line; None when it is not one."""
    for index, word in enumerate(words):
        if Path(word).name == "mypy" or words[index - 1 : index + 1] == ["-m", "mypy"]:
            rest = words[index + 1 :]
            break
    else:
        return None
    paths, excludes, skip = [], [], False
    for position, word in enumerate(rest):
        if skip:
            skip = False
        elif word == "--exclude" and position + 1 < len(rest):
            excludes.append(rest[position + 1])
            skip = True
        elif word.startswith("--exclude="):
            excludes.append(word.split("=", 1)[1])
        elif word in ("&&", "||", ";", "|"):
            break
        elif not word.startswith("-"):
            paths.append(word)
    return paths, excludes


def _shell_word(value: str) -> str:
    """Unquoted when the shell reads it as is, so the command stays one permission rule."""
    return value if re.fullmatch(r"[\w^/.-]+", value) else shlex.quote(value)


def check_project_checks(ctx: _Context) -> list[Check]:
    command = ctx.config.commands.typecheck.strip()
    try:
        words = shlex.split(command)
    except ValueError:
        words = command.split()
    reach = _mypy_reach(words)
    if reach is None:
        return [Check(NAME, OK, "ruff and pytest skip the layer (its ruff.toml, conftest.py)")]
    paths, excludes = reach
    settings = _mypy_settings(ctx.root)
    if not paths and settings.get("files"):
        return [Check(NAME, OK, f"`{command}` checks the files its config lists")]
    if paths and not any(p.rstrip("/") in (".", "./") for p in paths):
        return [Check(NAME, OK, f"`{command}` checks only {', '.join(paths)}")]
    patterns = excludes + _excludes(settings.get("exclude"))
    adws = ctx.config.paths.adws_dir.strip("/")
    trees = ctx.config.workflow.worktrees_dir.strip("/")
    reached = [
        directory
        for directory in (adws, trees)
        if not _matches(patterns, f"{directory}/probe.py")
        and not _matches(patterns, f"./{directory}/probe.py")
    ]
    if not reached:
        return [Check(NAME, OK, f"`{command}` leaves {adws}/ and {trees}/ out")]
    listed = " and ".join(f"{d}/" for d in reached)
    flags = " ".join(f"--exclude {_shell_word('^' + re.escape(d) + '/')}" for d in reached)
    return [
        Check(
            NAME,
            WARN,
            f"commands.typecheck `{command}` also type-checks {listed} (the layer needs "
            "pydantic and pyyaml; the worktrees are copies of the project), so a workflow's "
            "test phase can fail on files that are not yours",
            hint="add exclude = ["
            + ", ".join(f'"^{re.escape(d)}/"' for d in reached)
            + f"] to [tool.mypy] in pyproject.toml, or set commands.typecheck to "
            f"`{command} {flags}`",
        )
    ]
