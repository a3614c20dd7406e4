"""Memos in the user cache: an answer a command gave, with the files it depended on.

Everyday commands (`render --check`, `db status`) nearly always see the same project as last
time, yet working out their answer needs yaml, pydantic and jinja2, which cost more than the
rest of the command. A memo keeps the answer beside a fingerprint of the installation and the
sha256 and real path of every project file it came from; a command reuses it only while all of
them are as recorded, and otherwise does the real work (and records again).

A memo is one JSON file per project and kind (`<cache>/<kind>/<sha of the real root>.json`),
written atomically; a cache that cannot be read or written is never an error.
``TAC_BOOTSTRAP_NO_CACHE=1`` turns memos off.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import stat
import sys
from pathlib import Path
from typing import Any

from tac_bootstrap import __version__
from tac_bootstrap.domain.config_values import CONFIG_FILENAME
from tac_bootstrap.infrastructure.filesystem import user_cache_dir

FORMAT = 1
KEEP = 256  # memos kept per kind (one per project): CI machines see many temporary checkouts
# The libraries whose behaviour decides an answer (rendering, parsing, validating the config).
_LIBRARIES = ("jinja2", "markupsafe", "yaml", "pydantic", "pydantic_core")
_PACKAGE = Path(__file__).resolve().parent.parent

FileState = list[str] | None  # [sha256, real path] of a regular file; None: nothing there


class Changed(Exception):
    """A recorded file is no longer what it was (or cannot be read): do the real work."""


def disabled() -> bool:
    return os.environ.get("TAC_BOOTSTRAP_NO_CACHE", "") not in ("", "0")


def load(kind: str, real_root: str, *, any_installation: bool = False) -> dict[str, Any] | None:
    """The memo of ``kind`` for the project at ``real_root``, if this installation wrote it
    (``any_installation``: whichever did, for an answer our own code cannot change)."""
    if disabled():
        return None
    try:
        memo = json.loads(memo_path(kind, real_root).read_bytes())
    except (OSError, ValueError, RecursionError):  # RecursionError: absurdly nested JSON
        return None
    if not isinstance(memo, dict) or memo.get("format") != FORMAT:
        return None
    if memo.get("root") != real_root:
        return None
    if not any_installation and memo.get("installation") != installation():
        return None
    return memo


def load_for_config(kind: str, real_root: str) -> dict[str, Any] | None:
    """The memo of ``kind`` if it was made from the project's config as it is now (its
    ``config`` entry is that file's state); else None."""
    memo = load(kind, real_root)
    if memo is None:
        return None
    recorded = memo.get("config")
    if not unchanged(real_root, {CONFIG_FILENAME: recorded}):
        return None
    return memo


def unchanged(real_root: str, recorded: dict[str, FileState]) -> bool:
    """Whether every recorded file still has its recorded content and real path."""
    try:
        return all(state(real_root, name) == was for name, was in recorded.items())
    except (Changed, OSError):
        return False


def save(kind: str, real_root: str, body: dict[str, Any]) -> None:
    """Write the memo of ``kind`` for ``real_root`` (best effort), pruning old ones."""
    if disabled():
        return
    memo = {**body, "format": FORMAT, "installation": installation(), "root": real_root}
    path = memo_path(kind, real_root)
    import tempfile  # only a command that records pays for it (~3 ms)

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".memo-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(json.dumps(memo, sort_keys=True).encode())
            os.replace(temp, path)
        except BaseException:
            os.unlink(temp)
            raise
        prune(path.parent)
    except OSError:
        return


def prune(directory: Path, keep: int = KEEP) -> None:
    """Past ``keep`` memos in a kind's directory, the least recently written go."""
    memos = [entry for entry in os.scandir(directory) if entry.name.endswith(".json")]
    if len(memos) <= keep:
        return
    memos.sort(key=lambda entry: entry.stat().st_mtime_ns, reverse=True)
    for entry in memos[keep:]:
        with contextlib.suppress(OSError):
            os.unlink(entry.path)


# Set by the shell for each command, not by the user.
_VOLATILE_VARIABLES = frozenset({"_", "OLDPWD"})


def environment() -> list[tuple[str, str]]:
    """The environment, less what the shell changes per command, for fingerprints."""
    return sorted((k, v) for k, v in os.environ.items() if k not in _VOLATILE_VARIABLES)


def environment_digest() -> str:
    """A key part for memos of answers that depend on the environment: one memo per
    environment, so that two taking turns do not replace each other's memo every time."""
    encoded = json.dumps(environment()).encode("utf-8", "surrogateescape")
    return hashlib.sha256(encoded).hexdigest()


def memo_path(kind: str, real_root: str) -> Path:
    name = hashlib.sha256(real_root.encode("utf-8", "surrogateescape")).hexdigest()[:32]
    return Path(user_cache_dir(), kind, f"{name}.json")


def state(real_root: str, relative: str) -> FileState:
    """[sha256, real path] of a regular file, None when nothing is there; Changed otherwise
    (a directory, a FIFO, a dangling symlink, an unreadable file: the real work decides)."""
    path = os.path.join(real_root, relative)
    if not os.path.lexists(path):
        return None
    try:  # O_NONBLOCK: a FIFO put there must not hang the command
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise Changed(relative) from exc
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise Changed(relative)
        data = handle.read()
    return state_of(real_root, relative, data)


def state_of(real_root: str, relative: str, data: bytes) -> list[str]:
    """The state of a file whose bytes were read already (the very bytes an answer came from,
    so a change in between cannot pair new bytes with an old answer)."""
    real = os.path.realpath(os.path.join(real_root, relative))
    shown = os.path.relpath(real, real_root) if real.startswith(real_root + os.sep) else real
    return [hashlib.sha256(data).hexdigest(), shown]


@functools.cache
def installation() -> str:
    """A fingerprint of everything besides the project that decides an answer: the version,
    the interpreter, every package file (size and mtime) and the libraries that render and
    validate. Taken once per process (a doctor reads three memos): the code that runs is the
    code that was loaded, whatever happens to the files meanwhile."""
    parts = [__version__, sys.prefix, sys.version]
    for directory, dirs, files in os.walk(_PACKAGE):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if not name.endswith((".pyc", ".pyo")):
                with contextlib.suppress(FileNotFoundError):  # a build's temp file, renamed
                    parts.append(_stamp(os.path.join(directory, name)))
    from importlib.util import find_spec

    for library in _LIBRARIES:
        spec = find_spec(library)
        parts.append(f"{library}:{_stamp(spec.origin) if spec and spec.origin else '-'}")
    return hashlib.sha256("\0".join(parts).encode("utf-8", "surrogateescape")).hexdigest()


def _stamp(path: str) -> str:
    info = os.stat(path)
    return f"{path}:{info.st_size}:{info.st_mtime_ns}"
