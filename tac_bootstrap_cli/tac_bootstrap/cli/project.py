"""Which project a command works on: one rule for render, upgrade, doctor and the db commands."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from tac_bootstrap.domain.errors import UsageError


def project_root(path: Path | None) -> Path:
    """The PATH the user gave, taken as it is (its config file must be there), or else the
    nearest directory at or above the current one that holds tac_bootstrap.yml; when there is
    none the error lists every directory searched (ConfigError, exit 2)."""
    if path is not None:
        return path
    from tac_bootstrap.application.project_lookup import find_project

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
