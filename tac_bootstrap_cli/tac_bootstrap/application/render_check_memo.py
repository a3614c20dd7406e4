"""A clean `render --check` answered again without rendering, while nothing it read has changed.

`render --check` runs in CI jobs and pre-commit hooks, and nearly always finds nothing; yet a
full check loads the config through yaml and pydantic and renders every template. After a clean
check the CLI records here what the check read (the config, the manifest, every generated path
and the bases of shared files: each one's sha256 and real path, or its absence) and what it
printed. The next check with the same installation (version, package files, interpreter and
the libraries that render) hashes those files again: when every one is as recorded it prints
the recorded lines, importing none of yaml, pydantic or jinja2. Anything else (a file edited,
a symlink moved, an unreadable cache) runs the real check, which records again when clean.

git's ignore rules live outside the recorded files, so git is asked each time, as the real
check asks it; any generated path it ignores sends the check down the real path.

The memo is kept by infrastructure/memo_store.py (its installation fingerprint, file states and
pruning); ``TAC_BOOTSTRAP_NO_CACHE=1`` turns it off (the compiled-template cache keeps working).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from tac_bootstrap.application.ignored_files import git_ignored
from tac_bootstrap.infrastructure import memo_store

KIND = "render-check"
KEEP = memo_store.KEEP


@dataclass(frozen=True)
class Recorded:
    """What the clean check printed: its warnings (about the config), then its lines."""

    warnings: list[str]
    lines: list[str]


def replay(root: Path) -> Recorded | None:
    """The recorded answer for ``root``, if every input is unchanged; else None."""
    real_root = os.path.realpath(root)
    memo = memo_store.load(KIND, real_root)
    if memo is None:
        return None
    try:
        if not memo_store.unchanged(real_root, memo["inputs"]):
            return None
        if _git_ignores_any(root, memo["generated"]):
            return None
        return Recorded(list(memo["warnings"]), list(memo["lines"]))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def record(
    root: Path,
    *,
    read: Iterable[str],
    generated: Iterable[str],
    warnings: Iterable[str],
    lines: Iterable[str],
) -> None:
    """Remember a clean check of ``root``; a cache that cannot be written is no error."""
    if memo_store.disabled():
        return
    real_root = os.path.realpath(root)
    try:
        inputs = {name: memo_store.state(real_root, name) for name in sorted(set(read))}
    except (memo_store.Changed, OSError):
        return
    body = {
        "inputs": inputs,
        "generated": sorted(set(generated)),
        "warnings": list(warnings),
        "lines": list(lines),
    }
    memo_store.save(KIND, real_root, body)


def _git_ignores_any(root: Path, generated: list[str]) -> bool:
    """Whether git ignores a generated file (its parent directories may be: `logs/` is)."""
    found = git_ignored(root, generated)
    if found is None:  # no git, or not a repository
        return False
    return found.root_rule is not None or any(path in found.rules for path in generated)
