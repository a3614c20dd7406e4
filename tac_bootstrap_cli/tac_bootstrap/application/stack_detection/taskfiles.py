"""The task files other than a Makefile: a ``justfile`` and go-task's ``Taskfile.yml``.

Their recipes are entry points like a Makefile's targets, matched by the same names
(``MAKE_TARGETS``); a Makefile's target comes first when both name one.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from .model import Evidence
from .reading import Reader
from .recipes import Recipe, Recipes, choose
from .target_names import MAKE_TARGETS

_JUST_FILES = ("justfile", "Justfile", ".justfile")
_TASK_FILES = ("Taskfile.yml", "Taskfile.yaml", "taskfile.yml", "taskfile.yaml")
# A recipe line: optional '@', a name, parameters, then ':' that is not ':='.
_JUST_RECIPE = re.compile(r"^@?([A-Za-z_][A-Za-z0-9_-]*)(?:\s+[^:]*?)?\s*:(?!=)")
# A dependency after the colon: ``name`` or ``(name 'arg')``.
_JUST_DEPENDENCY = re.compile(r"(?:^|\s|\()([A-Za-z_][A-Za-z0-9_-]*)")


def just_recipes(text: str) -> list[str]:
    """Names of a justfile's recipes, in order (settings, variables, bodies skipped)."""
    return list(just_recipe_bodies(text))


def just_recipe_bodies(text: str) -> Recipes:
    """A justfile's recipes with their bodies (indented lines) and dependencies (the names
    after the colon, ``(name 'arg')`` calls included); a recipe defined twice for different
    platforms (``[unix]`` / ``[windows]``) has both bodies."""
    recipes: Recipes = {}
    current: Recipe | None = None
    for line in text.splitlines():
        if line[:1] in (" ", "\t"):
            if current is not None:
                current.lines.append(line.strip())
            continue
        if not line.strip() or line.startswith(("#", "[")):
            continue  # comments and attributes between recipes
        current = None
        if line.startswith(("set ", "alias ", "export ", "import ", "mod ")):
            continue
        match = _JUST_RECIPE.match(line)
        if match:
            current = recipes.setdefault(match.group(1), Recipe([], []))
            after = line[match.end() :].split("#", 1)[0]
            current.depends.extend(_JUST_DEPENDENCY.findall(after))
    return recipes


def _task_recipes(files: Reader, name: str, evidence: list[Evidence]) -> Recipes:
    """go-task's tasks: ``cmds`` (strings, ``{cmd: ...}``, ``{task: other}``) and ``deps``."""
    text = files.text(name, evidence)
    if text is None:
        return {}
    try:
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError:
        evidence.append(Evidence(name, "unreadable: not valid YAML"))
        return {}
    tasks = data.get("tasks") if isinstance(data, dict) else None
    if not isinstance(tasks, dict):
        return {}
    return {str(key): _task(value) for key, value in tasks.items()}


def _task(value: Any) -> Recipe:
    if isinstance(value, (str, list)):
        value = {"cmds": [value] if isinstance(value, str) else value}
    if not isinstance(value, dict):
        return Recipe([], [])
    lines: list[str] = []
    for item in value.get("cmds") or []:
        if isinstance(item, dict) and isinstance(item.get("task"), str):
            lines.append(f"task {item['task']}")
        elif isinstance(item, dict) and isinstance(item.get("cmd"), str):
            lines += item["cmd"].splitlines()
        elif isinstance(item, str):
            lines += item.splitlines()
    depends = [
        str(d["task"] if isinstance(d, dict) else d)
        for d in value.get("deps") or []
        if isinstance(d, str) or (isinstance(d, dict) and isinstance(d.get("task"), str))
    ]
    return Recipe(lines, depends)


def task_file_commands(
    files: Reader,
    evidence: list[Evidence],
    declared_linter: bool = False,
    rejected: list[str] | None = None,
) -> dict[str, str]:
    """``just <recipe>`` / ``task <name>`` per command field (install and start included),
    build, format and lint judged by what they run (``recipes.choose``); the commands found
    unfit are added to ``rejected``."""
    found: dict[str, str] = {}
    sources: list[tuple[str, str, Recipes]] = []
    just = next((n for n in _JUST_FILES if files.is_file(n)), None)
    if just is not None:
        sources.append((just, "just", just_recipe_bodies(files.text(just, evidence) or "")))
    taskfile = next((n for n in _TASK_FILES if files.is_file(n)), None)
    if taskfile is not None:
        sources.append((taskfile, "task", _task_recipes(files, taskfile, evidence)))
    for file, runner, recipes in sources:
        used = []
        for key in MAKE_TARGETS:
            if key in found:
                continue
            target, unfit = choose(runner, recipes, key, file, evidence, declared_linter)
            if rejected is not None:
                rejected += unfit
            if target is not None:
                found[key] = f"{runner} {target}"
                used.append(f"{key} -> {found[key]}")
        if used:
            evidence.append(Evidence(file, "recipes: " + ", ".join(used)))
    return found


# A repository's own test entry point ("scripts to rule them all"): it declares itself.
_TEST_SCRIPTS = ("scripts/test", "script/test", "bin/test", "scripts/test.sh", "script/test.sh")
_SHEBANG_SHELL = re.compile(r"^#!\s*(?:/usr)?/bin/(?:env\s+)?(ba|z|k|da)?sh\b")


def repository_test_script(files: Reader) -> str | None:
    """``scripts/test`` when it is executable, ``bash scripts/test.sh`` (its shell) when it is
    a shell script that is not; None when there is none."""
    for name in _TEST_SCRIPTS:
        if not files.is_file(name):
            continue
        if files.is_executable(name):
            return name
        text = files.text(name, []) or ""
        shebang = _SHEBANG_SHELL.match(text)
        if shebang is not None:
            return f"{shebang.group(1) or ''}sh {name}"
        if name.endswith(".sh"):
            return f"sh {name}"
    return None
