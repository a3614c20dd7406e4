"""A workflow run's state file, so a failed or paused run can be resumed with the same adw_id.

The database holds the full history (the `runs` row, agents, prompts, checks, logs); this small
JSON file holds what a resume needs to know at once: the issue, where the run works (worktree,
branch, port slot), the plan file and each phase's status. It lives in the main checkout's
<logs_dir>/adw/<adw_id>/adw_state.json (TAC_ADW_RUNS_DIR overrides the runs directory), never in
a worktree, and is written atomically.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import tempfile
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from . import formatter_boundary
from .adw_project import current_project
from .orch_database_types import OrchestratorError, utc_now

RUNS_DIR_ENV_VAR = "TAC_ADW_RUNS_DIR"
PHASES = ("plan", "build", "test", "review")
ISSUE_TYPES = ("feature", "bug", "chore")
_ADW_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{2,63}$")


class StateError(OrchestratorError):
    """A run's state is missing or unusable (unknown adw_id, phase out of order)."""


def new_adw_id() -> str:
    return uuid.uuid4().hex[:8]


def check_adw_id(adw_id: str) -> str:
    if not _ADW_ID.match(adw_id):
        raise StateError(
            f"invalid adw_id {adw_id!r}: use 3-64 letters, digits, '-' or '_' (e.g. a1b2c3d4)"
        )
    return adw_id


def runs_dir() -> Path:
    configured = os.environ.get(RUNS_DIR_ENV_VAR)
    if configured:
        return Path(configured)
    return current_project().path("logs_dir", "logs") / "adw"


def state_path(adw_id: str) -> Path:
    return runs_dir() / check_adw_id(adw_id) / "adw_state.json"


@dataclass
class PhaseState:
    status: str = "pending"  # pending | running | completed | failed | paused
    agent_id: str | None = None
    attempts: int = 0
    error: str | None = None
    result: str | None = None
    updated_at: str | None = None


def _known(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    """Only the keys the dataclass has: a state file of another layer version still loads."""
    names = {f.name for f in dataclasses.fields(cls)}
    return {key: value for key, value in data.items() if key in names}


@dataclass
class ADWState:
    adw_id: str
    issue: str
    issue_type: str | None = "feature"  # None until classified
    plan_file: str | None = None
    phases: dict[str, PhaseState] = field(default_factory=lambda: {p: PhaseState() for p in PHASES})
    created_at: str = field(default_factory=utc_now)
    workflow: str = "sdlc"
    status: str = "running"  # running | paused | completed | failed
    issue_source: str = "text"  # text | github | local
    issue_ref: str | None = None
    issue_title: str = ""
    worktree: str | None = None  # absolute path; None: the run works in the checkout
    branch: str | None = None
    base_branch: str | None = None
    port_base: int | None = None
    pr_url: str | None = None
    checks_passed: bool | None = None  # the last check attempt: every command exited 0
    set_up: bool = False  # workflow.setup ran in this run's worktree
    questions: list[str] = field(default_factory=list)  # the planner's open questions
    paused_at: str | None = None  # when the questions were posted (answers come after it)
    answers: list[str] = field(default_factory=list)

    @property
    def directory(self) -> Path:
        return runs_dir() / self.adw_id

    @property
    def path(self) -> Path:
        return self.directory / "adw_state.json"

    def phase(self, name: str) -> PhaseState:
        return self.phases.setdefault(name, PhaseState())

    def mark(self, name: str, status: str, **changes: Any) -> None:
        phase = self.phase(name)
        phase.status = status
        for key, value in changes.items():
            setattr(phase, key, value)
        phase.updated_at = utc_now()
        self.save()

    def save(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        formatter_boundary.install(self.directory.parent)  # prettier/Biome skip the states
        fd, tmp = tempfile.mkstemp(prefix=".adw_state.", dir=self.directory)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(asdict(self), handle, indent=2)
            handle.write("\n")
        os.replace(tmp, self.path)

    @classmethod
    def load(cls, adw_id: str) -> ADWState:
        path = state_path(adw_id)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise StateError(
                f"no run with adw_id {adw_id!r} (no {path}); start one with adw_plan.py or "
                "adw_sdlc.py and an issue"
            ) from None
        except (OSError, json.JSONDecodeError) as exc:
            raise StateError(f"{path}: unreadable state ({exc})") from None
        phases = {
            name: PhaseState(**_known(PhaseState, value))
            for name, value in data.pop("phases", {}).items()
        }
        return cls(phases=phases, **_known(cls, data))

    @classmethod
    def exists(cls, adw_id: str) -> bool:
        return state_path(adw_id).is_file()

    @classmethod
    def create(
        cls,
        issue: str,
        issue_type: str | None,
        adw_id: str | None = None,
        *,
        phases: tuple[str, ...] = PHASES,
        **fields: Any,
    ) -> ADWState:
        """A new run's state (saved); refuses an adw_id that has a state file already."""
        if issue_type is not None and issue_type not in ISSUE_TYPES:
            raise StateError(f"issue type {issue_type!r} is not one of {', '.join(ISSUE_TYPES)}")
        if not issue.strip():
            raise StateError("the issue text is empty")
        state = cls(
            adw_id=check_adw_id(adw_id or new_adw_id()),
            issue=issue,
            issue_type=issue_type,
            phases={p: PhaseState() for p in phases},
            **fields,
        )
        if state.path.exists():
            raise StateError(f"a run with adw_id {state.adw_id!r} exists already; resume it")
        state.save()
        return state
