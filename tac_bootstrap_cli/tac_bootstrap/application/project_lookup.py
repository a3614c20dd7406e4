"""Which project a command works on, found without importing the database modules.

Kept apart from database_service so that `render`, `upgrade` and `doctor` can find their
project without paying the start-up cost of the whole database stack.
"""

from __future__ import annotations

import os
from pathlib import Path

from tac_bootstrap.domain.config import CONFIG_FILENAME
from tac_bootstrap.domain.errors import ConfigError


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
