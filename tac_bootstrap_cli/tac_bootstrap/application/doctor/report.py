"""What every doctor check shares: the rows it reports, the fixes it records, its context.

Kept apart from the checks so they can share it without importing one another or run_doctor.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

from tac_bootstrap.application.doctor.inputs import DoctorInputs
from tac_bootstrap.domain.config_values import CONFIG_FILENAME

if TYPE_CHECKING:
    from tac_bootstrap.application.scaffold_service import ScaffoldService
    from tac_bootstrap.domain.config import TacConfig
    from tac_bootstrap.domain.errors import ConfigError
    from tac_bootstrap.domain.plan import ScaffoldPlan

SUBPROCESS_TIMEOUT = 60


class CheckStatus(str, Enum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


OK, WARN, FAIL = CheckStatus.OK, CheckStatus.WARN, CheckStatus.FAIL


@dataclass(frozen=True)
class Check:
    name: str
    status: CheckStatus
    message: str
    hint: str = ""  # how to fix it; empty when there is nothing to do
    fixable: bool = False  # `doctor --fix` can fix it
    details: tuple[str, ...] = ()  # the paths (or rows) the message counts

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "status": self.status.value,
            "message": self.message,
            "hint": self.hint,
            "fixable": self.fixable,
            "details": list(self.details),
        }


@dataclass(frozen=True)
class Fixed:
    """One thing `doctor --fix` changed."""

    check: str
    message: str
    paths: tuple[str, ...] = ()
    backup: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "check": self.check,
            "message": self.message,
            "paths": list(self.paths),
            "backup": self.backup,
        }


@dataclass
class DoctorReport:
    root: Path
    checks: list[Check] = field(default_factory=list)
    fixed: list[Fixed] = field(default_factory=list)
    # Set when the config file is missing or invalid; the CLI reports it as a usage error.
    config_error: ConfigError | None = None

    @property
    def ok(self) -> bool:
        return not any(check.status is FAIL for check in self.checks)

    def count(self, status: CheckStatus) -> int:
        return sum(1 for check in self.checks if check.status is status)

    def to_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "path": str(self.root),
            "checks": [check.to_dict() for check in self.checks],
            "fixed": [item.to_dict() for item in self.fixed],
        }


@dataclass
class _Context:
    """The project being checked. Most checks read only ``inputs``; the whole config, the
    scaffold service and the plan (pydantic and jinja2) are loaded when a check needs them."""

    root: Path
    inputs: DoctorInputs
    loaded: TacConfig | None = None  # the validated config, when the inputs came from it
    _service: ScaffoldService | None = field(default=None, repr=False)

    @property
    def config(self) -> TacConfig:
        if self.loaded is None:
            from tac_bootstrap.infrastructure.config_loader import load_config

            self.loaded = load_config(self.root / CONFIG_FILENAME)
        return self.loaded

    @property
    def service(self) -> ScaffoldService:
        if self._service is None:
            from tac_bootstrap.application.scaffold_service import ScaffoldService

            self._service = ScaffoldService()
        return self._service

    def plan(self) -> ScaffoldPlan:
        return self.service.build_plan(self.config)

    def missing_generated(self, under: str) -> list[str]:
        """Generated files below ``under`` (relative) that do not exist; nothing rendered."""
        prefix = under.rstrip("/") + "/"
        generated = self.inputs.generated
        return [p for p in generated if p.startswith(prefix) and not (self.root / p).exists()]

    def shown(self, path: Path) -> str:
        """A path as people read it: relative to the project when inside it."""
        try:
            return path.resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            return str(path)


CheckFn = Callable[[_Context], list[Check]]
FixFn = Callable[[_Context], list[Fixed]]


def _listed(paths: list[str]) -> str:
    shown = ", ".join(paths[:3])
    return shown + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"
