"""A plan's PathLimits answer what the per-file lookups answer, each directory looked up once."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from tac_bootstrap.application.preflight import PathLimits, _existing_ancestor, _limit

NAMES = st.sampled_from(["a", "b", "c", "x.md"])
RELATIVE = st.lists(NAMES, min_size=1, max_size=4).map(lambda parts: "/".join(parts))


@settings(max_examples=60, deadline=None)
@given(
    directories=st.lists(RELATIVE, max_size=6),
    files=st.lists(RELATIVE, max_size=4),
    queries=st.lists(RELATIVE, min_size=1, max_size=12),
)
def test_the_nearest_existing_directory_is_the_same(
    directories: list[str], files: list[str], queries: list[str]
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for relative in directories:
            (root / relative).mkdir(parents=True, exist_ok=True)
        for relative in files:  # where nothing is in the way: a file under a file cannot be
            path = root / relative
            if path.parent.is_dir() and not path.exists():
                path.write_text("x")
        limits = PathLimits()
        for relative in queries + queries:  # asked twice: the second answer is remembered
            path = root / relative
            assert limits.ancestor(path) == _existing_ancestor(path)


def test_limits_are_the_filesystem_s(tmp_path: Path) -> None:
    limits = PathLimits()
    for _ in range(2):
        assert limits.limit(tmp_path, "PC_NAME_MAX", 1) == os.pathconf(tmp_path, "PC_NAME_MAX")
        assert limits.limit(tmp_path, "PC_PATH_MAX", 1) == _limit(tmp_path, "PC_PATH_MAX", 1)
    assert limits.limit(tmp_path / "missing", "PC_NAME_MAX", 77) == 77  # as _limit: the default
