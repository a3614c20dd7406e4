"""Backups of files a run is about to change: .tac_bootstrap/backups/<UTC time>/<path>.

One timestamped directory per run, ignored by git (a `*` .gitignore beside the backups), so the
previous versions are easy to find and never end up in the user's commits.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from tac_bootstrap.infrastructure.filesystem import atomic_write, confined_path

BACKUP_ROOT = ".tac_bootstrap/backups"


class BackupSet:
    def __init__(self, root: Path) -> None:
        self.root = root
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
        self.directory = f"{BACKUP_ROOT}/{stamp}"
        self.used = False

    def save(self, relative: str, content: bytes) -> str:
        """Keep ``content`` as the backup of ``relative``; returns the backup's relative path."""
        backup = f"{self.directory}/{relative}"
        atomic_write(confined_path(self.root, backup), content)
        ignore = confined_path(self.root, f"{BACKUP_ROOT}/.gitignore")
        if not ignore.exists():
            atomic_write(ignore, b"*\n")
        self.used = True
        return backup
