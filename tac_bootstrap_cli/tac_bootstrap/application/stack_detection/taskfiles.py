"""The task files other than a Makefile: a ``justfile`` and go-task's ``Taskfile.yml``.

Their recipes are entry points like a Makefile's targets, matched by the same names
(``MAKE_TARGETS``); a Makefile's target comes first when both name one.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from .makefile import MAKE_TARGETS
from .model import Evidence, first
from .reading import Reader

_JUST_FILES = ("justfile", "Justfile", ".justfile")
_TASK_FILES = ("Taskfile.yml", "Taskfile.yaml", "taskfile.yml", "taskfile.yaml")
# A recipe line: optional '@', a name, parameters, then ':' that is not ':='.
_JUST_RECIPE = re.compile(r"^@?([A-Za-z_][A-Za-z0-9_-]*)(?:\s+[^:]*?)?\s*:(?!=)")


def just_recipes(text: str) -> list[str]:
    """Names of a justfile's recipes, in order (settings, variables, bodies skipped)."""
    names: list[str] = []
    for line in text.splitlines():
        if line[:1] in (" ", "\t", "#") or line.startswith(("set ", "alias ", "export ")):
            continue
        match = _JUST_RECIPE.match(line)
        if match and match.group(1) not in names:
            names.append(match.group(1))
    return names


def _task_names(files: Reader, name: str, evidence: list[Evidence]) -> list[str]:
    text = files.text(name, evidence)
    if text is None:
        return []
    try:
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError:
        evidence.append(Evidence(name, "unreadable: not valid YAML"))
        return []
    tasks = data.get("tasks") if isinstance(data, dict) else None
    return [str(key) for key in tasks] if isinstance(tasks, dict) else []


def task_file_commands(files: Reader, evidence: list[Evidence]) -> dict[str, str]:
    """``just <recipe>`` / ``task <name>`` per command field (install and start included)."""
    found: dict[str, str] = {}
    sources = []
    just = next((n for n in _JUST_FILES if files.is_file(n)), None)
    if just is not None:
        sources.append((just, "just", just_recipes(files.text(just, evidence) or "")))
    taskfile = next((n for n in _TASK_FILES if files.is_file(n)), None)
    if taskfile is not None:
        sources.append((taskfile, "task", _task_names(files, taskfile, evidence)))
    for file, runner, names in sources:
        used = []
        for key, candidates in MAKE_TARGETS.items():
            target = first(names, candidates)
            if target is not None and key not in found:
                found[key] = f"{runner} {target}"
                used.append(f"{key} -> {found[key]}")
        if used:
            evidence.append(Evidence(file, "recipes: " + ", ".join(used)))
    return found
