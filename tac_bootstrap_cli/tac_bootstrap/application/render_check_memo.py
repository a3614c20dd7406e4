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

``TAC_BOOTSTRAP_NO_CACHE=1`` turns the memo off (and the compiled-template cache keeps working).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

from tac_bootstrap import __version__
from tac_bootstrap.application.ignored_files import git_ignored
from tac_bootstrap.infrastructure.filesystem import user_cache_dir

FORMAT = 1
KEEP = 256  # memos kept (one per project checked)
_LIBRARIES = ("jinja2", "markupsafe", "yaml", "pydantic", "pydantic_core")
_PACKAGE = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Recorded:
    """What the clean check printed: its warnings (about the config), then its lines."""

    warnings: list[str]
    lines: list[str]


class _Changed(Exception):
    """An input is no longer what the check read (or cannot be read): run the real check."""


def disabled() -> bool:
    return os.environ.get("TAC_BOOTSTRAP_NO_CACHE", "") not in ("", "0")


def replay(root: Path) -> Recorded | None:
    """The recorded answer for ``root``, if every input is unchanged; else None."""
    if disabled():
        return None
    try:
        real_root = os.path.realpath(root)
        memo = json.loads(_memo_path(real_root).read_bytes())
        if memo.get("format") != FORMAT or memo.get("installation") != _installation():
            return None
        if memo.get("root") != real_root:
            return None
        inputs: dict[str, list[str] | None] = memo["inputs"]
        for relative, recorded in inputs.items():
            if _state(real_root, relative) != recorded:
                return None
        if _git_ignores_any(root, memo["generated"]):
            return None
        return Recorded(list(memo["warnings"]), list(memo["lines"]))
    except (OSError, ValueError, KeyError, TypeError, _Changed):
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
    if disabled():
        return
    try:
        real_root = os.path.realpath(root)
        memo = {
            "format": FORMAT,
            "installation": _installation(),
            "root": real_root,
            "inputs": {relative: _state(real_root, relative) for relative in sorted(set(read))},
            "generated": sorted(set(generated)),
            "warnings": list(warnings),
            "lines": list(lines),
        }
        path = _memo_path(real_root)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".memo-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(json.dumps(memo, sort_keys=True).encode())
            os.replace(temp, path)
        except BaseException:
            os.unlink(temp)
            raise
        _prune(path.parent)
    except (OSError, _Changed):
        return


def _prune(directory: Path, keep: int = KEEP) -> None:
    """One memo per project; past ``keep`` of them (CI machines check many temporary
    checkouts), the least recently written go."""
    memos = [entry for entry in os.scandir(directory) if entry.name.endswith(".json")]
    if len(memos) <= keep:
        return
    memos.sort(key=lambda entry: entry.stat().st_mtime_ns, reverse=True)
    for entry in memos[keep:]:
        with contextlib.suppress(OSError):
            os.unlink(entry.path)


def _memo_path(real_root: str) -> Path:
    name = hashlib.sha256(real_root.encode("utf-8", "surrogateescape")).hexdigest()[:32]
    return Path(user_cache_dir(), "render-check", f"{name}.json")


def _state(real_root: str, relative: str) -> list[str] | None:
    """[sha256, real path] of a regular file, None when nothing is there; _Changed otherwise
    (a directory, a FIFO, a dangling symlink, an unreadable file: the real check decides)."""
    path = os.path.join(real_root, relative)
    if not os.path.lexists(path):
        return None
    try:  # O_NONBLOCK: a FIFO put there must not hang the check
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise _Changed(relative) from exc
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise _Changed(relative)
        digest = hashlib.sha256(handle.read()).hexdigest()
    real = os.path.realpath(path)
    shown = os.path.relpath(real, real_root) if real.startswith(real_root + os.sep) else real
    return [digest, shown]


def _installation() -> str:
    """A fingerprint of everything besides the project that decides what the check says."""
    parts = [__version__, sys.prefix, sys.version]
    for directory, dirs, files in os.walk(_PACKAGE):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if not name.endswith((".pyc", ".pyo")):
                parts.append(_stamp(os.path.join(directory, name)))
    for library in _LIBRARIES:
        spec = find_spec(library)
        parts.append(f"{library}:{_stamp(spec.origin) if spec and spec.origin else '-'}")
    return hashlib.sha256("\0".join(parts).encode("utf-8", "surrogateescape")).hexdigest()


def _stamp(path: str) -> str:
    info = os.stat(path)
    return f"{path}:{info.st_size}:{info.st_mtime_ns}"


def _git_ignores_any(root: Path, generated: list[str]) -> bool:
    """Whether git ignores a generated file (its parent directories may be: `logs/` is)."""
    found = git_ignored(root, generated)
    if found is None:  # no git, or not a repository
        return False
    return found.root_rule is not None or any(path in found.rules for path in generated)
