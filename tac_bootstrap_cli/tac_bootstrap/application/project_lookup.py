"""Which project a command works on, found without importing the database modules.

Kept apart from database_service so that `render`, `upgrade` and `doctor` can find their
project without paying the start-up cost of the whole database stack.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from tac_bootstrap.domain.config_values import CONFIG_FILENAME
from tac_bootstrap.domain.errors import ConfigError, UsageError


def find_project(start: Path) -> Path:
    """The nearest directory at or above ``start`` that holds tac_bootstrap.yml.

    Any entry of that name ends the search (a FIFO, a directory, a dangling symlink): the
    loader then says what is wrong with it, instead of "not found" or a parent's config."""
    start = start.resolve()
    for candidate in (start, *start.parents):
        if os.path.lexists(candidate / CONFIG_FILENAME):
            return candidate
    searched = ", ".join(str(p) for p in (start, *start.parents))
    raise ConfigError(
        f"no {CONFIG_FILENAME} found (searched {searched})",
        hint="run it inside a project, pass the project's path, or create one with "
        "`tac-bootstrap init`",
    )


def project_root(path: Path | None) -> Path:
    """The PATH the user gave, taken as it is (its config file must be there), or else the
    nearest directory at or above the current one that holds tac_bootstrap.yml; when there is
    none the error lists every directory searched (ConfigError, exit 2)."""
    if path is not None:
        return Path(path)
    return Path(os.path.relpath(find_project(Path.cwd())))


def require_writable(directory: Path, argument: str) -> None:
    """A usage error (exit 2) naming ``argument`` when nothing can be created in ``directory``
    (read-only, /proc, ...). Creating and removing a hidden directory is the only reliable
    test: root passes access(2) checks, and /proc refuses anyway."""
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".tac-probe-", dir=directory))
    except OSError as exc:
        raise UsageError(
            f"{argument}: cannot create files in {directory} ({exc.strerror or exc})",
            hint="choose a writable directory",
        ) from None
