"""Online backups and on-disk size of a SQLite orchestrator database (stdlib only).

A backup is copied page by page while readers and writers go on, into an owner-only temp file
that is then linked to its name: a reader never sees half a backup, and an existing file is
never replaced. PostgreSQL has no file to copy (its dialect says which pg_dump to run).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from .adw_db_private import atomic_file
from .orch_database_types import OrchestratorError

Progress = Callable[[int, int], None]  # (pages done, pages in total)


class BackupExists(OrchestratorError):
    """The backup's file name is taken."""


def database_size(path: Path) -> int:
    """Bytes on disk, including the WAL file a live database keeps beside it."""
    total = 0
    for candidate in (path, path.with_name(path.name + "-wal")):
        if candidate.exists():
            total += candidate.stat().st_size
    return total


def backup_database(
    source: sqlite3.Connection, destination: Path, *, progress: Progress | None = None
) -> Path:
    """Copy into an owner-only temp file named with this pid, then link it to `destination`,
    which must not exist (BackupExists, also when another process took the name meanwhile).
    Temp files of killed backups in the destination's directory are removed first."""
    exists = BackupExists(f"{destination} already exists; choose a new file name")
    if destination.exists() or destination.is_symlink():
        raise exists
    try:
        with atomic_file(destination, replace=False, private_parent=True) as tmp:
            target = sqlite3.connect(tmp)
            try:
                source.backup(target, pages=256, progress=_pages(progress))
            finally:
                target.close()
    except FileExistsError:
        raise exists from None
    return destination


def _pages(progress: Progress | None) -> Callable[[int, int, int], object] | None:
    """sqlite3's backup progress (status, pages left, pages in total) as (done, total)."""
    if progress is None:
        return None
    return lambda _status, left, total: progress(total - left, total)


def backup_file(
    database: Path, destination: Path, busy_timeout_ms: int, progress: Progress | None = None
) -> Path:
    """Back up the database file `database` through a connection of its own (so an async
    caller can run it in a thread, and a caller's open transaction is not involved)."""
    from .adw_db_connection import connect

    conn = connect(database, busy_timeout_ms)
    try:
        return backup_database(conn, destination, progress=progress)
    finally:
        conn.close()
