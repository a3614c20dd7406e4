"""Root Makefile targets, which override detected commands.

A repository's Makefile is the entry point its developers use, so ``make test`` beats whatever
the ecosystem's files suggest.
"""

from __future__ import annotations

import re

from .model import Evidence, first
from .reading import Reader

# A rule line: targets, then ':' or '::' that does not start an assignment (':=', '::=').
_MAKE_RULE = re.compile(r"^([^\s:=#][^:=#]*?)\s*::?(?![:=])", re.MULTILINE)
MAKE_TARGETS: dict[str, tuple[str, ...]] = {
    "test": ("test",),
    "lint": ("lint",),
    "typecheck": ("typecheck", "type-check"),
    "format": ("fmt", "format"),
    "start": ("start", "run", "serve"),
    "build": ("build",),
    "install": ("install",),
}


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


def apply_makefile(files: Reader, commands: dict[str, str], evidence: list[Evidence]) -> None:
    name = next((n for n in ("GNUmakefile", "makefile", "Makefile") if files.is_file(n)), None)
    if name is None:
        return
    text = files.text(name, evidence)
    if text is None:
        return
    targets = makefile_targets(text)
    overrides = []
    for key, candidates in MAKE_TARGETS.items():
        target = first(targets, candidates)
        if target is not None:
            commands[key] = f"make {target}"
            overrides.append(f"{key} -> make {target}")
    if overrides:
        evidence.append(Evidence(name, "targets override: " + ", ".join(overrides)))
    else:
        evidence.append(Evidence(name, "no test/lint/typecheck/format/start/build/install target"))
