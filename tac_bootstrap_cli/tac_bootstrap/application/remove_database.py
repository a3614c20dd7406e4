"""The orchestrator database and the run logs at `remove`: kept, or with --purge-database
backed up and removed.

The database is the user's data: kept unless asked. Purging backs the SQLite file up through
SQLite's online backup API (a consistent copy, the WAL included) into the run's backup
directory before deleting it and its -wal/-shm/-journal files; the backups made before
migrations and the run logs (<logs_dir>/adw/, the hooks' fallback log and spool, start.log)
are moved there (a rename: nothing is copied). The location is the config's, never
TAC_ORCHESTRATOR_DB (an environment variable must not point a deletion elsewhere), and a file
outside the project is never touched. A PostgreSQL database lives on its server: never dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tac_bootstrap.application.remove_files import Removal, RemoveItem
from tac_bootstrap.domain.config import TacConfig

RUN_LOGS = ("adw/", "hooks-fallback.jsonl", "hooks-spool/", "start.log")
SIDE_FILES = ("-wal", "-shm", "-journal")


@dataclass
class DatabaseFate:
    """What happens to the database; ``items`` are the paths purging removes or moves."""

    action: str  # "kept", "purge", "absent", "postgresql", "outside", "unknown"
    location: str = ""
    detail: str = ""
    items: list[RemoveItem] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {"action": self.action, "location": self.location, "detail": self.detail}


def _relative(root: Path, path: Path) -> str | None:
    """``path`` relative to the project, or None when it is outside."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except (ValueError, OSError):
        return None


def plan_database(root: Path, config: TacConfig | None, *, purge: bool) -> DatabaseFate:
    """The database's fate, and with ``purge`` the items that remove it and the run logs."""
    if config is None:
        return DatabaseFate("unknown", detail="no readable tac_bootstrap.yml: location unknown")
    from tac_bootstrap.runtime.adw_db_connection import UnsupportedDatabase, resolve_location

    try:
        location = resolve_location(
            root, adws_dir=config.paths.adws_dir, configured=config.orchestrator.database,
            environ={},
        )  # fmt: skip
    except UnsupportedDatabase as exc:
        return DatabaseFate("unknown", detail=f"the configured database is not usable ({exc})")
    if location.path is None:
        detail = "on a PostgreSQL server: never dropped by remove (drop it yourself if unwanted)"
        return DatabaseFate("postgresql", location.display, detail)
    relative = _relative(root, location.path)
    if relative is None:
        detail = "outside the project: never removed by remove"
        return DatabaseFate("outside", location.display, detail)
    logs = _run_logs(root, config.paths.logs_dir) if purge else []
    if not location.path.is_file():
        return DatabaseFate("absent", relative, "no database file", logs)
    if not purge:
        detail = "kept (your data); --purge-database removes it after a backup"
        return DatabaseFate("kept", relative, detail)
    items = [RemoveItem(relative, Removal.DELETE, "the database (backup kept)", database=True)]
    for suffix in SIDE_FILES:
        side = location.path.with_name(location.path.name + suffix)
        if side.is_file() and not side.is_symlink():
            items.append(RemoveItem(relative + suffix, Removal.DELETE, "in the database backup"))
    items += _migration_backups(root, location.path)
    return DatabaseFate("purge", relative, "backed up, then removed", items + logs)


def _migration_backups(root: Path, database: Path) -> list[RemoveItem]:
    """The backups made before migrations (<dir>/backups/<stem>-v<N>-<stamp><suffix>)."""
    backups = database.parent / "backups"
    if backups.is_symlink() or not backups.is_dir():
        return []
    found = []
    for candidate in sorted(backups.glob(f"{database.stem}-v*{database.suffix}")):
        relative = _relative(root, candidate)
        if relative is not None and candidate.is_file() and not candidate.is_symlink():
            found.append(RemoveItem(relative, Removal.MOVE, "a database backup: moved"))
    return found


def _run_logs(root: Path, logs_dir: str) -> list[RemoveItem]:
    found = []
    for name in RUN_LOGS:
        path = root / logs_dir / name.rstrip("/")
        if path.is_symlink() or not path.exists() or path.is_dir() != name.endswith("/"):
            continue
        if _relative(root, path) is not None:
            found.append(RemoveItem(f"{logs_dir}/{name}", Removal.MOVE, "run logs: moved"))
    return found
