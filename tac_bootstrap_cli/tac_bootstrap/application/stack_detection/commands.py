"""Which project command (test, lint, ...) a shell command is, judged by what it runs.

``classify("uv run pytest -x")`` is the test command of a Python stack; ``make tests`` is the
test command of whatever stack the Makefile drives; ``npm ci`` or ``echo`` are none (set-up and
noise are not project commands). CI-only touches are taken off so that the command works at a
developer's terminal: environment assignments in front, reporter flags (``--output-format
github``), and a format *check* becomes the format command (``ruff format --check`` ->
``ruff format``). A command with a CI expression (``${{ matrix.python }}``) or a shell variable
cannot run as written: it is skipped, except a ``--python`` choice, which is dropped.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from typing import NamedTuple

from .python_tasks import task_field
from .shellwords import (
    join_words,
    without_ci_only_flags,
    without_redirections,
    without_report_flags,
)
from .target_names import MAKE_TARGETS
from .toolchain_commands import go_rule, java_rule, ruby_rule, rust_rule

_PLACEHOLDER = re.compile(r"\$\{\{.*?\}\}")
_DROPPABLE_PLACEHOLDER = re.compile(r"\s(?:--python|-p|--python-version)(?:=|\s+)\$\{\{.*?\}\}")
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")
_NOT_WRAPPERS = {"echo", "printf", "which", "type", "command", "hash", "test", "[", "cat", "sudo"}
_WRAPPED_TOOLS = {"rspec", "pytest", "jest", "vitest"}
_UV_VALUE_OPTIONS = {
    "--extra", "--group", "--only-group", "--with", "--python", "-p", "--package",
    "--env-file", "--directory", "--project", "--index", "--with-requirements",
}  # fmt: skip
# ``test:unit`` is still the test command; ``test:e2e`` or ``format:check`` are not.
_PLAIN_VARIANTS = ("", "unit", "ci", "all", "js", "ts", "cov", "coverage")
_E2E_WORDS = ("e2e", "playwright", "cypress", "integration", "system", "smoke")
# A repository's own scripts (scripts/test, script/bootstrap...), named by what they do; the
# only install commands taken from CI are these (a package manager's install is set-up).
_TASK_RUNNERS = ("make", "gmake", "just", "task", "poe", "invoke", "inv")
# Runners that run every target they are given, in order (poe runs one task with arguments).
_MULTI_TARGET_RUNNERS = ("make", "gmake", "just", "task", "invoke", "inv")
_SCRIPT_VARIANT = re.compile(r"[-_](cov|coverage|all|unit|ci|local)$")
_SCRIPT_FIELDS = {
    "test": "test", "tests": "test", "cibuild": "test", "lint": "lint", "check": "lint",
    "format": "format", "fmt": "format", "typecheck": "typecheck", "type-check": "typecheck",
    "build": "build", "install": "install", "bootstrap": "install", "setup": "install",
}  # fmt: skip


class Classified(NamedTuple):
    field: str  # a CommandsSection field: test, lint, typecheck, format, build (install: scripts)
    command: str  # what to run, cleaned of CI-only parts
    ecosystem: str | None  # None: make, pre-commit or a script, which serve any stack
    tool: str | None = None  # "maven" / "gradle": the build tool it needs


class Skipped(NamedTuple):
    why: str


def classify(command: str) -> Classified | Skipped | None:
    """What ``command`` is: a project command, one that would be but cannot run as written
    (Skipped, with the reason), or None (set-up, noise, or nothing we know)."""
    command = _DROPPABLE_PLACEHOLDER.sub("", command)
    if "${{" in command or re.search(r"\$[A-Za-z_{(]", command):
        # Would it have mattered? Only then is it worth saying why it was not used.
        probe = _classify(re.sub(r"\$[A-Za-z_{(][^\s]*", "X", _PLACEHOLDER.sub("X", command)))
        if probe is None:
            return None
        return Skipped("uses a CI expression or shell variable; cannot run as written")
    return _classify(command)


def classify_each(command: str) -> list[Classified | Skipped]:
    """Every project command in ``command``: a task runner given targets of several fields
    (``just lint test``, ``make lint test``) runs one command per field, each its own."""
    found = classify(command)
    if not isinstance(found, Classified) or found.ecosystem is not None:
        return [found] if found is not None else []
    parts = [classify(part) for part in _per_target(command)]
    return [part for part in parts if part is not None] or [found]


def _per_target(command: str) -> list[str]:
    """``just --unstable lint test`` -> ``just --unstable lint``, ``just --unstable test``; []
    when the command names fewer than two fields' targets (or is no multi-target runner)."""
    try:
        words = shlex.split(command)
    except ValueError:
        return []
    if not words or _base(words[0]) not in _MULTI_TARGET_RUNNERS:
        return []
    options = [w for w in words[1:] if w.startswith("-") or "=" in w or w.isdigit()]
    targets = [w for w in words[1:] if w not in options]
    fields = [_target_field(t) for t in targets]
    if len({f for f in fields if f}) < 2 or any(
        f is None and _base(words[0]) == "just" for f in fields
    ):
        return []  # one field, or a just recipe's arguments that may belong to a recipe
    parts = [join_words([words[0], *options, t]) for t, f in zip(targets, fields, strict=True) if f]
    return list(dict.fromkeys(parts))


def _target_field(target: str) -> str | None:
    """The field a target's name says (install and start are never taken from a CI)."""
    field = next((f for f, names in MAKE_TARGETS.items() if target in names), None)
    return field if field not in ("install", "start") else None


def _classify(command: str) -> Classified | None:
    try:
        words = without_ci_only_flags(without_redirections(shlex.split(command)))
    except ValueError:
        return None
    while words and (_ASSIGNMENT.match(words[0]) or words[0] in ("time", "command", "exec")):
        words = words[1:]  # `FOO=1 time pytest` runs pytest
    if not words:
        return None
    for rule in _RULES:
        found = rule(words)
        if found is not None:
            field, cleaned, ecosystem, tool = found
            return Classified(field, join_words(cleaned), ecosystem, tool)
    return _wrapped(words)


_Rule = Callable[[list[str]], "tuple[str, list[str], str | None, str | None] | None"]


def _base(word: str) -> str:
    return word.rsplit("/", 1)[-1]


# -- generic: make, just, task, pre-commit, scripts -------------------------------------------


def _task_runner(words: list[str]) -> tuple[str, list[str], str | None, str | None] | None:
    """make, just, go-task, and Python's task runners (``uv run poe test``, ``invoke lint``):
    the target's name says the field, as for a Makefile."""
    core = _python_core(words)
    if not core or _base(core[0]) not in _TASK_RUNNERS:
        return None
    args = core[1:]
    if any(flag in args for flag in ("-C", "--directory", "-f", "--file")):
        return None  # another directory's or file's targets
    for target in (a for a in args if not a.startswith("-") and "=" not in a):
        field = next((f for f, names in MAKE_TARGETS.items() if target in names), None)
        if field is not None and field not in ("install", "start"):
            return field, words, None, None
    return None


def _python_tasks(words: list[str]) -> tuple[str, list[str], str | None, str | None] | None:
    """``hatch run types:check``, ``hatch test``, ``hatch fmt``, ``pdm run lint``: a task of the
    project's pyproject.toml, named by what it does."""
    tool, args = _base(words[0]), words[1:]
    if tool == "hatch" and args[:1] in (["test"], ["fmt"]):
        fmt = args[0] == "fmt"
        return ("format" if fmt else "test"), [w for w in words if w != "--check"], "python", None
    if tool in ("hatch", "pdm") and args[:1] == ["run"] and len(args) > 1:
        group, _, name = args[1].rpartition(":")
        field = task_field(name, group or "default")
        return (field, words, "python", None) if field else None
    return None


def _pre_commit(words: list[str]) -> tuple[str, list[str], str | None, str | None] | None:
    core = _python_core(words)
    if core and _base(core[0]) in ("pre-commit", "prek") and "run" in core[1:2]:
        return "lint", words, None, None
    return None


def _script(words: list[str]) -> tuple[str, list[str], str | None, str | None] | None:
    """A repository script named by what it does: ``scripts/test``, ``uv run bash
    scripts/test-cov.sh``, ``script/bootstrap``."""
    core = _python_core(words)
    if not core:
        return None
    path = core[1] if _base(core[0]) in ("bash", "sh") and len(core) > 1 else core[0]
    if "/" not in path:
        return None
    stem = _base(path).removesuffix(".sh")
    field = _SCRIPT_FIELDS.get(stem) or _SCRIPT_FIELDS.get(_SCRIPT_VARIANT.sub("", stem))
    return (field, words, None, None) if field else None


# -- Python ------------------------------------------------------------------------------------


def _python_core(words: list[str]) -> list[str]:
    """The command without its runner: ``uv run --locked pytest -x`` -> ``pytest -x``."""
    words = list(words)
    if (
        len(words) > 1
        and words[0] in ("uv", "poetry", "pipenv", "pdm", "rye")
        and words[1] == "run"
    ):
        rest, words = words[2:], []
        while rest and rest[0].startswith("-"):
            option = rest.pop(0)
            if option in _UV_VALUE_OPTIONS and rest:
                rest.pop(0)
        words = rest
    if len(words) > 2 and re.fullmatch(r"python[0-9.]*|py", _base(words[0])) and words[1] == "-m":
        words = words[2:]
    if len(words) > 1 and words[0] == "coverage" and words[1] == "run":
        words = [w for w in words[2:] if w != "-m"]
    return words


def _python(words: list[str]) -> tuple[str, list[str], str | None, str | None] | None:
    core = _python_core(words)
    if not core:
        return None
    tool, args = _base(core[0]), core[1:]
    field = None
    if _runs_python_tests(tool, args):
        field = "test"
    elif tool in ("tox", "nox"):
        field = _tox_field(args)
    elif tool in ("mypy", "pyright", "basedpyright"):
        field = "typecheck"
    elif tool in ("flake8", "pylint") or (tool == "ruff" and args[:1] != ["format"]):
        field = "lint"
        words = without_report_flags(words)
    elif tool == "black" or (tool == "ruff" and args[:1] == ["format"]):
        field, words = "format", [w for w in words if w not in ("--check", "--diff")]
    if field is None:
        return None
    return field, words, "python", None


def _runs_python_tests(tool: str, args: list[str]) -> bool:
    """pytest, Django's ``manage.py test``, or a ``runtests.py`` script (Django, Wagtail)."""
    script = _base(args[0]) if re.fullmatch(r"python[0-9.]*", tool) and args else ""
    return (
        tool in ("pytest", "py.test", "runtests.py", "unittest")
        or script == "runtests.py"
        or (tool == "manage.py" and args[:1] == ["test"])
        or (script == "manage.py" and args[1:2] == ["test"])
    )


def _tox_field(args: list[str]) -> str | None:
    envs = " ".join(a for i, a in enumerate(args) if i and args[i - 1] in ("-e", "--env", "-s"))
    if any(word in envs for word in ("lint", "style", "flake8", "ruff", "pre-commit")):
        return "lint"
    if any(word in envs for word in ("typing", "mypy", "types", "pyright")):
        return "typecheck"
    if any(word in envs for word in ("docs", "format", "fmt", "build", "release")):
        return None
    return "test"


# -- JavaScript / TypeScript -----------------------------------------------------------------

_NODE_TOOLS = {
    "jest": "test", "vitest": "test", "mocha": "test", "ava": "test",
    "eslint": "lint", "tsc": "typecheck", "vue-tsc": "typecheck", "prettier": "format",
}  # fmt: skip


def _script_field(name: str) -> str | None:
    """The field of a package.json script a CI runs: ``test``, ``test:unit``, ``lint``...;
    suites of their own (``test:e2e``, ``test:generators:relational``) are not the test command."""
    head, _, rest = name.partition(":")
    if any(word in name for word in _E2E_WORDS) or rest not in _PLAIN_VARIANTS:
        return None
    fields = {
        "test": "test", "tests": "test", "jest": "test", "vitest": "test", "lint": "lint",
        "typecheck": "typecheck", "type-check": "typecheck", "check-types": "typecheck",
        "types": "typecheck", "tsc": "typecheck", "format": "format", "fmt": "format",
        "build": "build",
    }  # fmt: skip
    return fields.get(head)


def _node(words: list[str]) -> tuple[str, list[str], str | None, str | None] | None:
    pm, args = words[0], words[1:]
    if (pm == "npm" and args[:1] in (["test"], ["t"])) or (pm == "bun" and args[:1] == ["test"]):
        return "test", words, "node", None
    script = None
    if pm in ("npm", "bun") and args[:1] in (["run"], ["run-script"]) and len(args) > 1:
        script = args[1]
    elif pm in ("pnpm", "yarn") and args:
        script = args[1] if args[0] == "run" and len(args) > 1 else args[0]
        if script in ("exec", "dlx") and len(args) > 1:
            return _node_tool(words, args[1:])
    if script is not None:
        field = _script_field(script)
        return (field, words, "node", None) if field else None
    if pm in ("npx", "bunx"):
        return _node_tool(words, [a for a in args if not a.startswith("-")])
    return _node_tool(words, words)


def _node_tool(
    words: list[str], core: list[str]
) -> tuple[str, list[str], str | None, str | None] | None:
    if not core:
        return None
    tool, args = _base(core[0]), core[1:]
    if tool == "node" and "--test" in args:  # node's own test runner
        return "test", words, "node", None
    if tool == "next" and args[:1] == ["lint"]:
        return "lint", words, "node", None
    if tool == "biome" and args[:1] in (["check"], ["lint"], ["ci"]):
        return "lint", words, "node", None
    field = _NODE_TOOLS.get(tool)
    if field == "format":
        words = ["--write" if w in ("--check", "-c") else w for w in words]
    return (field, words, "node", None) if field else None


def _wrapped(words: list[str]) -> Classified | None:
    """``bin/flatware rspec``: an unknown runner around a known test tool runs that tool."""
    if len(words) < 2 or _base(words[0]) in _NOT_WRAPPERS or _base(words[1]) not in _WRAPPED_TOOLS:
        return None
    inner = _classify(join_words(words[1:]))
    if inner is None:
        return None
    return Classified(inner.field, join_words(words), inner.ecosystem, inner.tool)


_RULES: tuple[_Rule, ...] = (
    _task_runner,
    _python_tasks,
    _pre_commit,
    _python,
    _node,
    go_rule,
    rust_rule,
    java_rule,
    ruby_rule,
    _script,
)
