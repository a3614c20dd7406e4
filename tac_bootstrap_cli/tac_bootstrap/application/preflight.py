"""Checks before the first write, and the account of a run that failed mid-way anyway.

Every run that writes (init, render, upgrade, add-agentic) first checks each path it will
create or replace: confined to the project (no '..', no symlink out, no loop), no file where
a directory is needed or directory where a file is needed, the directory that receives it
writable, names within NAME_MAX and the path within PATH_MAX. A predictable failure therefore
writes nothing. What cannot be predicted (a full disk) stops with a WriteLog error that says
what was already written.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterable
from pathlib import Path, PurePosixPath

from tac_bootstrap.domain.errors import OperationError, TacError, UnsafePathError, UsageError
from tac_bootstrap.infrastructure.filesystem import confined_path, resolved_root

NAME_MAX_DEFAULT = 255
PATH_MAX_DEFAULT = 4096
_SHOWN = 10  # files named in a mid-way failure; the rest are counted


class PartialWriteError(OperationError):
    """A run stopped after writing some files; ``written`` lists them (relative paths)."""

    def __init__(self, message: str, hint: str, written: list[str]) -> None:
        super().__init__(message, hint)
        self.written = written


def _limit(directory: Path, name: str, default: int) -> int:
    try:
        value = os.pathconf(directory, name)
    except (OSError, ValueError):
        return default
    return value if value > 0 else default


def _fits(
    directory: Path,
    names: Iterable[str],
    full: Path,
    what: str,
    error: type[TacError],
    limit: Callable[[Path, str, int], int] = _limit,
) -> None:
    name_max = limit(directory, "PC_NAME_MAX", NAME_MAX_DEFAULT)
    for name in names:
        size = len(name.encode("utf-8", "surrogateescape"))
        if size > name_max:
            raise error(
                f"cannot write {what}: the name {name[:40]!r}... is {size} bytes, more than the "
                f"{name_max} the filesystem allows ({directory})",
                hint="choose a shorter name; nothing was written",
            )
    path_max = limit(directory, "PC_PATH_MAX", PATH_MAX_DEFAULT)
    size = len(os.fsencode(full.absolute()))
    if size >= path_max:
        raise error(
            f"cannot write {what}: its path is {size} bytes, more than the {path_max} the "
            f"system allows ({full.absolute()})",
            hint="choose a shorter location; nothing was written",
        )


def _writable(directory: Path, what: str) -> None:
    if not os.access(directory, os.W_OK | os.X_OK):
        raise OperationError(
            f"cannot write {what}: the directory is not writable ({directory})",
            hint="make it writable or choose another location; nothing was written",
        )


def _existing_ancestor(path: Path) -> Path:
    current = path.absolute()
    while current != current.parent:
        try:
            if current.is_dir():
                return current
        except OSError:
            pass  # too long or unreadable: look further up
        current = current.parent
    return current


class PathLimits:
    """For one plan's checks: each directory's nearest existing ancestor and its filesystem's
    NAME_MAX and PATH_MAX, looked up once, not once per file (a stat per missing level and two
    statfs calls for each of init's ~150 files). Valid while nothing is written."""

    def __init__(self) -> None:
        self._ancestors: dict[Path, Path] = {}
        self._limits: dict[tuple[Path, str], int] = {}

    def ancestor(self, path: Path) -> Path:
        """``_existing_ancestor(path)``: the path itself when it is a directory, else its
        parent's (remembered)."""
        absolute = path.absolute()
        try:
            if absolute.is_dir():
                return absolute
        except OSError:
            pass  # as _existing_ancestor: look further up
        parent = absolute.parent
        found = self._ancestors.get(parent)
        if found is None:
            found = self._ancestors[parent] = _existing_ancestor(parent)
        return found

    def limit(self, directory: Path, name: str, default: int) -> int:
        key = (directory, name)
        value = self._limits.get(key)
        if value is None:
            value = self._limits[key] = _limit(directory, name, default)
        return value


def planned_path(
    root: Path, relative: str, real_root: Path | None = None, limits: PathLimits | None = None
) -> Path:
    """confined_path, plus the length limits: checked before any stat of the path itself.
    ``real_root``: ``resolved_root(root)``, resolved once for a whole plan; ``limits``: the
    plan's PathLimits, for the same reason."""
    full = root / relative
    parts = PurePosixPath(relative).parts
    if limits is None:
        _fits(_existing_ancestor(full), parts, full, relative, OperationError)
    else:
        _fits(limits.ancestor(full), parts, full, relative, OperationError, limits.limit)
    return confined_path(root, relative, real_root)


def _check_root(root: Path) -> None:
    """The target itself: a directory, or creatable under its nearest existing ancestor."""
    missing: list[str] = []
    current = root.absolute()
    while not current.exists():
        if current.is_symlink():
            raise UsageError(
                f"cannot create {root}: {current} is a dangling symlink to {os.readlink(current)}",
                hint="remove the symlink or choose another directory; nothing was written",
            )
        missing.insert(0, current.name)
        current = current.parent
    if not current.is_dir():
        raise UsageError(
            f"cannot create {root}: a file is in the way ({current})",
            hint="choose another directory; nothing was written",
        )
    if missing:
        _writable(current, str(root))
        _fits(current, missing, root, str(root), UsageError)


def _check_path(
    root: Path, relative: str, *, directory: bool, real_root: Path | None = None
) -> None:
    confined_path(root, relative, real_root)  # no '..', no absolute path, no symlink out, no loop
    parts = PurePosixPath(relative).parts
    parent = root
    for index, part in enumerate(parts):
        current = parent / part
        last = index == len(parts) - 1
        try:
            mode = current.stat().st_mode
        except FileNotFoundError:
            if current.is_symlink():
                raise OperationError(
                    f"cannot write {relative}: a dangling symlink is in the way "
                    f"({current} -> {os.readlink(current)})",
                    hint="remove or fix the symlink; nothing was written",
                ) from None
            _writable(parent, relative)
            _fits(parent, parts[index:], root / relative, relative, OperationError)
            return
        except OSError as exc:
            raise OperationError(
                f"cannot write {relative}: {exc.strerror} ({current})",
                hint="fix the path; nothing was written",
            ) from None
        if not last and not stat.S_ISDIR(mode):
            raise OperationError(
                f"cannot write {relative}: a file is in the way where a directory is needed "
                f"({current})",
                hint="move or rename that file; nothing was written",
            )
        if last and directory and not stat.S_ISDIR(mode):
            raise OperationError(
                f"cannot create the directory {relative}: a file is in the way ({current})",
                hint="move or rename that file; nothing was written",
            )
        if last and not directory:
            if stat.S_ISDIR(mode):
                raise OperationError(
                    f"cannot write {relative}: a directory is in the way ({current})",
                    hint="move or rename that directory; nothing was written",
                )
            _writable(parent, relative)  # replacing a file renames into its directory
        parent = current


def preflight(root: Path, files: Iterable[str], directories: Iterable[str] = ()) -> None:
    """Raise a TacError naming the first path that cannot be written; touches nothing."""
    _check_root(root)
    if not root.exists():
        return  # everything will be created inside a fresh, writable directory
    real_root = resolved_root(root)  # once, not once per path
    for relative in dict.fromkeys(directories):
        _check_path(root, relative, directory=True, real_root=real_root)
    for relative in dict.fromkeys(files):
        _check_path(root, relative, directory=False, real_root=real_root)


def check_git_dir(root: Path) -> None:
    """`git init` follows a `.git` symlink: refuse one that dangles or points outside."""
    git = root / ".git"
    if not git.is_symlink():
        return
    target = os.readlink(git)
    try:
        real = git.resolve(strict=True)
    except (OSError, RuntimeError):
        raise UnsafePathError(
            f"refusing to create a git repository: {git} is a dangling symlink to {target}",
            hint="remove the symlink, or use --no-git; nothing was written",
        ) from None
    real_root = root.resolve()
    if real != real_root and real_root not in real.parents:
        raise UnsafePathError(
            f"refusing to create a git repository: {git} is a symlink to {real}, outside "
            f"{real_root}",
            hint="remove the symlink, or use --no-git; nothing was written",
        )


class WriteLog:
    """What a run has written so far, so a failure mid-way can say so."""

    def __init__(self) -> None:
        self.written: list[str] = []

    def note(self, relative: str) -> None:
        self.written.append(relative)

    def failure(self, relative: str, exc: OSError) -> PartialWriteError:
        cause = exc.strerror or type(exc).__name__
        where = exc.filename or relative
        count = len(self.written)
        if count:
            shown = ", ".join(self.written[:_SHOWN])
            more = f" and {count - _SHOWN} more" if count > _SHOWN else ""
            done = f"{count} file(s) were written before it: {shown}{more}"
        else:
            done = "nothing was written before it"
        return PartialWriteError(
            f"writing {relative} failed: {cause} ({where}); {done}",
            hint="fix the cause and run the same command again: the files written are whole "
            "and the run completes the rest",
            written=list(self.written),
        )
