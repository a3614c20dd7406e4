"""What a database's status() reports, importable without the operation tables.

A `db status` or a doctor run on a project whose SQLite file does not exist yet needs only
this and the migration files: importing adw_database would load every operation module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .adw_db_migrations import discover

if TYPE_CHECKING:
    from .adw_db_connection import DatabaseLocation


@dataclass(frozen=True)
class DatabaseStatus:
    path: Path | None  # None on PostgreSQL
    exists: bool
    size_bytes: int
    schema_version: int
    pending: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    location: str = ""  # path, or the URL with its password masked
    backend: str = "sqlite"
    server_version: str = ""

    @classmethod
    def not_created(cls, location: DatabaseLocation) -> DatabaseStatus:
        """A SQLite file that does not exist yet: every migration is pending."""
        names = [m.filename for m in discover(location.migrations_dir)]
        return cls(location.path, False, 0, 0, names, {}, location.display, location.backend)


def absent(location: DatabaseLocation) -> bool:
    """A SQLite file not created yet (a server database is never known absent unasked)."""
    return location.path is not None and not location.path.exists()
