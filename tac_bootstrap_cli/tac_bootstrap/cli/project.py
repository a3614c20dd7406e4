"""Which project a command works on: one rule for render, upgrade, doctor and the db commands."""

from __future__ import annotations

import os
from pathlib import Path


def project_root(path: Path | None) -> Path:
    """The PATH the user gave, taken as it is (its config file must be there), or else the
    nearest directory at or above the current one that holds tac_bootstrap.yml; when there is
    none the error lists every directory searched (ConfigError, exit 2)."""
    if path is not None:
        return path
    from tac_bootstrap.application.database_service import find_project

    return Path(os.path.relpath(find_project(Path.cwd())))
