"""Root Makefile targets: the entry points a repository's developers use (``make test``).

A target beats what the ecosystem's files suggest (only a command the CI runs beats it). An
install or setup target that asks questions, uses sudo or pipes a download into a shell is
never taken as the install command: it is reported instead, so a person runs it knowingly.
"""

from __future__ import annotations

import re

from .model import Evidence, first
from .reading import Reader

# A rule line: targets, then ':' or '::' that does not start an assignment (':=', '::=').
_MAKE_RULE = re.compile(r"^([^\s:=#][^:=#]*?)\s*::?(?![:=])", re.MULTILINE)
MAKE_TARGETS: dict[str, tuple[str, ...]] = {
    "test": ("test", "tests"),
    "lint": ("lint", "check"),
    "typecheck": ("typecheck", "type-check", "types", "mypy"),
    "format": ("fmt", "format"),
    "start": ("start", "run", "serve", "dev", "up"),
    "build": ("build",),
    "install": ("install", "setup"),
}
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


def makefile_targets(text: str) -> list[str]:
    """Names of the explicit targets of a Makefile, in order (no variables, no patterns)."""
    targets: list[str] = []
    in_define = False
    for line in text.splitlines():
        stripped = line.strip()
        if re.match(r"define\b", stripped):
            in_define = True
        elif stripped == "endef":
            in_define = False
        if in_define or line.startswith("\t"):
            continue
        match = _MAKE_RULE.match(line)
        if not match:
            continue
        for name in match.group(1).split():
            if (
                "$" not in name
                and "%" not in name
                and not name.startswith(".")
                and name not in targets
            ):
                targets.append(name)
    return targets


def makefile_recipe(text: str, target: str) -> tuple[list[str], list[str]]:
    """The recipe lines of ``target`` and its prerequisites (empty when it is not a rule)."""
    lines = text.splitlines()
    for index, line in enumerate(lines):
        match = _MAKE_RULE.match(line)
        if line.startswith("\t") or not match or target not in match.group(1).split():
            continue
        after = line[match.end() :].split("#", 1)[0].split(";", 1)
        prerequisites = [p for p in after[0].split() if "$" not in p]
        recipe = [after[1].strip()] if len(after) > 1 else []
        for body in lines[index + 1 :]:
            if not body.startswith("\t"):
                break
            recipe.append(body.strip())
        return recipe, prerequisites
    return [], []


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


def makefile_commands(files: Reader, evidence: list[Evidence]) -> tuple[dict[str, str], list[str]]:
    """``make <target>`` per command field, and warnings (an interactive install target)."""
    name = next((n for n in ("GNUmakefile", "makefile", "Makefile") if files.is_file(n)), None)
    if name is None:
        return {}, []
    text = files.text(name, evidence)
    if text is None:
        return {}, []
    targets = makefile_targets(text)
    commands: dict[str, str] = {}
    warnings: list[str] = []
    for key, candidates in MAKE_TARGETS.items():
        target = first(targets, candidates)
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
