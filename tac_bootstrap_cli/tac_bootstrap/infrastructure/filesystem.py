"""Safe file writes: atomic, confined to the target directory, never half-written."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path, PurePosixPath

from tac_bootstrap.domain.errors import UnsafePathError


def confined_path(root: Path, relative: str) -> Path:
    """Resolve ``relative`` under ``root``, refusing '..', absolute paths and escaping symlinks."""
    rel = PurePosixPath(relative)
    if rel.is_absolute() or ".." in rel.parts or not rel.parts:
        raise UnsafePathError(f"refusing to write {relative!r}: it is not inside {root}")
    candidate = root.joinpath(*rel.parts)
    real_root = root.resolve()
    real = candidate.resolve()
    if real != real_root and real_root not in real.parents:
        raise UnsafePathError(
            f"refusing to write {relative!r}: it resolves to {real}, outside {real_root} "
            "(a symlink points out of the project)",
            hint="remove or fix the symlink",
        )
    return candidate


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(
    path: Path, data: bytes, *, executable: bool = False, durable: bool = True
) -> None:
    """Write via a temp file in the same directory and rename, so readers never see half a file.

    ``durable`` also fsyncs the data before the rename; freshly generated files that can be
    regenerated skip it (an fsync per file made `init` several times slower on slow disks).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        if path.exists() and not path.is_symlink():
            mode = stat.S_IMODE(path.stat().st_mode)
        else:
            mode = 0o666 & ~_umask()
        if executable:
            mode |= (mode & 0o444) >> 2  # add x wherever r is set
        os.chmod(tmp_name, mode)
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise


def is_executable(path: Path) -> bool:
    return bool(path.stat().st_mode & stat.S_IXUSR)
