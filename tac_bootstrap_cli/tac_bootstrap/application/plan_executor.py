"""Compare a ScaffoldPlan with the target directory, then preview or apply it.

Apply writes every non-conflicting file even when some conflict, so one edited file does not
block the rest of the layer; conflicts are reported and the caller exits 1. Before the first
write, every path the run will write (files, directories, backups, bases, the manifest) passes
the preflight check, and the temp files a killed run left in those directories are swept.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tac_bootstrap import __version__
from tac_bootstrap.application.preflight import WriteLog, check_git_dir, planned_path, preflight
from tac_bootstrap.application.scaffold_service import ScaffoldService
from tac_bootstrap.domain.config import CONFIG_FILENAME, TacConfig
from tac_bootstrap.domain.errors import OperationError
from tac_bootstrap.domain.manifest import MANIFEST_FILENAME, Manifest, ManifestEntry
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
    is_executable,
    resolved_root,
    sweep_temp_files,
)
from tac_bootstrap.infrastructure.manifest_store import (
    STATE_DIR,
    STATE_IGNORE,
    base_path,
    load_manifest,
    remember_base,
    save_manifest,
)
from tac_bootstrap.infrastructure.template_renderer import TaintedContext

_WRITTEN = (Status.CREATE, Status.OVERWRITE)
_RECORDED = (Status.CREATE, Status.OVERWRITE, Status.IDENTICAL)


@dataclass(frozen=True)
class _Evaluated:
    op: FileOperation
    path: Path
    content: bytes
    status: Status
    detail: str = ""


class PlanExecutor:
    def __init__(self, service: ScaffoldService) -> None:
        self.service = service

    def evaluate(
        self, plan: ScaffoldPlan, config: TacConfig, target: Path, *, force: bool = False
    ) -> list[_Evaluated]:
        """Render every file and classify it; raises before any write if a path is unsafe."""
        real_root = resolved_root(target)  # once for the plan, not once per path
        for op in plan.directories:
            planned_path(target, op.path, real_root)
        context = self.service.render_context(config)
        return [self._classify(op, config, context, target, force, real_root) for op in plan.files]

    def _classify(
        self,
        op: FileOperation,
        config: TacConfig,
        context: TaintedContext,
        target: Path,
        force: bool,
        real_root: Path | None = None,
    ) -> _Evaluated:
        path = planned_path(target, op.path, real_root)
        content = self.service.content_for(op, config, context)
        if not path.exists() and not path.is_symlink():
            return _Evaluated(op, path, content, Status.CREATE)
        if not path.exists():
            return _Evaluated(
                op, path, content, Status.CONFLICT, "a dangling symlink is in the way"
            )
        if path.is_dir():
            return _Evaluated(op, path, content, Status.CONFLICT, "a directory is in the way")
        if path.read_bytes() == content:
            return _Evaluated(op, path, content, Status.IDENTICAL)
        if force:
            return _Evaluated(op, path, content, Status.OVERWRITE, "differs; --force")
        return _Evaluated(op, path, content, Status.CONFLICT, "exists with different content")

    def preview(
        self, plan: ScaffoldPlan, config: TacConfig, target: Path, *, force: bool = False
    ) -> ApplyReport:
        report = ApplyReport(target=str(target), dry_run=True)
        for item in self.evaluate(plan, config, target, force=force):
            report.results.append(FileResult(item.op.path, item.status, detail=item.detail))
        return report

    def apply(
        self,
        plan: ScaffoldPlan,
        config: TacConfig,
        target: Path,
        *,
        force: bool = False,
        git_init: bool = False,
    ) -> ApplyReport:
        """Write the plan; ``git_init`` also refuses a `.git` symlink git would write through."""
        if target.exists() and not target.is_dir():
            raise OperationError(f"{target} exists and is not a directory")
        # Render and check everything first: a template error or unsafe path writes nothing.
        evaluated = self.evaluate(plan, config, target, force=force)
        backups = BackupSet(target)
        preflight(target, self._writes(evaluated, backups), [op.path for op in plan.directories])
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
            current = MANIFEST_FILENAME
            self._record(target, evaluated)
        except OSError as exc:
            raise log.failure(current, exc) from None
        return report

    def _write(self, item: _Evaluated, backups: BackupSet, log: WriteLog) -> FileResult:
        backup = None
        if item.status is Status.OVERWRITE:
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
        return FileResult(item.op.path, item.status, backup, item.detail)

    @staticmethod
    def _writes(evaluated: list[_Evaluated], backups: BackupSet) -> list[str]:
        """Every file the run may write, relative to the target, for the preflight check."""
        files: list[str] = []
        for item in evaluated:
            if item.status in _WRITTEN:
                files.append(item.op.path)
            if item.status is Status.OVERWRITE:
                files += [BACKUP_IGNORE, backups.planned(item.op.path)]
            if item.status in _RECORDED and item.op.path != CONFIG_FILENAME:
                files += [STATE_IGNORE, base_path(item.op.path)]
        return [*files, MANIFEST_FILENAME]

    @staticmethod
    def _sweep(target: Path, evaluated: list[_Evaluated]) -> None:
        """Remove the temp files a killed run left where this one writes."""
        directories = {target, *(item.path.parent for item in evaluated)}
        names = {item.path.name for item in evaluated} | {MANIFEST_FILENAME, ".gitignore"}
        sweep_temp_files(directories, recursive=[target / STATE_DIR], legacy_names=names)

    def _record(self, target: Path, evaluated: list[_Evaluated]) -> None:
        """Note what the layer's files now contain as generated (conflicts keep their entry)."""
        manifest = load_manifest(target) or Manifest(tool_version=__version__)
        manifest.tool_version = __version__
        for item in evaluated:
            if item.op.path == CONFIG_FILENAME:
                continue  # the config belongs to the user from the start
            if item.status in _RECORDED:
                manifest.files[item.op.path] = ManifestEntry.of(item.content, item.op.source)
                remember_base(target, item.op.path, item.content)
        save_manifest(target, manifest)
