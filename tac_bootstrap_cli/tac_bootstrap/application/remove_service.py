"""`remove`: take the agentic layer out of a repository, leaving it as it was before.

Every file the user did not edit ends byte for byte as before add-agentic: what we generated
is deleted, the user's settings.json and CLAUDE.md get their own bytes back (or lose only our
part when they edited them since), .gitignore loses exactly what we appended, the config, the
manifest and the local state go, and the directories left empty go (never the project root).
A file of ours the user edited is kept and listed (``ok`` is False, exit 1: the layer is not
all gone), or with ``force`` backed up and deleted. The database is kept unless
``purge_database`` (remove_database). Decisions are made first (remove_files, remove_state),
every path written or deleted passes the preflight check, then backups are made before any
change, and the manifest goes last: a run that fails mid-way is completed by running it again.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from tac_bootstrap.application.gitignore import GITIGNORE
from tac_bootstrap.application.preflight import WriteLog, preflight
from tac_bootstrap.application.remove_database import DatabaseFate, plan_database
from tac_bootstrap.application.remove_files import Removal, RemoveItem, plan_entry
from tac_bootstrap.application.remove_gitignore import without_our_lines
from tac_bootstrap.application.remove_state import (
    GONE,
    compiled_modules,
    emptied_directories,
    keep_needed_ignores,
    plan_state,
)
from tac_bootstrap.domain.config import CONFIG_FILENAME, TacConfig
from tac_bootstrap.domain.errors import ConfigError, UsageError
from tac_bootstrap.domain.manifest import MANIFEST_FILENAME, Manifest, sha256_of
from tac_bootstrap.infrastructure.backups import BACKUP_IGNORE, BACKUP_ROOT, BackupSet
from tac_bootstrap.infrastructure.config_loader import load_config
from tac_bootstrap.infrastructure.filesystem import (
    atomic_write,
    confined_path,
    sweep_temp_files,
)
from tac_bootstrap.infrastructure.manifest_store import STATE_DIR, load_manifest, save_manifest


@dataclass(frozen=True)
class PreparedRemove:
    root: Path
    manifest: Manifest
    config: TacConfig | None  # None: missing or unreadable (only the database needs it)


@dataclass
class RemovePlan:
    root: Path
    items: list[RemoveItem]
    database: DatabaseFate
    directories: list[str]  # left empty by the removal: removed, deepest first
    keep_manifest: bool  # edited files are kept: the manifest keeps their entries

    @property
    def kept(self) -> list[RemoveItem]:
        """Files of ours the user edited, left in place."""
        return [item for item in self.items if item.edited]


@dataclass
class RemoveReport:
    plan: RemovePlan
    dry_run: bool
    backup: str | None = None  # the run's backup directory, when something was backed up
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the layer is all gone (the database aside, kept on purpose)."""
        return not self.plan.kept

    def to_dict(self) -> dict[str, object]:
        """The document `remove --json` prints."""
        summary: dict[str, int] = {}
        for item in self.plan.items:
            summary[item.action.value] = summary.get(item.action.value, 0) + 1
        return {
            "ok": self.ok,
            "command": "remove",
            "target": str(self.plan.root),
            "dry_run": self.dry_run,
            "summary": summary,
            "files": [item.to_dict() for item in self.plan.items],
            "directories": list(self.plan.directories),
            "kept": [item.path for item in self.plan.kept],
            "manifest_kept": self.plan.keep_manifest,
            "database": self.plan.database.to_dict(),
            "backup": self.backup,
            "warnings": list(self.warnings),
        }


def prepare_remove(path: Path) -> PreparedRemove:
    """Check PATH holds the layer (its config or its manifest) and load what says what is ours."""
    root = Path(path)
    if not root.is_dir():
        problem = "does not exist" if not root.exists() else "is not a directory"
        raise UsageError(f"{root} {problem}", hint="pass the repository's directory")
    has_config = os.path.lexists(root / CONFIG_FILENAME)
    manifest = load_manifest(root)
    if manifest is None:
        if not has_config:
            raise UsageError(
                f"{root} has no agentic layer (no {CONFIG_FILENAME}, no {MANIFEST_FILENAME})",
                hint="pass the directory that holds the layer",
            )
        raise UsageError(
            f"{root} has {CONFIG_FILENAME} but no {MANIFEST_FILENAME}: which files are the "
            "layer's is not recorded",
            hint="run `tac-bootstrap render` (it records them), then remove; nothing was changed",
        )
    config = None
    if has_config:
        try:
            config = load_config(root / CONFIG_FILENAME)
        except ConfigError:
            config = None
    return PreparedRemove(root, manifest, config)


def plan_remove(
    prepared: PreparedRemove, *, force: bool = False, purge_database: bool = False
) -> RemovePlan:
    """Decide every path's fate; reads only."""
    root, manifest = prepared.root, prepared.manifest
    if purge_database and prepared.config is None and os.path.lexists(root / CONFIG_FILENAME):
        raise UsageError(
            f"--purge-database: {CONFIG_FILENAME} cannot be read, so where the database is is "
            "unknown",
            hint="fix the config, or remove without --purge-database; nothing was changed",
        )
    items = [
        plan_entry(root, path, entry, force=force) for path, entry in sorted(manifest.files.items())
    ]
    items += _proposals(root, manifest, force)
    items += _config(root, manifest)
    items += _gitignore(root, manifest)
    database = plan_database(root, prepared.config, purge=purge_database)
    items += database.items
    items += compiled_modules(root, items)
    keep_needed_ignores(root, items)
    kept = any(item.edited for item in items)
    items += _manifest(root, kept)
    backing_up = any(_backs_up(item) for item in items)
    items += plan_state(root, items, manifest, backing_up=backing_up)
    directories = emptied_directories(root, items)
    if backing_up:  # the run's backup directory will be in there
        directories = [d for d in directories if d not in (STATE_DIR, BACKUP_ROOT)]
    return RemovePlan(root, items, database, directories, kept)


def _backs_up(item: RemoveItem) -> bool:
    return item.backup or item.database or item.action is Removal.MOVE


def _proposals(root: Path, manifest: Manifest, force: bool) -> list[RemoveItem]:
    items = []
    for name, digest in sorted(manifest.proposals.items()):
        if (root / name).is_symlink():
            continue
        path = confined_path(root, name)
        if not path.is_file():
            continue
        if sha256_of(path.read_bytes()) == digest:
            items.append(RemoveItem(name, Removal.DELETE, "the layer's proposal"))
        elif force:
            items.append(
                RemoveItem(
                    name,
                    Removal.DELETE,
                    "a proposal you edited; --force (backup kept)",
                    backup=True,
                )
            )
        else:
            detail = "a proposal you edited: kept; `tac-bootstrap remove --force` removes it"
            items.append(RemoveItem(name, Removal.KEEP, detail, edited=True))
    return items


def _config(root: Path, manifest: Manifest) -> list[RemoveItem]:
    """The config is the layer's: removed; backed up unless it is as add-agentic wrote it."""
    path = root / CONFIG_FILENAME
    if path.is_symlink() or not path.is_file():
        return []
    recorded = manifest.added.config_sha256 if manifest.added is not None else ""
    if recorded and sha256_of(path.read_bytes()) == recorded:
        return [RemoveItem(CONFIG_FILENAME, Removal.DELETE, "the layer's config")]
    detail = "the layer's config, edited or written by init (backup kept)"
    return [RemoveItem(CONFIG_FILENAME, Removal.DELETE, detail, backup=True)]


def _gitignore(root: Path, manifest: Manifest) -> list[RemoveItem]:
    path = root / GITIGNORE
    if path.is_symlink() or not path.is_file():
        return []
    current = path.read_bytes()
    removal = without_our_lines(current, manifest.added)
    if removal.delete:
        return [
            RemoveItem(
                GITIGNORE,
                Removal.DELETE,
                "we created it; nothing else in it",
                backup=not removal.exact,
            )
        ]
    if removal.content == current:
        return []
    if removal.exact:
        return [
            RemoveItem(
                GITIGNORE,
                Removal.RESTORE,
                "the lines we appended taken out",
                content=removal.content,
            )
        ]
    detail = "the layer's lines taken out (you edited around them: backup kept)"
    return [RemoveItem(GITIGNORE, Removal.UNMERGE, detail, content=removal.content, backup=True)]


def _manifest(root: Path, kept: bool) -> list[RemoveItem]:
    if kept:
        detail = "kept with the entries of the files kept, so `remove --force` can finish"
        return [RemoveItem(MANIFEST_FILENAME, Removal.KEEP, detail)]
    return [RemoveItem(MANIFEST_FILENAME, Removal.DELETE, "the layer's manifest")]


def apply_remove(
    prepared: PreparedRemove, plan: RemovePlan, *, dry_run: bool = False
) -> RemoveReport:
    """Carry ``plan`` out (a dry run changes nothing)."""
    report = RemoveReport(plan, dry_run, warnings=_warnings(plan))
    if dry_run:
        return report
    root = plan.root
    backups = BackupSet(root)
    _preflight(plan, backups)
    sweep_temp_files([root], recursive=[root / STATE_DIR] if (root / STATE_DIR).is_dir() else [])
    log = WriteLog()
    current = "."
    try:
        for item in plan.items:  # every backup before any change
            current = item.path
            _backup(root, item, backups, log, prepared)
        for item in plan.items:
            current = item.path
            _change(root, item, log, backups)
        current = MANIFEST_FILENAME
        if plan.keep_manifest:
            save_manifest(root, _pruned(prepared.manifest, plan))
        for directory in plan.directories:
            current = directory
            try:
                (root / directory).rmdir()
            except OSError:
                continue  # something appeared in it meanwhile: left
    except OSError as exc:
        raise log.failure(current, exc) from None
    report.backup = backups.directory if backups.used else None
    return report


def _preflight(plan: RemovePlan, backups: BackupSet) -> None:
    """Every path the run writes, deletes or moves is confined and writable: checked first."""
    files: list[str] = []
    directories: list[str] = []
    for item in plan.items:
        if item.action in (Removal.RESTORE, Removal.UNMERGE):
            files.append(item.path)
        elif item.action in GONE and item.path.endswith("/"):
            directories.append(item.path.rstrip("/"))
        elif item.action in GONE:
            files.append(item.path)
        if _backs_up(item):
            files += [BACKUP_IGNORE, backups.planned(item.path.rstrip("/"))]
    if plan.keep_manifest:
        files.append(MANIFEST_FILENAME)
    preflight(plan.root, files, directories)


def _backup(
    root: Path, item: RemoveItem, backups: BackupSet, log: WriteLog, prepared: PreparedRemove
) -> None:
    if item.database:
        destination = backups.reserve(item.path)
        _backup_database(root / item.path, destination, prepared.config)
        item.backup_path = destination.relative_to(root).as_posix()
        log.note(item.backup_path)
    elif item.backup:
        content = confined_path(root, item.path).read_bytes()
        item.backup_path = backups.save(item.path, content)
        log.note(item.backup_path)


def _backup_database(database: Path, destination: Path, config: TacConfig | None) -> None:
    """A consistent copy through SQLite's online backup API (the WAL's content included)."""
    import sqlite3

    from tac_bootstrap.domain.errors import OperationError
    from tac_bootstrap.runtime.adw_db_backup import backup_file
    from tac_bootstrap.runtime.orch_database_models import OrchestratorError

    timeout = config.orchestrator.busy_timeout_ms if config is not None else 5000
    try:
        backup_file(database, destination, timeout)
    except (sqlite3.Error, OrchestratorError) as exc:
        raise OperationError(
            f"cannot back up the database {database}: {exc}",
            hint="stop what uses it (agents, hooks) and run remove again; the database is kept",
        ) from None


def _change(root: Path, item: RemoveItem, log: WriteLog, backups: BackupSet) -> None:
    if item.action in (Removal.RESTORE, Removal.UNMERGE) and item.content is not None:
        atomic_write(confined_path(root, item.path), item.content)
        log.note(item.path)
    elif item.action is Removal.DELETE:
        path = confined_path(root, item.path.rstrip("/"))
        if item.path.endswith("/"):
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
        log.note(f"{item.path} (removed)")
    elif item.action is Removal.MOVE:
        source = confined_path(root, item.path.rstrip("/"))
        destination = backups.reserve(item.path)
        shutil.move(source, destination)  # a rename within the project's filesystem
        item.backup_path = destination.relative_to(root).as_posix()
        log.note(f"{item.path} (moved to {item.backup_path})")


def _pruned(manifest: Manifest, plan: RemovePlan) -> Manifest:
    """The manifest of what is left of ours: the files the user edited, kept."""
    kept = {item.path for item in plan.kept}
    return Manifest(
        tool_version=manifest.tool_version,
        files={path: entry for path, entry in manifest.files.items() if path in kept},
        proposals={name: sha for name, sha in manifest.proposals.items() if name in kept},
    )


def _warnings(plan: RemovePlan) -> list[str]:
    said = []
    if plan.kept:
        names = ", ".join(item.path for item in plan.kept)
        said.append(
            f"{len(plan.kept)} file(s) of the layer you edited were kept: {names}; "
            "`tac-bootstrap remove --force` removes them too (a backup is kept)"
        )
    fate = plan.database
    if fate.action in ("kept", "postgresql", "outside"):
        said.append(f"the database {fate.location}: {fate.detail}")
    return said


__all__ = [
    "PreparedRemove",
    "RemovePlan",
    "RemoveReport",
    "apply_remove",
    "plan_remove",
    "prepare_remove",
]
