"""The mode of a file atomic_write leaves, whatever the umask and whatever was there.

A new plain file gets the umask's default (its temp file is created with it, no chmod); a
replaced file keeps its mode; an executable also gets x wherever r is set. These are the
modes the chmod-every-file version gave, stated as one property.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from tac_bootstrap.infrastructure.filesystem import atomic_write


@contextmanager
def umask(mask: int) -> Iterator[None]:
    previous = os.umask(mask)
    try:
        yield
    finally:
        os.umask(previous)


def expected_mode(mask: int, existing: int | None, executable: bool) -> int:
    mode = existing if existing is not None else 0o666 & ~mask
    return mode | ((mode & 0o444) >> 2) if executable else mode


@settings(max_examples=150, deadline=None)
@given(
    mask=st.integers(0, 0o777),
    existing=st.one_of(st.none(), st.integers(0o400, 0o777)),
    symlinked=st.booleans(),
    executable=st.booleans(),
    nested=st.booleans(),
)
def test_the_written_mode(
    tmp_path_factory: object,
    mask: int,
    existing: int | None,
    symlinked: bool,
    executable: bool,
    nested: bool,
) -> None:
    root = Path(tmp_path_factory.mktemp("modes"))  # type: ignore[attr-defined]
    path = root / ("a/b/file.txt" if nested else "file.txt")
    if existing is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        if symlinked:  # a link is replaced by a file of its own: the default mode
            (root / "elsewhere").write_bytes(b"old")
            path.symlink_to(root / "elsewhere")
        else:
            path.write_bytes(b"old")
            path.chmod(existing)
    kept = existing if existing is not None and not symlinked else None
    with umask(mask):
        atomic_write(path, b"new", executable=executable, durable=False)
    assert path.read_bytes() == b"new" and not path.is_symlink()
    assert stat.S_IMODE(path.lstat().st_mode) == expected_mode(mask, kept, executable)
    assert sorted(p.name for p in path.parent.iterdir() if p.name.startswith(".")) == []


def test_a_file_where_the_directory_belongs_is_an_error_and_leaves_nothing(
    tmp_path: Path,
) -> None:
    (tmp_path / "a").write_bytes(b"a file")
    try:
        atomic_write(tmp_path / "a" / "b.txt", b"x")
    except FileExistsError:
        pass
    else:
        raise AssertionError("wrote below a file")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a"]
