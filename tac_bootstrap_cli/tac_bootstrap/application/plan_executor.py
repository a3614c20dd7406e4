"""Compare a ScaffoldPlan with the target directory, then preview or apply it.

Apply writes every non-conflicting file even when some conflict, so one edited file does not
block the rest of the layer; conflicts are reported and the caller exits 1. Before the first
write, every path the run will write (files, directories, backups, bases, the manifest) passes
the preflight check, and the temp files a killed run left in those directories are swept.

Files we share with the user (settings.json, CLAUDE.md) are decided by shared_files: our part
is merged in without --force. A generated file the manifest lists but that is gone was deleted
by the user: it stays deleted (recorded in the manifest) unless it is named in ``restore`` or
the layer cannot work without it (``FileOperation.required``: schema, migrations, runtime, hooks).
A proposal (``<file>.tac-bootstrap``) is written beside a conflict when asked (add-agentic),
and one we wrote is removed once its file is merged, unless the user edited it.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from pathlib import Path

from tac_bootstrap import __version__
from tac_bootstrap.application.deleted_files import deleted_detail, lost_detail, never_committed
from tac_bootstrap.application.preflight import (
    PathLimits,
    WriteLog,
    check_git_dir,
    planned_path,
    preflight,
)
from tac_bootstrap.application.proposals import proposal_name, settle_proposal, write_proposal
from tac_bootstrap.application.scaffold_service import ScaffoldService
from tac_bootstrap.application.shared_files import evaluate_shared, evaluate_shared_in
from tac_bootstrap.domain.config import CONFIG_FILENAME, TacConfig
from tac_bootstrap.domain.errors import OperationError
from tac_bootstrap.domain.manifest import (
    MANIFEST_FILENAME,
    Manifest,
    ManifestEntry,
    MergeKind,
    sha256_of,
)
from tac_bootstrap.domain.plan import (
    ApplyReport,
    FileOperation,
    FileResult,
    ScaffoldPlan,
    Status,
)
from tac_bootstrap.infrastructure.backups import BACKUP_IGNORE, BackupSet
from tac_bootstrap.infrastructure.filesystem import (
    atomic_write,
    confined_path,
    in_the_way,
    is_executable,
    resolved_root,
    resolving_once,
    sweep_temp_files,
)
from tac_bootstrap.infrastructure.manifest_store import (
    BASE_PACK,
    STATE_DIR,
    STATE_IGNORE,
    load_manifest,
    original_path,
    remember_original,
    save_manifest,
    update_bases,
)

_WRITTEN = (Status.CREATE, Status.OVERWRITE, Status.MERGE)
_RECORDED = (Status.CREATE, Status.OVERWRITE, Status.IDENTICAL, Status.MERGE, Status.DELETED)
_BASED = (Status.CREATE, Status.OVERWRITE, Status.IDENTICAL)  # whole files: base cached
_SETTLED = (Status.CREATE, Status.OVERWRITE, Status.IDENTICAL, Status.MERGE)  # proposal not needed


@dataclass(frozen=True)
class _Evaluated:
    op: FileOperation
    path: Path
    content: bytes  # what the file holds after applying
    status: Status
    detail: str = ""
    ours: bytes = b""  # what the templates produce (the proposal, for a conflict)
    record: ManifestEntry | None = None  # the manifest entry once applied (None: keep the old)
    original: bytes | None = None  # the user's file before our first merge into it
    pending: bool = False  # a deletion the manifest does not record yet
    notes: tuple[str, ...] = ()  # entries of ours left out of a shared file: the user's choice


class PlanExecutor:
    def __init__(self, service: ScaffoldService) -> None:
        self.service = service

    def evaluate(
        self,
        plan: ScaffoldPlan,
        config: TacConfig,
        target: Path,
        *,
        force: bool = False,
        restore: Collection[str] = (),
    ) -> list[_Evaluated]:
        """Render every file and classify it; raises before any write if a path is unsafe."""
        with resolving_once():  # each directory resolved once for the plan, not once per path
            return self._evaluate(plan, config, target, force=force, restore=restore)

    def _evaluate(
        self,
        plan: ScaffoldPlan,
        config: TacConfig,
        target: Path,
        *,
        force: bool,
        restore: Collection[str],
    ) -> list[_Evaluated]:
        real_root = resolved_root(target)  # once for the plan, not once per path
        limits = PathLimits()  # each directory's limits once, too: nothing is written here
        for op in plan.directories:
            planned_path(target, op.path, real_root, limits)
        context = self.service.render_context(config)
        manifest = load_manifest(target) if (target / MANIFEST_FILENAME).exists() else None
        entries = manifest.files if manifest is not None else {}
        evaluated = [
            self._classify(
                op,
                self.service.content_for(op, config, context),
                target,
                planned_path(target, op.path, real_root, limits),
                entries.get(op.path),
                force=force,
                restore=op.path in restore,
            )
            for op in plan.files
        ]
        return self._recover_lost(target, evaluated)

    @staticmethod
    def _recover_lost(target: Path, evaluated: list[_Evaluated]) -> list[_Evaluated]:
        """Unrecorded deletions git ignores were never committed: written again instead."""
        unrecorded = [e.op.path for e in evaluated if e.status is Status.DELETED and e.pending]
        lost = never_committed(target, unrecorded)
        if not lost:
            return evaluated
        recovered = []
        for item in evaluated:
            rule = lost.get(item.op.path)
            if rule is None:
                recovered.append(item)
                continue
            record: ManifestEntry | None
            if item.op.merge is MergeKind.WHOLE:
                record = ManifestEntry.of(item.ours, item.op.source)
            else:
                record = evaluate_shared(item.op, None, item.ours, None).entry
            detail = lost_detail(rule)
            item = _Evaluated(
                item.op, item.path, item.ours, Status.CREATE, detail, item.ours, record
            )
            recovered.append(item)
        return recovered

    def _classify(
        self,
        op: FileOperation,
        ours: bytes,
        target: Path,
        path: Path,
        entry: ManifestEntry | None,
        *,
        force: bool,
        restore: bool,
    ) -> _Evaluated:
        whole = ManifestEntry.of(ours, op.source)
        if not path.exists() and not path.is_symlink():
            if entry is not None and not restore and not op.required:
                recorded = entry.deleted
                return _Evaluated(
                    op, path, b"", Status.DELETED, deleted_detail(op.path, recorded), ours,
                    replace(entry, deleted=True), pending=not recorded,
                )  # fmt: skip
            if op.merge is not MergeKind.WHOLE:
                created = evaluate_shared(op, None, ours, None)
                return _Evaluated(op, path, ours, Status.CREATE, ours=ours, record=created.entry)
            return _Evaluated(op, path, ours, Status.CREATE, ours=ours, record=whole)
        obstacle = in_the_way(path)
        if obstacle is not None:
            return _Evaluated(op, path, ours, Status.CONFLICT, obstacle, ours)
        current = path.read_bytes()
        if op.merge is not MergeKind.WHOLE:
            return self._shared(op, target, path, current, ours, entry, force)
        if current == ours:
            return _Evaluated(op, path, ours, Status.IDENTICAL, ours=ours, record=whole)
        if force:
            return _Evaluated(op, path, ours, Status.OVERWRITE, "differs; --force", ours, whole)
        detail = "exists with different content"
        return _Evaluated(op, path, ours, Status.CONFLICT, detail, ours)

    @staticmethod
    def _shared(
        op: FileOperation,
        target: Path,
        path: Path,
        current: bytes,
        ours: bytes,
        entry: ManifestEntry | None,
        force: bool,
    ) -> _Evaluated:
        outcome = evaluate_shared_in(target, op, current, ours, entry, force=force)
        return _Evaluated(
            op, path, outcome.content, outcome.status, outcome.detail, ours,
            outcome.entry, outcome.original,
            notes=outcome.notes if outcome.status is Status.MERGE else (),  # said when merged
        )  # fmt: skip

    def preview(
        self,
        plan: ScaffoldPlan,
        config: TacConfig,
        target: Path,
        *,
        force: bool = False,
        restore: Collection[str] = (),
    ) -> ApplyReport:
        report = ApplyReport(target=str(target), dry_run=True)
        for item in self.evaluate(plan, config, target, force=force, restore=restore):
            report.results.append(_result(item))
            report.notes += [f"{item.op.path}: {note}" for note in item.notes]
        return report

    def apply(
        self,
        plan: ScaffoldPlan,
        config: TacConfig,
        target: Path,
        *,
        force: bool = False,
        git_init: bool = False,
        propose: bool = False,
        restore: Collection[str] = (),
    ) -> ApplyReport:
        """Write the plan; ``git_init`` also refuses a `.git` symlink git would write through;
        ``propose`` writes the layer's version beside each conflicting file."""
        if target.exists() and not target.is_dir():
            raise OperationError(f"{target} exists and is not a directory")
        with resolving_once():  # the checks' resolved directories serve the writes too
            return self._apply(plan, config, target, force, git_init, propose, restore)

    def _apply(
        self,
        plan: ScaffoldPlan,
        config: TacConfig,
        target: Path,
        force: bool,
        git_init: bool,
        propose: bool,
        restore: Collection[str],
    ) -> ApplyReport:
        # Render and check everything first: a template error or unsafe path writes nothing.
        evaluated = self.evaluate(plan, config, target, force=force, restore=restore)
        backups = BackupSet(target)
        writes = self._writes(evaluated, backups, propose)
        preflight(target, writes, [op.path for op in plan.directories])
        if git_init:
            check_git_dir(target)
        self._sweep(target, evaluated)
        log = WriteLog()
        current = "."
        try:
            target.mkdir(parents=True, exist_ok=True)
            for op in plan.directories:
                current = op.path
                confined_path(target, op.path).mkdir(parents=True, exist_ok=True)
            report = ApplyReport(target=str(target), dry_run=False)
            for item in evaluated:
                current = item.op.path
                report.results.append(self._write(item, backups, log))
                report.notes += [f"{item.op.path}: {note}" for note in item.notes]
            current = MANIFEST_FILENAME
            manifest = self._record(target, evaluated)
            self._proposals(target, evaluated, manifest, report, propose, log)
            save_manifest(target, manifest)
        except OSError as exc:
            raise log.failure(current, exc) from None
        return report

    def _write(self, item: _Evaluated, backups: BackupSet, log: WriteLog) -> FileResult:
        backup = None
        if item.status in (Status.OVERWRITE, Status.MERGE):
            backup = backups.save(item.op.path, item.path.read_bytes())
            log.note(backup)
        if item.status in _WRITTEN:
            # New or backed-up content that a re-run regenerates: no fsync needed.
            atomic_write(item.path, item.content, executable=item.op.executable, durable=False)
            log.note(item.op.path)
        elif (
            item.status is Status.IDENTICAL and item.op.executable and not is_executable(item.path)
        ):
            item.path.chmod(item.path.stat().st_mode | 0o111)
        return _result(item, backup)

    @staticmethod
    def _writes(evaluated: list[_Evaluated], backups: BackupSet, propose: bool) -> list[str]:
        """Every file the run may write, relative to the target, for the preflight check."""
        files: list[str] = []
        for item in evaluated:
            relative = item.op.path
            if item.status in _WRITTEN:
                files.append(relative)
            if item.status in (Status.OVERWRITE, Status.MERGE):
                files += [BACKUP_IGNORE, backups.planned(relative)]
            if item.original is not None:
                files += [STATE_IGNORE, original_path(relative)]
            whole = item.op.merge is MergeKind.WHOLE and relative != CONFIG_FILENAME
            if whole and item.status in _BASED:
                files += [STATE_IGNORE, BASE_PACK]
            if propose and item.status is Status.CONFLICT:
                files.append(proposal_name(relative))
        return [*files, MANIFEST_FILENAME]

    @staticmethod
    def _sweep(target: Path, evaluated: list[_Evaluated]) -> None:
        """Remove the temp files a killed run left where this one writes."""
        directories = {target, *(item.path.parent for item in evaluated)}
        names = {item.path.name for item in evaluated} | {MANIFEST_FILENAME, ".gitignore"}
        sweep_temp_files(directories, recursive=[target / STATE_DIR], legacy_names=names)

    @staticmethod
    def _record(target: Path, evaluated: list[_Evaluated]) -> Manifest:
        """Note what the layer's files now contain as generated (conflicts keep their entry)."""
        manifest = load_manifest(target) or Manifest(tool_version=__version__)
        manifest.tool_version = __version__
        bases: dict[str, bytes | None] = {}
        for item in evaluated:
            if item.op.path == CONFIG_FILENAME:
                continue  # the config belongs to the user from the start
            if item.status in _RECORDED and item.record is not None:
                manifest.files[item.op.path] = item.record
                if item.op.merge is MergeKind.WHOLE and item.status in _BASED:
                    bases[item.op.path] = item.content
                if item.original is not None:
                    remember_original(target, item.op.path, item.original)
        update_bases(target, bases)
        return manifest

    @staticmethod
    def _proposals(
        target: Path,
        evaluated: list[_Evaluated],
        manifest: Manifest,
        report: ApplyReport,
        propose: bool,
        log: WriteLog,
    ) -> None:
        """Write a proposal beside each conflict (when asked); remove ours once merged."""
        for item in evaluated:
            name = proposal_name(item.op.path)
            if item.status is Status.CONFLICT:
                if propose and write_proposal(target, item.op.path, item.ours) is not None:
                    log.note(name)
                    manifest.proposals[name] = sha256_of(item.ours)
                    report.proposals.append(name)
                continue
            if item.status not in _SETTLED:
                continue
            fate = settle_proposal(target, item.op.path, item.ours, manifest.proposals)
            if fate == "removed":
                log.note(f"{name} (removed)")
                report.cleaned.append(name)
            elif fate == "kept":
                report.kept_proposals.append(name)


def _result(item: _Evaluated, backup: str | None = None) -> FileResult:
    return FileResult(item.op.path, item.status, backup, item.detail, item.pending)
