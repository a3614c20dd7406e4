"""Whether the project's own check commands also judge the layer's files.

A workflow's test phase runs `commands.test`, `lint` and `typecheck` in the run's worktree and
fails the run on their exit codes. ruff and pytest are kept off the layer's directories by
files the layer owns there (a nested ruff.toml, a conftest.py). mypy, pyright, flake8 and black
read one configuration only, the project's, so without an exclusion they check `<adws_dir>/`
(which needs pydantic and pyyaml, rarely in a project's environment, and is written to its own
line length), the Claude hooks, and in the main checkout every run's worktree (a second copy of
the project: "Duplicate module named ..."). We never edit the project's config: this check
says what to add. Reads files only, starts no process.
"""

from __future__ import annotations

import json
import re
import shlex
import sys
from collections.abc import Callable
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from tac_bootstrap.application.doctor.inputs import COMMAND_FIELDS
from tac_bootstrap.application.doctor.report import OK, WARN, Check, _Context

NAME = "project checks"
_CHAIN = {"&&", "||", ";", "|"}


def _toml_table(root: Path, *keys: str) -> dict[str, Any]:
    path = root / "pyproject.toml"
    if not path.is_file():
        return {}
    if sys.version_info >= (3, 11):  # imported here: doctor's other checks never read TOML
        import tomllib
    else:  # Python 3.10
        import tomli as tomllib
    try:
        data: Any = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeError, tomllib.TOMLDecodeError):
        return {}
    for key in keys:
        data = data.get(key) if isinstance(data, dict) else None
    return data if isinstance(data, dict) else {}


def _ini_section(root: Path, names: tuple[str, ...], section: str) -> dict[str, str] | None:
    """The section from the first of `names` that has it (the file the tool itself reads)."""
    for name in names:
        if not (root / name).is_file():
            continue
        import configparser  # only for a project that has such a file

        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read(root / name, encoding="utf-8")
        except (configparser.Error, UnicodeError):
            continue
        if parser.has_section(section):
            return dict(parser.items(section))
    return None


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _regex_hits(patterns: list[str], path: str) -> bool:
    for pattern in patterns:
        try:
            if re.search(pattern, path, re.VERBOSE if "\n" in pattern else 0):
                return True
        except re.error:
            continue
    return False


# -- one function per tool: the layer directories the tool still reaches ---------------------
# Each takes the project root, the words after the program name, and the directories to
# keep out; returns those it reaches, or None when the words give it paths that leave all out.


def _paths(words: list[str], valued: set[str]) -> list[str]:
    paths, skip = [], False
    for word in words:
        if skip:
            skip = False
        elif word in valued:
            skip = True
        elif not word.startswith("-"):
            paths.append(word)
    return paths


def _whole_tree(paths: list[str]) -> bool:
    return not paths or any(p.rstrip("/") in (".", "") for p in paths)


def _mypy(root: Path, words: list[str], dirs: list[str]) -> list[str]:
    given = [w.split("=", 1)[1] for w in words if w.startswith("--exclude=")]
    given += [words[i + 1] for i, w in enumerate(words[:-1]) if w == "--exclude"]
    paths = _paths(words, {"--exclude", "--config-file", "-p", "-m", "--python-executable"})
    settings: dict[str, Any] = _ini_section(root, ("mypy.ini", ".mypy.ini"), "mypy") or {}
    if not settings:
        settings = _toml_table(root, "tool", "mypy")
    if not settings:
        settings = _ini_section(root, ("setup.cfg",), "mypy") or {}
    if (not paths and settings.get("files")) or not _whole_tree(paths):
        return []
    patterns = given + [p.replace("\n", "") for p in _strings(settings.get("exclude"))]
    return [d for d in dirs if not _regex_hits(patterns, f"{d}/x.py")]


def _pyright(root: Path, words: list[str], dirs: list[str]) -> list[str]:
    if not _whole_tree(_paths(words, {"-p", "--project", "--pythonpath", "--outputjson"})):
        return []
    settings = _toml_table(root, "tool", "pyright")
    config = root / "pyrightconfig.json"
    if config.is_file():
        try:
            loaded = json.loads(config.read_text(encoding="utf-8"))
            settings = loaded if isinstance(loaded, dict) else {}
        except (OSError, UnicodeError, ValueError):
            settings = {}
    include = [p.strip("./") for p in _strings(settings.get("include"))]
    exclude = [p.strip("./") for p in _strings(settings.get("exclude"))]
    if include and "" not in include:
        dirs = [d for d in dirs if any(d == i or d.startswith(i + "/") for i in include)]
    return [d for d in dirs if not any(fnmatchcase(d, e) or d == e for e in exclude)]


def _flake8(root: Path, words: list[str], dirs: list[str]) -> list[str]:
    given = [w.split("=", 1)[1] for w in words if w.startswith(("--exclude=", "--extend-exclude="))]
    if not _whole_tree(_paths(words, {"--exclude", "--extend-exclude", "--config"})):
        return []
    section = _ini_section(root, (".flake8", "setup.cfg", "tox.ini"), "flake8") or {}
    listed = ",".join([*given, section.get("exclude", ""), section.get("extend-exclude", "")])
    patterns = [p.strip().rstrip("/") for p in listed.split(",") if p.strip()]
    return [d for d in dirs if not any(fnmatchcase(d, p) or p.endswith("/" + d) for p in patterns)]


def _black(root: Path, words: list[str], dirs: list[str]) -> list[str]:
    if not _whole_tree(_paths(words, {"--exclude", "--extend-exclude", "--config", "-l"})):
        return []
    settings = _toml_table(root, "tool", "black")
    keys = ("exclude", "extend-exclude", "force-exclude", "extend_exclude", "force_exclude")
    patterns = [settings[k] for k in keys if isinstance(settings.get(k), str)]
    return [d for d in dirs if not _regex_hits(patterns, f"/{d}/")]


# program -> (how to find what it reaches, the directories it would judge, the fix to show)
_Reach = Callable[[Path, list[str], list[str]], list[str]]
_TOOLS: dict[str, tuple[_Reach, str, Callable[[list[str]], str]]] = {
    "mypy": (
        _mypy,
        "code",
        lambda ds: (
            "add exclude = ["
            + ", ".join(f'"^{re.escape(d)}/"' for d in ds)
            + "] to [tool.mypy], or add "
            + " ".join(f"--exclude {_shell_word('^' + re.escape(d) + '/')}" for d in ds)
            + " to the command"
        ),
    ),
    "pyright": (
        _pyright,
        "code",
        lambda ds: (
            "add exclude = ["
            + ", ".join(f'"{d}"' for d in ds)
            + ', "**/node_modules", "**/__pycache__", "**/.*"] to [tool.pyright] or '
            "pyrightconfig.json (an exclude list replaces pyright's defaults, so keep them)"
        ),
    ),
    "flake8": (
        _flake8,
        "style",
        lambda ds: f"add extend-exclude = {','.join(ds)} to the [flake8] section of your config",
    ),
    "black": (
        _black,
        "style",
        lambda ds: (
            "add extend-exclude = '^/(" + "|".join(re.escape(d) for d in ds) + ")/' to [tool.black]"
        ),
    ),
}
_TOOLS["basedpyright"] = _TOOLS["pyright"]


def _shell_word(value: str) -> str:
    """Unquoted when the shell reads it as is, so the command stays one permission rule."""
    return value if re.fullmatch(r"[\w^/.-]+", value) else shlex.quote(value)


def _invocations(command: str) -> list[tuple[str, list[str]]]:
    """(tool, words after it) for each known tool the command runs, also through `python -m`,
    `uv run`, `poetry run` and in a chain of commands."""
    try:
        words = shlex.split(command)
    except ValueError:
        words = command.split()
    found, segment = [], []
    for word in [*words, ";"]:
        if word not in _CHAIN:
            segment.append(word)
            continue
        for index, part in enumerate(segment):
            name = Path(part).name
            if name in _TOOLS and (index == 0 or segment[index - 1] in ("-m", "run", "exec")):
                found.append((name, segment[index + 1 :]))
                break
        segment = []
    return found


def check_project_checks(ctx: _Context) -> list[Check]:
    adws = ctx.inputs.adws_dir.strip("/")
    trees = ctx.inputs.worktrees_dir.strip("/")
    warnings = []
    for field in COMMAND_FIELDS:
        command = ctx.inputs.commands[field]
        for tool, words in _invocations(command):
            reach, kind, fix = _TOOLS[tool]
            judged = (
                [adws, trees] if kind == "code" else [adws, ctx.inputs.claude_dir.strip("/"), trees]
            )
            reached = reach(ctx.root, words, judged)
            if reached:
                listed = " and ".join(f"{d}/" for d in reached)
                warnings.append(
                    Check(
                        NAME,
                        WARN,
                        f"commands.{field} `{command}`: {tool} also checks {listed} (the layer "
                        "needs pydantic and pyyaml and has its own line length; the worktrees "
                        "are copies of the project), so a workflow's test phase can fail on "
                        "files that are not yours",
                        hint=fix(reached),
                    )
                )
    if warnings:
        return warnings
    return [Check(NAME, OK, "your test, lint and typecheck commands leave the layer out")]
