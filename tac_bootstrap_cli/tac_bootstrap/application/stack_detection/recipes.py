"""A task file's recipes judged by what they run, not only by their names.

A recipe's name is a promise its body may not keep: a ``build`` recipe that runs ``uv sync``
installs, a ``fmt`` recipe that runs ``just --fmt`` formats the justfile itself, a ``lint``
recipe that runs ``modenv check`` checks env files. The body's commands are read with the CI's
splitter and classifier (``ci.split_script``, ``commands.classify``), other recipes it calls
(``just build``, a prerequisite) followed. ``verdict`` says why a recipe is not the command its
name says; ``sibling`` finds the recipe that does the job when the named one does not.
The same rules serve the Makefile (``makefile``), a justfile and a Taskfile (``taskfiles``).
"""

from __future__ import annotations

import re
import shlex
from typing import NamedTuple

from .ci import split_script
from .commands import Classified, classify
from .installers import runs_dependency_install
from .model import Evidence
from .shellwords import join_words, only_checks
from .target_names import MAKE_TARGETS


class Recipe(NamedTuple):
    """A task file's recipe: its body's lines and the recipes it depends on."""

    lines: list[str]
    depends: list[str]


Recipes = dict[str, Recipe]

# What a command in a body does: a field (test, lint, ...), or one of these.
INSTALL, SELF_FORMAT, OPAQUE, UNKNOWN = "install", "self-format", "opaque", "unknown"
# A checker the classifier does not know by name but whose name says it checks (yamllint,
# shellcheck, markdownlint, codespell): enough to keep a lint recipe, not to choose one.
CHECKER = "checker"
_CHECKER_NAME = re.compile(r"lint|check|codespell|typos|cspell|bandit|semgrep|vulture|deptry")
_INTERPOLATION = re.compile(r"\{\{.*?\}\}")  # just's ``{{ ARGS }}``, go-task's ``{{.CLI_ARGS}}``
_LEADING_INTERPOLATION = re.compile(r"^\{\{.*?\}\}")
_XARGS_VALUE_OPTIONS = {"-n", "-I", "-L", "-P", "-d", "-s", "-E", "-a"}
_MAX_DEPTH = 3
_VARIABLE = re.compile(r"\$[A-Za-z_{(]")
_MAKE_ITSELF = ("$(MAKE)", "${MAKE}", "gmake", "make")
# The field words a recipe's name may carry (``lint-fmt``, ``fmt-all``, ``check-style``).
_FIELD_WORDS = {"lint": ("lint", "check"), "format": ("fmt", "format"), "build": ("build",)}


def body_commands(lines: list[str]) -> list[str]:
    """The simple commands of a recipe body, every member of a pipeline included (``git
    ls-files | xargs pre-commit run`` runs pre-commit); make's and just's line prefixes
    (``@``, ``-``, ``+``) and template interpolations taken off."""
    script = "\n".join(_template_free(line.strip().lstrip("@-+ ")) for line in lines)
    return [_without_xargs(command) for command, _, _ in split_script(script, pipelines=True)]


def _template_free(line: str) -> str:
    """Interpolations in arguments dropped (``pytest {{ ARGS }}`` runs pytest); one in the
    command's place (``{{ LINTER }} run``) stays a variable: it may run anything."""
    return _INTERPOLATION.sub("", _LEADING_INTERPOLATION.sub("$TEMPLATE", line))


def _without_xargs(command: str) -> str:
    try:
        words = shlex.split(command)
    except ValueError:
        return command
    if not words or words[0] != "xargs":
        return command
    rest, skip = [], True
    for index, word in enumerate(words[1:], start=1):
        if skip and word.startswith("-"):
            continue
        if skip and index > 1 and words[index - 1] in _XARGS_VALUE_OPTIONS:
            continue
        skip = False
        rest.append(word)
    return join_words(rest) if rest else command


def kinds(runner: str, recipes: Recipes, name: str, depth: int = 0) -> list[str]:
    """What each command ``name`` runs does (its dependencies' commands first), following the
    recipes of the same file it calls."""
    recipe = recipes.get(name)
    if recipe is None or depth > _MAX_DEPTH:
        return [UNKNOWN]
    found: list[str] = []
    for dependency in recipe.depends:
        found += kinds(runner, recipes, dependency, depth + 1)
    for command in body_commands(recipe.lines):
        words = command.split()
        if words and runner == "make" and words[0] in _MAKE_ITSELF:
            words[0] = runner
        called = [w for w in words[1:] if not w.startswith("-") and w in recipes]
        if words and words[0] == runner and "--fmt" in words:
            found.append(SELF_FORMAT)
        elif words and words[0] == runner and called:
            for other in called:
                found += kinds(runner, recipes, other, depth + 1)
        else:
            found.append(_kind(command))
    return found


def _kind(command: str) -> str:
    if runs_dependency_install(command):
        return INSTALL
    if _VARIABLE.search(command):
        return OPAQUE  # ``$(LINTER) run``: a variable may run anything
    for inner in [command, *_wrapped_commands(command)]:
        result = classify(inner)
        if isinstance(result, Classified):
            return "lint" if result.field == "format" and only_checks(inner) else result.field
    tool = command.split(maxsplit=1)[0].rsplit("/", 1)[-1] if command.split() else ""
    return CHECKER if _CHECKER_NAME.search(tool) else UNKNOWN


def _wrapped_commands(command: str) -> list[str]:
    """What a wrapper we do not know may run: each tail of its words (``docker compose run app
    ruff check .`` runs ``ruff check .``) and each quoted word (``nix-shell --run 'cargo
    clippy'``)."""
    try:
        words = shlex.split(command)
    except ValueError:
        return []
    tails = [join_words(words[i:]) for i in range(1, len(words)) if not words[i].startswith("-")]
    return tails + [word for word in words[1:] if " " in word.strip()]


def verdict(runner: str, recipes: Recipes, name: str, field: str) -> str | None:
    """Why recipe ``name`` is not the ``field`` command its name says, or None when it may be.
    A ``lint`` verdict is weak: it only matters when a declared linter is the alternative."""
    found = kinds(runner, recipes, name)
    body = " && ".join(body_commands(recipes[name].lines)) if name in recipes else ""
    if field == "build" and found and all(k == INSTALL for k in found):
        return f"only installs the dependencies ({body}): an install, not a build"
    if field == "format" and found and all(k == SELF_FORMAT for k in found):
        return f"formats the {runner} file itself ({body}), not the project"
    if field == "format" and body and only_checks(body):
        return f"only checks ({body}): not the format"
    if field == "lint" and found and not {"lint", "typecheck", CHECKER, OPAQUE} & set(found):
        return f"runs no linter ({body})"
    return None


def sibling(runner: str, recipes: Recipes, field: str, exclude: str) -> str | None:
    """Another recipe that does ``field`` and nothing else a command field names (unknown
    tools beside it are fine): the one whose name carries the field's word first."""
    fitting = []
    for name in recipes:
        if name == exclude or name.startswith("_"):
            continue
        found = set(kinds(runner, recipes, name)) - {UNKNOWN, INSTALL}
        if found == {field} and verdict(runner, recipes, name, field) is None:
            fitting.append(name)
    words = _FIELD_WORDS.get(field, (field,))
    named = [n for n in fitting if any(w in re.split(r"[-_:]", n) for w in words)]
    return next(iter(named + fitting), None)


# Fields whose recipes are judged by their bodies.
JUDGED = ("build", "format", "lint")


def choose(
    runner: str,
    recipes: Recipes,
    field: str,
    file: str,
    evidence: list[Evidence],
    declared_linter: bool,
) -> tuple[str | None, list[str]]:
    """The recipe for ``field`` and the ``runner recipe`` commands judged unfit for it (a CI
    running one of them does not make it the command either). The first recipe named for the
    field whose body does the job; when every named one fails, a sibling that does. A lint
    recipe that runs no linter is kept unless a declared linter (``declared_linter``, or a
    sibling recipe that runs one) can take its place."""
    named = [name for name in MAKE_TARGETS[field] if name in recipes]
    if field not in JUDGED or not named:
        return (named[0] if named else None), []
    other = sibling(runner, recipes, field, exclude="") if field != "build" else None
    rejected: list[str] = []
    for name in named:
        why = verdict(runner, recipes, name, field)
        if why and field == "lint" and not declared_linter and other in (None, name):
            why = None  # nothing better: the repository's own lint entry point stays
        if why is None:
            return name, rejected
        evidence.append(Evidence(file, f"`{runner} {name}` {why}"))
        rejected.append(f"{runner} {name}")
    if other is not None and other not in named:
        evidence.append(Evidence(file, f"`{runner} {other}` runs the {field} instead"))
        return other, rejected
    return None, rejected
