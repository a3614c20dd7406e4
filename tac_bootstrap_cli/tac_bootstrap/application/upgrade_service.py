"""`tac-bootstrap upgrade`: bring the layer up to date without losing a line the user wrote.

For each file the manifest says we generated, compare three versions: base (what we generated
last time), ours (the file on disk) and theirs (what the templates produce now).

  unedited (ours == base)          -> replaced by theirs
  edited, template unchanged       -> kept as is
  edited, template changed         -> three-way merge; conflicts marked inline, exit 1
  deleted by the user              -> stays deleted (recorded in the manifest)
  shared (settings.json, CLAUDE.md) -> our part merged into the user's file (shared_files)
  new template file                -> created (an existing foreign file there is a conflict)
  template dropped                 -> removed if unedited, else kept and reported

The manifest is updated only for what was applied. Every file changed or removed is backed up
under .tac_bootstrap/backups/ first.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from tac_bootstrap import __version__
from tac_bootstrap.application.deleted_files import deleted_detail, lost_detail, never_committed
from tac_bootstrap.application.preflight import WriteLog, planned_path, preflight
from tac_bootstrap.application.project_lookup import project_root
from tac_bootstrap.application.proposals import (
    PROPOSAL_SUFFIX,
    proposal_name,
    settle_proposal,
    write_proposal,
)
from tac_bootstrap.application.scaffold_service import ScaffoldService
from tac_bootstrap.application.shared_files import evaluate_shared_in
from tac_bootstrap.application.upgrade_model import (
    OURS_MARKER,
    Change,
    UpgradeItem,
    UpgradePlan,
    has_conflict_markers,
    shallow_detail,
)
from tac_bootstrap.domain.config import CONFIG_FILENAME, TacConfig
from tac_bootstrap.domain.manifest import (
    MANIFEST_FILENAME,
    Manifest,
    ManifestEntry,
    MergeKind,
    sha256_of,
)
from tac_bootstrap.domain.permissions import command_warnings
from tac_bootstrap.domain.plan import FileOperation, Status
from tac_bootstrap.infrastructure.backups import BACKUP_IGNORE, BackupSet
from tac_bootstrap.infrastructure.config_loader import load_config
from tac_bootstrap.infrastructure.filesystem import atomic_write, confined_path, sweep_temp_files
from tac_bootstrap.infrastructure.manifest_store import (
    BASE_PACK,
    STATE_DIR,
    STATE_IGNORE,
    load_manifest,
    original_path,
    recover_base,
    remember_original,
    save_manifest,
    update_bases,
)
from tac_bootstrap.infrastructure.merge import git_available, merge3, shallow_repository

__all__ = [
    "PROPOSAL_SUFFIX",
    "Change",
    "UpgradeItem",
    "UpgradePlan",
    "UpgradeReport",
    "UpgradeService",
    "has_conflict_markers",
]


class UpgradeService:
    def __init__(self, service: ScaffoldService | None = None) -> None:
        self.service = service or ScaffoldService()

    def plan(self, root: Path, config: TacConfig) -> UpgradePlan:
        """Classify every file; reads only, so it serves --dry-run as well."""
        manifest = load_manifest(root)
        entries = manifest.files if manifest else {}
        plan = self.service.build_plan(config)
        items: list[UpgradeItem] = []
        for op in plan.directories:
            planned_path(root, op.path)
        produced: set[str] = set()
        context = self.service.render_context(config)
        for op in plan.files:
            produced.add(op.path)
            path = planned_path(root, op.path)
            theirs = self.service.content_for(op, config, context)
            ours = path.read_bytes() if path.is_file() else None
            entry = entries.get(op.path)
            if ours is None and entry is not None and op.required:
                item = UpgradeItem(op.path, Change.CREATE, _RESTORED, write=theirs)
            elif op.merge is not MergeKind.WHOLE and not (ours is None and entry is not None):
                item = self._classify_shared(root, op, entry, ours, theirs)
            else:
                item = self._classify(root, op.path, entry, ours, theirs)
            item.generated, item.source, item.executable = theirs, op.source, op.executable
            item.current = ours
            items.append(item)
        for relative, entry in sorted(entries.items()):
            if relative in produced:
                continue
            path = confined_path(root, relative)
            if not path.is_file():
                continue
            ours = path.read_bytes()
            if sha256_of(ours) == entry.sha256:
                items.append(
                    UpgradeItem(relative, Change.REMOVE, "no longer generated", current=ours)
                )
            else:
                items.append(
                    UpgradeItem(
                        relative,
                        Change.OBSOLETE,
                        "no longer generated; kept because you edited it",
                        current=ours,
                    )
                )
        return UpgradePlan(root, _recover_lost(root, items, entries), manifest is not None)

    @staticmethod
    def _classify_shared(
        root: Path,
        op: FileOperation,
        entry: ManifestEntry | None,
        ours: bytes | None,
        theirs: bytes,
    ) -> UpgradeItem:
        """A file we share with the user: our part merged in, never a text merge."""
        outcome = evaluate_shared_in(root, op, ours, theirs, entry)
        change = _SHARED_CHANGES[outcome.status]
        detail = outcome.detail or ("new in this version" if change is Change.CREATE else "")
        detail = "; ".join([detail, *outcome.notes]) if outcome.notes else detail
        if change is Change.CONFLICT:
            detail += f"; the new version is written beside it as {op.path}{PROPOSAL_SUFFIX}"
        write = outcome.content if change in (Change.CREATE, Change.MERGE) else None
        return UpgradeItem(
            op.path, change, detail, write=write, record=outcome.entry, original=outcome.original
        )

    def _classify(
        self,
        root: Path,
        relative: str,
        entry: ManifestEntry | None,
        ours: bytes | None,
        theirs: bytes,
    ) -> UpgradeItem:
        if entry is None:
            if ours is None:
                return UpgradeItem(relative, Change.CREATE, "new in this version", write=theirs)
            if ours == theirs:
                return UpgradeItem(relative, Change.UNCHANGED, "adopted into the manifest")
            return UpgradeItem(
                relative,
                Change.CONFLICT,
                "a file not generated by tac-bootstrap is in the way; the new version is "
                f"written beside it as {relative}{PROPOSAL_SUFFIX}",
            )
        if ours is None:
            return UpgradeItem(relative, Change.DELETED, deleted_detail(relative, entry.deleted))
        if has_conflict_markers(ours):
            return UpgradeItem(
                relative, Change.CONFLICT, "unresolved conflict markers; resolve first"
            )
        if ours == theirs:
            return UpgradeItem(relative, Change.UNCHANGED)
        if sha256_of(ours) == entry.sha256:
            return UpgradeItem(relative, Change.UPDATE, "unedited; template changed", write=theirs)
        if sha256_of(theirs) == entry.sha256:
            return UpgradeItem(relative, Change.KEEP, "your edit kept; template unchanged")
        base = recover_base(root, relative, entry)
        if base is None and shallow_repository(root):
            # Merging against nothing would mark the whole file as a conflict: keep the
            # user's file as it is and put the new version beside it instead.
            return UpgradeItem(relative, Change.CONFLICT, shallow_detail(relative, entry))
        if not git_available():
            return UpgradeItem(relative, Change.CONFLICT, "edited, but git is needed to merge")
        ours_label = OURS_MARKER.decode().removeprefix("<<<<<<< ")
        labels = (ours_label, f"generated ({entry.blob[:8]})", f"tac-bootstrap {__version__}")
        merged = merge3(base if base is not None else b"", ours, theirs, labels=labels)
        if merged.conflicts:
            detail = f"{merged.conflicts} conflict(s) marked inline"
            if base is None:
                detail += " (the old generated version was not found: commit generated files)"
            return UpgradeItem(relative, Change.CONFLICT, detail, write=merged.content)
        return UpgradeItem(
            relative, Change.MERGE, "your edit merged with the new template", write=merged.content
        )

    @staticmethod
    def apply(plan: UpgradePlan) -> str | None:
        """Write the plan; returns the backup directory used (None if nothing was changed).

        Every path is checked first (preflight) and the temp files of a killed run are swept;
        a failure mid-way says what was already written.
        """
        root = plan.root
        manifest = load_manifest(root) or Manifest(tool_version=__version__)
        backups = BackupSet(root)
        preflight(root, _upgrade_writes(plan, backups))
        directories = {root, *(confined_path(root, item.path).parent for item in plan.items)}
        names = {Path(item.path).name for item in plan.items}
        sweep_temp_files(
            directories,
            recursive=[root / STATE_DIR],
            legacy_names=names | {MANIFEST_FILENAME, ".gitignore"},
        )
        log = WriteLog()
        bases: dict[str, bytes | None] = {}  # written once, after the files
        current = MANIFEST_FILENAME
        try:
            for item in plan.items:
                current = item.path
                UpgradeService._apply_item(root, item, manifest, backups, log, bases)
            current = BASE_PACK
            update_bases(root, bases)
            current = MANIFEST_FILENAME
            manifest.tool_version = __version__
            save_manifest(root, manifest)
        except OSError as exc:
            raise log.failure(current, exc) from None
        return backups.directory if backups.used else None

    @staticmethod
    def _apply_item(
        root: Path,
        item: UpgradeItem,
        manifest: Manifest,
        backups: BackupSet,
        log: WriteLog,
        bases: dict[str, bytes | None],
    ) -> None:
        path = confined_path(root, item.path)
        if _changes_file(item) and item.current is not None:
            log.note(backups.save(item.path, item.current))
        if item.change.writes and item.write is not None:
            atomic_write(path, item.write, executable=item.executable)
            log.note(item.path)
        if item.change is Change.REMOVE:
            path.unlink()
            log.note(f"{item.path} (removed)")
            manifest.files.pop(item.path, None)
            bases[item.path] = None
        elif item.change is Change.DELETED:
            entry = manifest.files.get(item.path)
            if entry is not None:
                manifest.files[item.path] = replace(entry, deleted=True)
        elif item.record is not None and item.change in _RECORDED:
            manifest.files[item.path] = item.record
            if item.original is not None:
                remember_original(root, item.path, item.original)
            UpgradeService._settle(root, item, manifest, log)
        elif item.generated is not None and item.change in _RECORDED:
            if item.change is Change.CONFLICT and item.write is None:
                # Nothing applied or recorded. A foreign file gets the new version beside
                # it for a manual merge (unresolved markers already hold it).
                if not has_conflict_markers(item.current or b""):
                    written = write_proposal(root, item.path, item.generated)
                    if written is not None:
                        log.note(written)
                        manifest.proposals[written] = sha256_of(item.generated)
                return
            manifest.files[item.path] = ManifestEntry.of(item.generated, item.source)
            bases[item.path] = item.generated
            UpgradeService._settle(root, item, manifest, log)

    @staticmethod
    def _settle(root: Path, item: UpgradeItem, manifest: Manifest, log: WriteLog) -> None:
        """A file now merged: the proposal we wrote beside it goes, unless the user edited it."""
        if item.change is Change.CONFLICT or item.generated is None:
            return
        if settle_proposal(root, item.path, item.generated, manifest.proposals) == "removed":
            log.note(f"{proposal_name(item.path)} (removed)")


def _recover_lost(
    root: Path, items: list[UpgradeItem], entries: dict[str, ManifestEntry]
) -> list[UpgradeItem]:
    """A "deletion" git ignores was never committed (deleted_files): created again."""
    unrecorded = [
        i.path for i in items if i.change is Change.DELETED and not entries[i.path].deleted
    ]
    lost = never_committed(root, unrecorded)
    for item in items:
        rule = lost.get(item.path)
        if rule is not None:
            item.change, item.detail, item.write = Change.CREATE, lost_detail(rule), item.generated
    return items


_RESTORED = "deleted, written again: the layer cannot work without it"
_RECORDED = (Change.UNCHANGED, Change.UPDATE, Change.CREATE, Change.MERGE, Change.CONFLICT)
_SHARED_CHANGES = {
    Status.CREATE: Change.CREATE,
    Status.IDENTICAL: Change.UNCHANGED,
    Status.MERGE: Change.MERGE,
    Status.CONFLICT: Change.CONFLICT,
}


def _changes_file(item: UpgradeItem) -> bool:
    return (item.change.writes and item.write is not None) or item.change is Change.REMOVE


def _upgrade_writes(plan: UpgradePlan, backups: BackupSet) -> list[str]:
    """Every file an upgrade may write, relative to the project, for the preflight check."""
    files: list[str] = []
    for item in plan.items:
        if _changes_file(item):
            files.append(item.path)
            if item.current is not None:
                files += [BACKUP_IGNORE, backups.planned(item.path)]
        if item.change is Change.CONFLICT and item.write is None and item.generated is not None:
            if not has_conflict_markers(item.current or b""):
                files.append(proposal_name(item.path))
        elif item.original is not None:
            files += [STATE_IGNORE, original_path(item.path)]
        elif item.generated is not None and item.change in _RECORDED and item.record is None:
            files += [STATE_IGNORE, BASE_PACK]
    return [*files, MANIFEST_FILENAME]


# -- the command: load the config, plan (reads only), apply ---------------------------------


@dataclass(frozen=True)
class PreparedUpgrade:
    root: Path
    config: TacConfig
    warnings: list[str]  # about the config's commands; shown before anything is read


@dataclass
class UpgradeReport:
    plan: UpgradePlan
    dry_run: bool
    backup: str | None = None  # where the previous versions of changed files were saved
    warnings: list[str] = field(default_factory=list)  # about the config's commands

    @property
    def ok(self) -> bool:
        return not self.plan.conflicts

    def to_dict(self) -> dict[str, object]:
        """The document `upgrade --json` prints."""
        return {
            "ok": self.ok,
            "command": "upgrade",
            "dry_run": self.dry_run,
            "summary": self.plan.summary(),
            "backup": self.backup,
            "files": [
                {"path": i.path, "change": i.change.value, "detail": i.detail}
                for i in self.plan.items
            ],
        }


def prepare_upgrade(path: Path | None) -> PreparedUpgrade:
    """Find the project (PATH, or the nearest one above the current directory) and load it."""
    root = project_root(path)
    config = load_config(root / CONFIG_FILENAME)
    return PreparedUpgrade(root, config, command_warnings(config))


def plan_upgrade(prepared: PreparedUpgrade) -> UpgradePlan:
    return UpgradeService().plan(prepared.root, prepared.config)


def apply_upgrade(
    prepared: PreparedUpgrade, plan: UpgradePlan, *, dry_run: bool = False
) -> UpgradeReport:
    """Apply ``plan`` (a dry run changes nothing). With nothing pending, applying only records
    adopted files in the manifest."""
    backup = None if dry_run else UpgradeService.apply(plan)
    return UpgradeReport(plan, dry_run, backup, list(prepared.warnings))
