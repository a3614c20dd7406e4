"""Expanding a workspace's member patterns without ever leaving the repository.

Workspace files are the repository's data, not trusted: a pattern with ``..`` or an absolute
path is refused, a folder whose real path is outside the root (a symlink) is skipped,
dependency and build folders are never entered, ``**`` looks MAX_GLOBSTAR_DEPTH levels down
and the whole walk visits at most MAX_VISITED_DIRS folders.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from .model import Evidence
from .reading import Reader

MAX_VISITED_DIRS = 5000
MAX_GLOBSTAR_DEPTH = 4  # "packages/**" looks this many levels down, no further
# Never entered while expanding a pattern: dependencies, environments and build output.
SKIPPED_DIRS = frozenset(
    {"node_modules", "target", "dist", "build", "out", "venv", "__pycache__", "vendor"}
)
_GLOB_CHARS = frozenset("*?[")


class Walk:
    """Expands workspace patterns inside one root, never leaving it."""

    def __init__(self, root: Path, evidence: list[Evidence]) -> None:
        self.root = root
        self.real_root = _real(root)
        self.evidence = evidence
        self.visited = 0
        self.exhausted = False

    def expand(self, source: str, patterns: Iterable[str], manifests: tuple[str, ...]) -> list[str]:
        """The folders ``patterns`` name (``!pattern`` excludes) that hold one of ``manifests``."""
        found: list[str] = []
        excluded: list[str] = []
        for raw in patterns:
            negated = raw.strip().startswith("!")
            pattern = clean_pattern(raw.strip().lstrip("!"))
            if pattern is None:
                self.evidence.append(Evidence(source, f"pattern {raw!r} leaves the root; ignored"))
                continue
            if negated:
                excluded.append(pattern)
                continue
            for folder in self._matches(pattern.split("/") if pattern else []):
                if folder and folder not in found and self.has_any(folder, manifests):
                    found.append(folder)
        kept = [f for f in found if not any(fnmatch.fnmatchcase(f, p) for p in excluded)]
        return sorted(kept)

    def _matches(self, segments: list[str]) -> list[str]:
        current = [""]
        for segment in segments:
            following: list[str] = []
            for folder in current:
                if segment == "**":
                    following += [folder, *self._descendants(folder, MAX_GLOBSTAR_DEPTH)]
                elif _GLOB_CHARS & set(segment):
                    following += [
                        child
                        for child in self.children(folder)
                        if fnmatch.fnmatchcase(PurePosixPath(child).name, segment)
                    ]
                elif self.inside(_join(folder, segment)):
                    following.append(_join(folder, segment))
            current = list(dict.fromkeys(following))
        return current

    def children(self, folder: str) -> list[str]:
        if self.visited >= MAX_VISITED_DIRS:
            if not self.exhausted:
                self.exhausted = True
                self.evidence.append(
                    Evidence(".", f"more than {MAX_VISITED_DIRS} folders; the search stopped")
                )
            return []
        self.visited += 1
        try:
            with os.scandir(self.root / folder) as entries:
                names = sorted(e.name for e in entries if _is_dir(e))
        except OSError:
            return []
        children = [_join(folder, n) for n in names if n not in SKIPPED_DIRS and n[0] != "."]
        return [child for child in children if self.inside(child)]

    def _descendants(self, folder: str, depth: int) -> list[str]:
        if depth == 0:
            return []
        found: list[str] = []
        for child in self.children(folder):
            found += [child, *self._descendants(child, depth - 1)]
        return found

    def inside(self, folder: str) -> bool:
        """An existing folder whose real path is inside the root (symlinks out are skipped)."""
        path = self.root / folder
        try:
            if not path.is_dir():
                return False
            real = path.resolve()
        except (OSError, RuntimeError):
            return False
        if real == self.real_root or self.real_root in real.parents:
            return True
        self.evidence.append(Evidence(folder, "links outside the repository; skipped"))
        return False

    def has_any(self, folder: str, manifests: tuple[str, ...]) -> bool:
        return any(Reader(self.root / folder).is_file(name) for name in manifests)


def clean_pattern(pattern: str) -> str | None:
    """'./packages/*/' -> 'packages/*'; None for a pattern that would leave the root."""
    text = pattern.replace("\\", "/").strip()
    if text.startswith(("/", "~")) or re.match(r"^[A-Za-z]:", text):
        return None
    parts = [p for p in text.split("/") if p not in ("", ".")]
    if ".." in parts:
        return None
    return "/".join(parts)


def _join(folder: str, name: str) -> str:
    return f"{folder}/{name}" if folder else name


def _real(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return path.absolute()


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False
