"""Which generated files git would ignore, and the root .gitignore lines that un-ignore them.

A generated file that git ignores is never committed, so every clone lacks it (and then fails
`render --check` and `doctor`). One `git check-ignore --no-index -v --stdin` answers for every
planned path and its parent directories at once; this runs only when git is installed and the
project is in a git work tree (None otherwise: nothing to say).

The negations follow git's rules: a file cannot be re-included while a parent directory is
excluded, so an ignored directory ``D`` gets ``!/D/`` (re-include it) then ``/D/*`` (its other
content stays ignored, as the user wanted) before its generated children are re-included.
A rule in a .gitignore below the project root wins over the root file; those cannot be undone
from there and are reported instead.
"""

from __future__ import annotations

import os
import posixpath
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

GIT_TIMEOUT = 60


@dataclass(frozen=True)
class IgnoreRule:
    """A pattern that ignores a path, where `git check-ignore -v` found it."""

    source: str  # the file: relative to the project root ("../.gitignore"), or absolute
    line: int
    pattern: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.pattern}"


@dataclass(frozen=True)
class IgnoredPaths:
    """What git ignores among the queried paths (directories end with "/")."""

    prefix: str  # the project root relative to the repository top: "" or "sub/dir/"
    rules: dict[str, IgnoreRule]
    # The rule that ignores the project directory itself (or a parent of it, below the
    # repository top): git then reads no .gitignore inside it, so no line of ours can help.
    root_rule: IgnoreRule | None = None

    def can_undo(self, rule: IgnoreRule) -> bool:
        """Whether lines appended to the project's root .gitignore override ``rule``.

        Later lines of the same file, and any .gitignore over info/exclude, core.excludesFile
        and the .gitignore files above the root, win; a .gitignore below the root wins over it.
        """
        source = PurePosixPath(rule.source)
        if source.is_absolute() or source.name != ".gitignore":
            return True
        return source.parent == PurePosixPath(".") or source.parts[0] == ".."


@dataclass
class Negations:
    """The lines that un-ignore the generated files, and what no line of ours can."""

    lines: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)  # generated files git ignores now
    unfixable: dict[str, IgnoreRule] = field(default_factory=dict)  # path -> its rule


def _queried(paths: Iterable[str]) -> list[str]:
    """Every path and each of its parent directories (with a trailing "/"), once."""
    seen: dict[str, None] = {}
    for path in paths:
        parts = path.split("/")
        for depth in range(1, len(parts)):
            seen.setdefault("/".join(parts[:depth]) + "/", None)
        seen.setdefault(path, None)
    return list(seen)


def _git(root: Path, args: list[str], stdin: str = "") -> subprocess.CompletedProcess[str] | None:
    try:
        return subprocess.run(
            ["git", *args],
            cwd=root,
            input=stdin,
            capture_output=True,
            text=True,
            check=False,
            timeout=GIT_TIMEOUT,
        )
    except (OSError, subprocess.SubprocessError):
        return None


def git_ignored(root: Path, paths: Iterable[str]) -> IgnoredPaths | None:
    """The rules that ignore ``paths`` (relative to ``root``) or their parent directories.

    None when git is not installed or ``root`` is not inside a git work tree.
    """
    if shutil.which("git") is None:
        return None
    prefix = _work_tree_prefix(root)
    if prefix is None:
        return None
    queried = _queried(paths) + (["./"] if prefix else [])
    answer = _git(root, ["check-ignore", "--no-index", "-v", "-z", "--stdin"], "\0".join(queried))
    if answer is None or answer.returncode not in (0, 1):
        return None
    fields = answer.stdout.split("\0")
    rules: dict[str, IgnoreRule] = {}
    for start in range(0, len(fields) - 3, 4):
        source, line, pattern, path = fields[start : start + 4]
        if source and not pattern.startswith("!"):  # a matching negation: not ignored
            rules[path] = IgnoreRule(_from_root(source, prefix), int(line or 0), pattern)
    root_rule = rules.pop("./", None)
    return IgnoredPaths(prefix, rules, root_rule)


def _work_tree_prefix(root: Path) -> str | None:
    """The project root relative to its work tree's top ("" or "sub/dir/"), None outside one.

    Found by looking for ``.git`` (a directory, or a worktree's file) upwards, which saves a
    `git rev-parse` start; git itself answers when the environment relocates the repository.
    """
    if any(os.environ.get(name) for name in _RELOCATING):
        where = _git(root, ["rev-parse", "--show-prefix"])
        return where.stdout.strip() if where is not None and where.returncode == 0 else None
    try:
        start = root.resolve()
    except OSError:
        return None
    for top in (start, *start.parents):
        if (top / ".git").exists():
            relative = start.relative_to(top).as_posix()
            return "" if relative == "." else relative + "/"
    return None


# Variables that move the repository or its work tree away from where `.git` is found.
_RELOCATING = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_CEILING_DIRECTORIES",
    "GIT_DISCOVERY_ACROSS_FILESYSTEM",
)


def ignored_by(found: IgnoredPaths, path: str) -> IgnoreRule | None:
    """The rule that ignores ``path`` (one of the queried ones) or one of its parents."""
    if found.root_rule is not None:
        return found.root_rule
    parts = path.rstrip("/").split("/")
    for depth in range(1, len(parts)):
        rule = found.rules.get("/".join(parts[:depth]) + "/")
        if rule is not None:
            return rule
    return found.rules.get(path)


def _from_root(source: str, prefix: str) -> str:
    """A source git names from the repository top, as seen from the project root."""
    if not prefix or PurePosixPath(source).is_absolute():
        return source
    return posixpath.relpath(source, prefix.rstrip("/"))


def escape_pattern(path: str) -> str:
    """``path`` as a .gitignore pattern that matches only itself."""
    escaped = "".join("\\" + ch if ch in "\\*?[]" else ch for ch in path)
    if escaped.endswith(" "):
        escaped = escaped[:-1] + "\\ "
    return escaped


def negations(ignored: IgnoredPaths, paths: Iterable[str]) -> Negations:
    """The root .gitignore lines that make git keep every one of ``paths``.

    Walks each path from the top: a directory ignored by its own rule gets ``!/D/`` and
    ``/D/*``; a level below one of our ``/D/*`` lines, or a file matched by its own rule, gets
    ``!/path``. A level that only inherits an ancestor's rule (git reports the same rule) needs
    no line of its own. A rule the root cannot override stops the walk (``unfixable``).
    """
    result = Negations()
    lines: dict[str, None] = {}
    for path in sorted(set(paths)):
        if path not in ignored.rules:
            continue
        result.ignored.append(path)
        if ignored.root_rule is not None:
            result.unfixable[path] = ignored.root_rule
            continue
        parts = path.split("/")
        handled: set[IgnoreRule] = set()
        reignored = False  # one of our `/D/*` lines covers this level
        for depth in range(1, len(parts) + 1):
            is_dir = depth < len(parts)
            level = "/".join(parts[:depth])
            rule = ignored.rules.get(level + "/" if is_dir else level)
            own = rule is not None and rule not in handled
            if rule is not None and own and not ignored.can_undo(rule):
                result.unfixable[path] = rule
                break
            if not own and not reignored:
                continue
            pattern = "/" + escape_pattern(level)
            lines.setdefault("!" + pattern + ("/" if is_dir else ""), None)
            reignored = False
            if own and is_dir and rule is not None:
                lines.setdefault(pattern + "/*", None)
                handled.add(rule)
                reignored = True
    result.lines = list(lines)
    return result


def few(paths: list[str], shown: int = 3) -> str:
    """A list short enough for one line: the first few paths, then how many more."""
    more = f" and {len(paths) - shown} more" if len(paths) > shown else ""
    return ", ".join(paths[:shown]) + more


def describe_unfixable(unfixable: dict[str, IgnoreRule]) -> list[str]:
    """One line per rule: which generated files it hides from git and what to do."""
    by_rule: dict[IgnoreRule, list[str]] = {}
    for path, rule in unfixable.items():
        by_rule.setdefault(rule, []).append(path)
    messages = []
    for rule, files in by_rule.items():
        shown = few(files)
        messages.append(
            f"git ignores generated {'file' if len(files) == 1 else 'files'} {shown} "
            f"({rule}), which no line in the project's .gitignore can override: remove that "
            "rule or re-include them below it, or they will never be committed"
        )
    return messages
