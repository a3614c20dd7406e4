"""`render`: re-render the agentic layer from the project's config file, or check it.

``prepare_render`` loads the config (its warnings are shown before any write); ``apply_render``
previews, writes or (``check``) compares the layer and returns a ``RenderReport``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tac_bootstrap.application.plan_executor import PlanExecutor
from tac_bootstrap.application.project_lookup import project_root
from tac_bootstrap.application.scaffold_service import ScaffoldService
from tac_bootstrap.domain.config import CONFIG_FILENAME, TacConfig
from tac_bootstrap.domain.errors import UsageError
from tac_bootstrap.domain.permissions import command_warnings
from tac_bootstrap.domain.plan import ApplyReport, FileResult, Status
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

    @property
    def drifted(self) -> list[FileResult]:
        """Generated files missing or different from what the templates produce."""
        return [r for r in self.apply.results if r.status in (Status.CREATE, Status.CONFLICT)]

    @property
    def ok(self) -> bool:
        return not (self.drifted if self.check else self.apply.conflicts)

    def to_dict(self) -> dict[str, object]:
        """The document `render --json` (or `render --check --json`) prints."""
        if not self.check:
            return {"ok": self.ok, "command": "render", **self.apply.to_dict()}
        return {
            "ok": self.ok,
            "command": "render --check",
            "target": self.apply.target,
            "differs": [{"path": r.path, "state": drift_state(r)} for r in self.drifted],
        }


def drift_state(result: FileResult) -> str:
    return "missing" if result.status is Status.CREATE else "differs"


def prepare_render(
    path: Path | None, *, check: bool = False, force: bool = False
) -> PreparedRender:
    """Find the project (PATH, or the nearest one above the current directory) and load it."""
    if check and force:
        raise UsageError("--check writes nothing, so --force makes no sense with it")
    root = project_root(path)
    config = load_config(root / CONFIG_FILENAME)
    return PreparedRender(root, config, command_warnings(config))


def apply_render(
    prepared: PreparedRender, *, check: bool = False, force: bool = False, dry_run: bool = False
) -> RenderReport:
    service = ScaffoldService()
    plan = service.build_plan(prepared.config)
    executor = PlanExecutor(service)
    root, config = prepared.root, prepared.config
    if check:
        report = executor.preview(plan, config, root)
    elif dry_run:
        report = executor.preview(plan, config, root, force=force)
    else:
        report = executor.apply(plan, config, root, force=force)
    return RenderReport(report, check=check, warnings=list(prepared.warnings))
