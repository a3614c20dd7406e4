"""Safe file writes: atomic, confined to the target directory, never half-written, and the
temp files a killed run leaves behind are recognisable, swept by the next run and ignored by git.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from pathlib import Path, PurePosixPath

from tac_bootstrap.domain.errors import UnsafePathError

# The runtime names every temp file (`.<name>.tac-tmp-<pid>-<8 hex>`), ours included, so one
# sweep and one git exclude line (GIT_EXCLUDE_PATTERN) cover both.
from tac_bootstrap.runtime.adw_db_private import TEMP_MARK, abandoned_temp, temp_name

GIT_EXCLUDE_PATTERN = f".*{TEMP_MARK}*"
# Temp files of versions before 0.x: tempfile.mkstemp(prefix=".<name>.", suffix=".tmp").
_LEGACY_RE = re.compile(r"\.(.+)\.[a-z0-9_]{8}\.tmp", re.DOTALL)


def real_path(path: Path) -> Path:
    """``path.resolve()`` that reports a symlink loop on every Python: since 3.13 a non-strict
    resolve() returns a path through a loop instead of raising. A missing (or not yet created)
    part is fine and resolved as far as it exists; a loop raises OSError(ELOOP) or, before
    3.13, RuntimeError."""
    try:
        return path.resolve(strict=True)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise
        return path.resolve()


def user_cache_dir() -> str:
    """This tool's per-user cache: $XDG_CACHE_HOME/tac-bootstrap, else ~/.cache/tac-bootstrap."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "tac-bootstrap")


def in_the_way(path: Path) -> str | None:
    """What stands where a generated file belongs (``path`` exists, at least as a link), or
    None for a regular file. Reading a FIFO there would wait for a writer forever."""
    if not path.exists():
        return "a dangling symlink is in the way"
    if path.is_dir():
        return "a directory is in the way"
    if not path.is_file():
        return "a special file (FIFO, socket or device) is in the way"
    return None


def resolved_root(root: Path) -> Path | None:
    """``real_path(root)`` once for many confined_path calls; None when it cannot be resolved
    (confined_path then resolves it itself and reports the error)."""
    try:
        return real_path(root)
    except (RuntimeError, OSError):
        return None


# Directories already resolved by the plan being checked and written (resolving_once).
_RESOLVED_DIRECTORIES: ContextVar[dict[Path, Path] | None] = ContextVar(
    "resolved_directories", default=None
)


@contextlib.contextmanager
def resolving_once() -> Iterator[None]:
    """Within a plan's checks and writes, resolve each directory once, not once per file.

    Resolving a path costs an lstat per component, twice for a file that does not exist yet
    (a strict then a lenient resolve); `init` resolved its ~290 paths twice each, ~9,000
    lstat calls. Inside this block a file that is not a symlink resolves to its directory's
    remembered resolution plus its name, which is what resolving it whole gives. Re-entered,
    the outer block's directories are kept."""
    if _RESOLVED_DIRECTORIES.get() is not None:
        yield
        return
    token = _RESOLVED_DIRECTORIES.set({})
    try:
        yield
    finally:
        _RESOLVED_DIRECTORIES.reset(token)


def _resolved(candidate: Path) -> Path:
    directories = _RESOLVED_DIRECTORIES.get()
    if directories is None:
        return real_path(candidate)
    try:
        if stat.S_ISLNK(os.lstat(candidate).st_mode):
            return real_path(candidate)
    except FileNotFoundError:
        pass  # not there yet: its directory's resolution and its name
    except OSError:  # a file where a directory belongs, a loop: the whole resolution says
        return real_path(candidate)
    return _resolved_directory(candidate.parent, directories) / candidate.name


def _resolved_directory(directory: Path, directories: dict[Path, Path] | None) -> Path:
    if directories is None:
        return real_path(directory)
    real = directories.get(directory)
    if real is None:
        real = directories[directory] = real_path(directory)
    return real


def confined_path(root: Path, relative: str, real_root: Path | None = None) -> Path:
    """Resolve ``relative`` under ``root``, refusing '..', absolute paths and escaping symlinks.
    ``real_root``: ``resolved_root(root)``, when the caller checks many paths under one root."""
    rel = PurePosixPath(relative)
    if rel.is_absolute() or ".." in rel.parts or not rel.parts:
        raise UnsafePathError(f"refusing to write {relative!r}: it is not inside {root}")
    candidate = root.joinpath(*rel.parts)
    try:
        if real_root is None:
            real_root = _resolved_directory(root, _RESOLVED_DIRECTORIES.get())
        real = _resolved(candidate)
    except (RuntimeError, OSError) as exc:  # a symlink loop (RuntimeError before 3.13)
        raise UnsafePathError(
            f"refusing to write {relative!r}: a symlink loop under {root} ({exc})",
            hint="remove or fix the symlink",
        ) from None
    if not _within(str(real), str(real_root)):
        raise UnsafePathError(
            f"refusing to write {relative!r}: it resolves to {real}, outside {real_root} "
            "(a symlink points out of the project)",
            hint="remove or fix the symlink",
        )
    return candidate


def _within(real: str, real_root: str) -> bool:
    """``real == real_root or real_root in Path(real).parents`` for resolved absolute paths,
    compared as strings (the Path form cost ~27 us a call, half of a confined_path)."""
    return real == real_root or real.startswith(real_root.rstrip(os.sep) + os.sep)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _open_temp(directory: Path, name: str, mode: int) -> tuple[int, Path]:
    while True:
        tmp = directory / temp_name(name)
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode), tmp
        except FileExistsError:
            continue  # 32 random bits collided; draw again


def _final_mode(path: Path, executable: bool) -> int | None:
    """The mode the written file gets: the replaced file's, else the umask's default (x added
    wherever r is set for an executable). None: a new plain file, created with 0o666 and left
    to the kernel (the umask, or the directory's default ACL where it has one, as for any
    program's new file), so no chmod is needed (most of an `init`)."""
    try:
        info = os.lstat(path)
    except OSError:  # missing, or a parent that is no directory: the write says what is wrong
        info = None
    if info is not None and not stat.S_ISLNK(info.st_mode):
        mode = stat.S_IMODE(info.st_mode)
    elif not executable:
        return None
    else:
        mode = 0o666 & ~_umask()
    if executable:
        mode |= (mode & 0o444) >> 2  # add x wherever r is set
    return mode


def atomic_write(
    path: Path, data: bytes, *, executable: bool = False, durable: bool = True
) -> None:
    """Write via a temp file in the same directory and rename, so readers never see half a file.

    ``durable`` also fsyncs the data before the rename; freshly generated files that can be
    regenerated skip it (an fsync per file made `init` several times slower on slow disks).
    """
    mode = _final_mode(path, executable)
    # A temp file that will be chmod-ed starts private; one created with its final mode
    # (0o666 under the umask) holds nothing the finished file will not show.
    initial = 0o600 if mode is not None else 0o666
    try:
        fd, tmp = _open_temp(path.parent, path.name, initial)
    except (FileNotFoundError, NotADirectoryError):
        path.parent.mkdir(parents=True, exist_ok=True)  # only when missing: one call, not per file
        fd, tmp = _open_temp(path.parent, path.name, initial)
    try:
        try:
            view = memoryview(data)
            while view:  # a plain descriptor: no buffered file object (fstat, ioctl, lseek)
                view = view[os.write(fd, view) :]
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def is_stale_temp(name: str, legacy_names: frozenset[str] = frozenset()) -> bool:
    """Ours and abandoned: our mark with a dead writer, or an old-style temp of a known file."""
    if abandoned_temp(name):
        return True
    legacy = _LEGACY_RE.fullmatch(name)
    return bool(legacy and legacy.group(1) in legacy_names)


def sweep_temp_files(
    directories: Iterable[Path], *, recursive: Iterable[Path] = (), legacy_names: Iterable[str] = ()
) -> list[Path]:
    """Remove abandoned temp files in ``directories`` (and under ``recursive``); returns them.

    Only regular files are removed, and never through a symlinked directory: a sweep deletes
    nothing but what a killed tac-bootstrap run left.
    """
    known = frozenset(legacy_names)
    removed: list[Path] = []
    seen: set[Path] = set()
    todo = [(d, False) for d in directories] + [(d, True) for d in recursive]
    while todo:
        directory, deep = todo.pop()
        if directory in seen or directory.is_symlink() or not directory.is_dir():
            continue
        seen.add(directory)
        try:
            entries = list(os.scandir(directory))
        except OSError:
            continue
        for entry in entries:
            if entry.is_file(follow_symlinks=False) and is_stale_temp(entry.name, known):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)
                    removed.append(Path(entry.path))
            elif deep and entry.is_dir(follow_symlinks=False):
                todo.append((Path(entry.path), True))
    return removed


def is_executable(path: Path) -> bool:
    return bool(path.stat().st_mode & stat.S_IXUSR)
