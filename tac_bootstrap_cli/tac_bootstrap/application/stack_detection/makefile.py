"""Root Makefile targets: the entry points a repository's developers use (``make test``).

A target beats what the ecosystem's files suggest (only a command the CI runs beats it). An
install or setup target that asks questions, uses sudo or pipes a download into a shell is
never taken as the install command: it is reported instead, so a person runs it knowingly.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from .model import Evidence
from .reading import Reader
from .recipes import Recipe, Recipes, choose
from .target_names import MAKE_TARGETS

# What makes a recipe unfit to run unattended.
_INTERACTIVE = (
    (re.compile(r"(^[@+-]*|[;&|(\s])read\s"), "reads from the terminal (read)"),
    (re.compile(r"(^[@+-]*|[;&|(\s])select\s"), "asks to choose (select)"),
    (re.compile(r"(^[@+-]*|[;&|(\s])sudo\s"), "runs sudo"),
    (
        re.compile(r"\b(curl|wget)\b[^|]*\|\s*(sudo\s+)?(ba|z)?sh\b"),
        "pipes a download into a shell",
    ),
    (re.compile(r"\[[yY]/[nN]\]|\(y/n\)|\bpress (enter|any key)", re.I), "prompts"),
)


_PROGRAM_INSTALL = re.compile(
    r"\b(go|cargo) install\b|\$\(DESTDIR\)|\$\{DESTDIR\}|\$\((PREFIX|BINDIR|bindir)\)"
    r"|/usr/(local/)?bin|\binstall\s+-[a-zA-Z]*[mD]"
)


class MakeRule(NamedTuple):
    """One rule of a Makefile: its explicit targets, prerequisites and recipe lines."""

    targets: list[str]
    prerequisites: list[str]
    recipe: list[str]


# Lines that are make directives, never rules (the conditionals keep a recipe going).
_CONDITIONALS = {"ifeq", "ifneq", "ifdef", "ifndef", "else", "endif"}
_DIRECTIVES = _CONDITIONALS | {
    "include", "-include", "sinclude", "vpath", "export", "unexport", "override", "private",
    "undefine", "load", "-load",
}  # fmt: skip
_DEFINE_PREFIXES = {"override", "export", "private"}
# A variable reference or function call, innermost first (applied until none is left).
_INNER_REFERENCE = re.compile(r"\$[({][^(){}]*[)}]")


def _logical_lines(text: str) -> list[str]:
    """Physical lines joined where a backslash continues them (a recipe line's continuation
    is part of that recipe, whatever it starts with)."""
    joined: list[str] = []
    pending = ""
    for line in text.splitlines():
        if pending:
            line = pending + " " + line.lstrip()
        trailing = len(line) - len(line.rstrip("\\"))
        if trailing % 2:
            pending = line[:-1].rstrip()
            continue
        pending = ""
        joined.append(line)
    if pending:
        joined.append(pending)
    return joined


def _without_comment(line: str) -> str:
    """The line up to an unescaped ``#`` (make strips comments before any other parsing)."""
    match = re.search(r"(?<!\\)#", line)
    return line[: match.start()] if match else line


def _rule_colon(code: str) -> int | None:
    """Where the colon that makes ``code`` a rule is: the first one outside ``$(...)`` /
    ``${...}`` (``$(warning run: x)`` has none), unless an assignment comes first."""
    closers: list[str] = []
    for index, char in enumerate(code):
        opens = char in "({" and (bool(closers) or code[index - 1 : index] == "$")
        if opens:
            closers.append(")" if char == "(" else "}")
        elif closers:
            if char == closers[-1]:
                closers.pop()
        elif char == "=":
            return None  # ``X = a:b``, ``X ?= y``: a variable whose value has a colon
        elif char == ":":
            after = code[index + 1 :].lstrip(":")
            return None if after.startswith("=") else index  # ``:=``, ``::=`` assign
    return None


def makefile_rules(text: str) -> list[MakeRule]:
    """The rules of a Makefile in GNU make's terms: a line that starts a rule has a colon
    outside any variable reference and no assignment before it; recipe lines (tab), variable
    values, ``define`` blocks and directives are not rules."""
    rules: list[MakeRule] = []
    current: MakeRule | None = None
    define_depth = 0
    for line in _logical_lines(text):
        code = _without_comment(line)
        words = code.split()
        head = words[0] if words else ""
        if define_depth:
            if head == "endef":
                define_depth -= 1
            elif head == "define" or (head in _DEFINE_PREFIXES and words[1:2] == ["define"]):
                define_depth += 1
            continue
        if line.startswith("\t"):  # a recipe line (a tab line outside a rule is left out)
            if current is not None:
                current.recipe.append(line.strip())
            continue
        if not words or head in _CONDITIONALS:
            continue  # blank lines, comments and conditionals keep a recipe going
        current = None
        if head == "define" or (head in _DEFINE_PREFIXES and words[1:2] == ["define"]):
            define_depth = 1
            continue
        if head in _DIRECTIVES and not code.lstrip().startswith(f"{head}:"):
            continue
        current = _rule(code)
        if current is not None:
            rules.append(current)
    return rules


def _without_references(text: str) -> str:
    """Every (nested) variable reference or function call replaced by ``$``."""
    while True:
        replaced = _INNER_REFERENCE.sub("$", text)
        if replaced == text:
            return text
        text = replaced


def _rule(code: str) -> MakeRule | None:
    colon = _rule_colon(code)
    if colon is None:
        return None
    rest = code[colon + 1 :].lstrip(":")
    # ``$(addprefix x/, a b)`` is one computed name, not ``a`` and ``b``; ``a b &:`` a group.
    names = _without_references(code[:colon]).replace("&", " ").split()
    targets = [n for n in names if not any(c in n for c in "$%()") and not n.startswith(".")]
    depends, _, inline = rest.partition(";")
    if "=" in depends:  # ``test: ARGS = -x`` sets a variable for the target: not a rule
        return MakeRule([], [], [])
    prerequisites = [p for p in depends.split() if "$" not in p and p != "|"]
    return MakeRule(targets, prerequisites, [inline.strip()] if inline.strip() else [])


def makefile_targets(text: str) -> list[str]:
    """Names of the explicit targets of a Makefile, in order (no variables, no patterns)."""
    targets: list[str] = []
    for rule in makefile_rules(text):
        targets += [name for name in rule.targets if name not in targets]
    return targets


def makefile_recipe(text: str, target: str) -> tuple[list[str], list[str]]:
    """The recipe lines of ``target`` and its prerequisites, over every rule that names it
    (empty when it is not a target)."""
    recipe: list[str] = []
    prerequisites: list[str] = []
    for rule in makefile_rules(text):
        if target in rule.targets:
            recipe += rule.recipe
            prerequisites += [p for p in rule.prerequisites if p not in prerequisites]
    return recipe, prerequisites


def interactive_reason(text: str, target: str) -> str | None:
    """Why running ``target`` unattended is a bad idea (its recipe, or one level of its
    prerequisites', asks questions, uses sudo, pipes a download into a shell), or None."""
    recipe, prerequisites = makefile_recipe(text, target)
    for name in prerequisites:
        recipe += makefile_recipe(text, name)[0]
    for line in recipe:
        for pattern, why in _INTERACTIVE:
            if pattern.search(line):
                return why
    return None


def installs_the_program(text: str, target: str) -> bool:
    """``install: go install ./cmd/x`` or ``cp bin/x /usr/local/bin``: the target puts the
    built program on the system (the Unix meaning), it does not fetch the dependencies."""
    recipe = " ".join(makefile_recipe(text, target)[0])
    return bool(_PROGRAM_INSTALL.search(recipe))


def makefile_recipes(text: str) -> Recipes:
    """Every explicit target's recipe lines and prerequisites (over all its rules)."""
    recipes: Recipes = {}
    for rule in makefile_rules(text):
        for target in rule.targets:
            entry = recipes.setdefault(target, Recipe([], []))
            entry.lines.extend(rule.recipe)
            entry.depends.extend(p for p in rule.prerequisites if p not in entry.depends)
    return recipes


def makefile_commands(
    files: Reader,
    evidence: list[Evidence],
    declared_linter: bool = False,
    rejected: list[str] | None = None,
) -> tuple[dict[str, str], list[str]]:
    """``make <target>`` per command field, and warnings (an interactive install target).
    Build, format and lint targets are judged by their recipes (``recipes.choose``); the
    ``make x`` commands found unfit are added to ``rejected``."""
    name = next((n for n in ("GNUmakefile", "makefile", "Makefile") if files.is_file(n)), None)
    if name is None:
        return {}, []
    text = files.text(name, evidence)
    if text is None:
        return {}, []
    recipes = makefile_recipes(text)
    commands: dict[str, str] = {}
    warnings: list[str] = []
    for key in MAKE_TARGETS:
        target, unfit = choose("make", recipes, key, name, evidence, declared_linter)
        if rejected is not None:
            rejected += unfit
        if target is None:
            continue
        if key == "install" and installs_the_program(text, target):
            evidence.append(
                Evidence(name, f"`make {target}` installs the program, not its dependencies")
            )
            continue
        why = interactive_reason(text, target) if key == "install" else None
        if why is not None:
            warning = f"`make {target}` {why}: not used as the install command; run it yourself"
            evidence.append(Evidence(name, warning))
            warnings.append(f"{name}: {warning}")
            continue
        commands[key] = f"make {target}"
    if commands:
        found = ", ".join(f"{key} -> {cmd}" for key, cmd in commands.items())
        evidence.append(Evidence(name, "targets: " + found))
    elif not warnings:
        evidence.append(Evidence(name, "no test/lint/typecheck/format/start/build/install target"))
    return commands, warnings
