"""`render`: re-render the agentic layer from the project's config file, or check it.

``prepare_render`` loads the config (its warnings are shown before any write); ``apply_render``
previews, writes or (``check``) compares the layer and returns a ``RenderReport``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from tac_bootstrap.application.gitignore import (
    GitignoreUpdate,
    describe_ignored,
    generated_paths,
    keep_generated_in_git,
)
from tac_bootstrap.application.plan_executor import PlanExecutor
from tac_bootstrap.application.project_lookup import project_root
from tac_bootstrap.application.scaffold_service import ScaffoldService
from tac_bootstrap.domain.config import CONFIG_FILENAME, TacConfig
from tac_bootstrap.domain.errors import UsageError
from tac_bootstrap.domain.manifest import MANIFEST_FILENAME, MergeKind
from tac_bootstrap.domain.permissions import command_warnings
from tac_bootstrap.domain.plan import ApplyReport, FileResult, ScaffoldPlan, Status
from tac_bootstrap.domain.state_files import base_sources
from tac_bootstrap.infrastructure.config_loader import load_config


@dataclass(frozen=True)
class PreparedRender:
    root: Path
    config: TacConfig
    warnings: list[str]  # about the config's commands; shown before anything is written


@dataclass
class RenderReport:
    apply: ApplyReport
    check: bool = False  # a --check: nothing was written, ``drifted`` is the answer
    warnings: list[str] = field(default_factory=list)  # about the config's commands
    # Generated files git ignores (in no commit, so every clone lacks them) and the negations
    # appended to the root .gitignore (--check: that would be).
    gitignore: GitignoreUpdate | None = None
    # A --check: the project files it read (planned paths, config, manifest, bases of shared
    # files), for render_check_memo; and the files git must keep.
    read: tuple[str, ...] = ()
    generated: tuple[str, ...] = ()

    @property
    def ignored(self) -> tuple[str, ...]:
        return self.gitignore.ignored if self.gitignore is not None else ()

    @property
    def ignore_notes(self) -> list[str]:
        """One line per generated file git ignores (or per rule we cannot undo)."""
        if self.gitignore is None:
            return []
        return describe_ignored(self.gitignore, check=self.check)

    @property
    def drifted(self) -> list[FileResult]:
        """Generated files missing or different from what the templates produce (a deletion
        counts until the manifest records it: a forgotten commit is still caught)."""
        return [r for r in self.apply.results if r.status in _DRIFT or r.pending]

    @property
    def ok(self) -> bool:
        return not ((self.drifted or self.ignored) if self.check else self.apply.conflicts)

    def to_dict(self) -> dict[str, object]:
        """The document `render --json` (or `render --check --json`) prints."""
        ignored = self.gitignore is not None and self.gitignore.ignored
        gitignore = {"gitignore": self.gitignore.to_dict()} if self.gitignore and ignored else {}
        if not self.check:
            return {"ok": self.ok, "command": "render", **self.apply.to_dict(), **gitignore}
        return {
            "ok": self.ok,
            "command": "render --check",
            "target": self.apply.target,
            "differs": [{"path": r.path, "state": drift_state(r)} for r in self.drifted],
            **gitignore,
        }


_DRIFT = (Status.CREATE, Status.CONFLICT, Status.MERGE)
_STATES = {Status.CREATE: "missing", Status.MERGE: "not merged", Status.DELETED: "deleted"}


def drift_state(result: FileResult) -> str:
    """missing, differs, not merged (our part of a shared file) or deleted (not recorded)."""
    return _STATES.get(result.status, "differs")


def prepare_render(
    path: Path | None,
    *,
    check: bool = False,
    force: bool = False,
    restore: Sequence[str] = (),
) -> PreparedRender:
    """Find the project (PATH, or the nearest one above the current directory) and load it."""
    if check and force:
        raise UsageError("--check writes nothing, so --force makes no sense with it")
    if check and restore:
        raise UsageError("--check writes nothing, so --restore makes no sense with it")
    root = project_root(path)
    config = load_config(root / CONFIG_FILENAME)
    return PreparedRender(root, config, command_warnings(config))


def _restorable(prepared: PreparedRender, plan: ScaffoldPlan, restore: Sequence[str]) -> set[str]:
    """The --restore paths, as planned paths; a path that is no generated file is an error."""
    planned = {op.path for op in plan.files}
    wanted = set()
    for given in restore:
        relative = PurePosixPath(given.replace("\\", "/")).as_posix().removeprefix("./")
        if relative not in planned:
            raise UsageError(
                f"--restore {given}: not a file the layer generates",
                hint="give its path relative to the project root, as `render --check` lists it",
            )
        wanted.add(relative)
    return wanted


def apply_render(
    prepared: PreparedRender,
    *,
    check: bool = False,
    force: bool = False,
    dry_run: bool = False,
    restore: Sequence[str] = (),
) -> RenderReport:
    """``restore``: generated files the user deleted that are written again."""
    service = ScaffoldService()
    plan = service.build_plan(prepared.config)
    wanted = _restorable(prepared, plan, restore)
    executor = PlanExecutor(service)
    root, config = prepared.root, prepared.config
    if check:
        report = executor.preview(plan, config, root)
    elif dry_run:
        report = executor.preview(plan, config, root, force=force, restore=wanted)
    else:
        report = executor.apply(plan, config, root, force=force, restore=wanted)
    gitignore = keep_generated_in_git(root, plan, dry_run=check or dry_run)
    return RenderReport(
        report,
        check=check,
        warnings=list(prepared.warnings),
        gitignore=gitignore,
        read=_read_by_check(plan) if check else (),
        generated=tuple(generated_paths(plan)) if check else (),
    )


def _read_by_check(plan: ScaffoldPlan) -> tuple[str, ...]:
    """Every project file whose bytes (or absence) decide what a check says."""
    bases = base_sources(op.path for op in plan.files if op.merge is not MergeKind.WHOLE)
    planned = [op.path for op in plan.files]
    return tuple(sorted({*planned, *bases, CONFIG_FILENAME, MANIFEST_FILENAME}))
