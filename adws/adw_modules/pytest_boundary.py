"""conftest.py that keeps the project's own pytest run out of the layer's directories.

The layer installs it as `<adws_dir>/conftest.py` and `<worktrees_dir>/conftest.py`. A plain
`pytest` at the project root would otherwise collect the layer's files: its tests (which need
the layer's own dependencies, pydantic and pyyaml, that a project's environment rarely has),
workflow scripts whose names look like tests (`adw_test.py`), and every run's worktree, a full
copy of the project whose test files clash with the project's own ("import file mismatch").
Nothing in the directory holding this file is collected unless a path pytest was given (on the
command line, or a `testpaths` entry) is that directory or inside it: `pytest adws/tests` runs
the layer's tests, and a workflow's test phase, which runs pytest inside its worktree, is not
affected. Standard library only, and no import of pytest: it must load wherever pytest does.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

BOUNDARY = Path(__file__).resolve().parent


def _given_paths(config: Any) -> list[Path]:
    """The paths this pytest run was given, absolute. testpaths entries are relative to the
    rootdir; command-line arguments to the directory pytest was started in."""
    from_testpaths = getattr(getattr(config, "args_source", None), "name", "") == "TESTPATHS"
    base = Path(config.rootpath if from_testpaths else config.invocation_params.dir)
    paths = []
    for arg in config.args:
        text = str(arg).split("::", 1)[0]
        if text:
            paths.append((base / text).resolve())
    return paths


def _asked_for(config: Any) -> bool:
    return any(path == BOUNDARY or BOUNDARY in path.parents for path in _given_paths(config))


def pytest_ignore_collect(collection_path: Path, config: Any) -> bool | None:
    """Ignore what lies in this directory unless the run was pointed at it; otherwise leave
    the decision to pytest (None), so its own rules (norecursedirs, ...) still apply."""
    inside = Path(collection_path).resolve()
    if inside != BOUNDARY and BOUNDARY in inside.parents and not _asked_for(config):
        return True
    return None


def install(directory: Path) -> None:
    """Put this file in `directory` as its conftest.py (the worktrees' directory, which the
    workflows create). A conftest.py someone else wrote there is left alone; an older copy of
    this one is brought up to date. Written to a temporary file, then renamed."""
    target = directory / "conftest.py"
    ours = Path(__file__).read_bytes()
    if target.is_symlink():
        return
    if target.exists():
        current = target.read_bytes()
        if current == ours or current.split(b"\n", 1)[0] != ours.split(b"\n", 1)[0]:
            return
    directory.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".conftest.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(ours)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
