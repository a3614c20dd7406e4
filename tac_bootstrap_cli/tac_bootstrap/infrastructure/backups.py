"""Backups of files a run is about to change: .tac_bootstrap/backups/<UTC time>/<path>.

One directory per run, ignored by git (a `*` .gitignore beside the backups), so the previous
versions are easy to find and never end up in the user's commits. The directory is created
exclusively (a `-2`, `-3`... suffix when a run of the same microsecond, or a leftover, holds
the name), so two runs never mix their backups.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from tac_bootstrap.infrastructure.filesystem import atomic_write, confined_path

BACKUP_ROOT = ".tac_bootstrap/backups"
BACKUP_IGNORE = f"{BACKUP_ROOT}/.gitignore"
_MAX_SUFFIX = 1000


class BackupSet:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
        self.directory = f"{BACKUP_ROOT}/{self.stamp}"
        self.used = False

    def planned(self, relative: str) -> str:
        """Where the backup of ``relative`` would go (for the preflight check)."""
        return f"{self.directory}/{relative}"

    def _claim_directory(self) -> None:
        """Create this run's directory with an exclusive mkdir, suffixing the stamp if taken."""
        confined_path(self.root, BACKUP_ROOT).mkdir(parents=True, exist_ok=True)
        for attempt in range(1, _MAX_SUFFIX + 1):
            name = self.stamp if attempt == 1 else f"{self.stamp}-{attempt}"
            try:
                confined_path(self.root, f"{BACKUP_ROOT}/{name}").mkdir()
            except FileExistsError:
                continue
            self.directory = f"{BACKUP_ROOT}/{name}"
            return
        raise FileExistsError(f"{BACKUP_ROOT}/{self.stamp}-{_MAX_SUFFIX} and all before exist")

    def _first_use(self) -> None:
        if not self.used:
            ignore = confined_path(self.root, BACKUP_IGNORE)
            if not ignore.exists():
                atomic_write(ignore, b"*\n")
            self._claim_directory()
            self.used = True

    def save(self, relative: str, content: bytes) -> str:
        """Keep ``content`` as the backup of ``relative``; returns the backup's relative path."""
        self._first_use()
        backup = f"{self.directory}/{relative}"
        atomic_write(confined_path(self.root, backup), content)
        return backup

    def reserve(self, relative: str) -> Path:
        """Where a whole file or directory copied (or moved) as the backup of ``relative``
        goes, its parent created: for what is not read into memory (a database, run logs)."""
        self._first_use()
        destination = confined_path(self.root, f"{self.directory}/{relative.rstrip('/')}")
        destination.parent.mkdir(parents=True, exist_ok=True)
        return destination
