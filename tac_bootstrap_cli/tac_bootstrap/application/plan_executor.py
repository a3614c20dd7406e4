"""Compare a ScaffoldPlan with the target directory, then preview or apply it.

Apply writes every non-conflicting file even when some conflict, so one edited file does not
block the rest of the layer; conflicts are reported and the caller exits 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tac_bootstrap import __version__
from tac_bootstrap.application.scaffold_service import ScaffoldService
from tac_bootstrap.domain.config import CONFIG_FILENAME, TacConfig
from tac_bootstrap.domain.errors import OperationError
from tac_bootstrap.domain.manifest import Manifest, ManifestEntry
from tac_bootstrap.domain.plan import (
    ApplyReport,
    FileOperation,
    FileResult,
    ScaffoldPlan,
    Status,
)
from tac_bootstrap.infrastructure.backups import BackupSet
from tac_bootstrap.infrastructure.filesystem import atomic_write, confined_path, is_executable
from tac_bootstrap.infrastructure.manifest_store import load_manifest, remember_base, save_manifest


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
        for op in plan.directories:
            confined_path(target, op.path)
        return [self._classify(op, config, target, force) for op in plan.files]

    def _classify(
        self, op: FileOperation, config: TacConfig, target: Path, force: bool
    ) -> _Evaluated:
        path = confined_path(target, op.path)
        content = self.service.content_for(op, config)
        if not path.exists() and not path.is_symlink():
            return _Evaluated(op, path, content, Status.CREATE)
        if path.is_dir():
            return _Evaluated(op, path, content, Status.CONFLICT, "a directory is in the way")
        if path.read_bytes() == content:
            return _Evaluated(op, path, content, Status.IDENTICAL)
        if op.seed:
            return _Evaluated(op, path, content, Status.SKIP, "user-owned once created")
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
        self, plan: ScaffoldPlan, config: TacConfig, target: Path, *, force: bool = False
    ) -> ApplyReport:
        if target.exists() and not target.is_dir():
            raise OperationError(f"{target} exists and is not a directory")
        # Render and check everything first: a template error or unsafe path writes nothing.
        evaluated = self.evaluate(plan, config, target, force=force)
        target.mkdir(parents=True, exist_ok=True)
        for op in plan.directories:
            confined_path(target, op.path).mkdir(parents=True, exist_ok=True)
        report = ApplyReport(target=str(target), dry_run=False)
        backups = BackupSet(target)
        for item in evaluated:
            backup = None
            if item.status is Status.OVERWRITE:
                backup = backups.save(item.op.path, item.path.read_bytes())
            if item.status in (Status.CREATE, Status.OVERWRITE):
                # New or backed-up content that a re-run regenerates: no fsync needed.
                atomic_write(item.path, item.content, executable=item.op.executable, durable=False)
            elif (
                item.status is Status.IDENTICAL
                and item.op.executable
                and not is_executable(item.path)
            ):
                item.path.chmod(item.path.stat().st_mode | 0o111)
            report.results.append(FileResult(item.op.path, item.status, backup, item.detail))
        self._record(target, evaluated)
        return report

    def _record(self, target: Path, evaluated: list[_Evaluated]) -> None:
        """Note what the layer's files now contain as generated (conflicts keep their entry)."""
        manifest = load_manifest(target) or Manifest(tool_version=__version__)
        manifest.tool_version = __version__
        for item in evaluated:
            if item.op.path == CONFIG_FILENAME:
                continue  # the config belongs to the user from the start
            if item.status in (Status.CREATE, Status.OVERWRITE, Status.IDENTICAL):
                manifest.files[item.op.path] = ManifestEntry.of(item.content, item.op.source)
                remember_base(target, item.op.path, item.content)
        save_manifest(target, manifest)
