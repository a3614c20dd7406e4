"""The `workflow`, `issues`, `triggers` and `queue` sections of tac_bootstrap.yml.

How a workflow run is isolated (its git worktree, branch, ports and copied files), how far the
test and review loops go, where issues come from (GitHub through `gh`, or Markdown files in a
folder), how the triggers listen, and how workers share the run queue. The runtime reads the
same keys from the YAML with the defaults in ``runtime/adw_settings.py``;
``tests/test_workflow_config.py`` keeps both sets of defaults equal.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    model_validator,
)

from tac_bootstrap.domain.config_values import check_path, check_text, quote

# A git ref name part: what `git check-ref-format --branch` accepts, kept to a safe subset.
_BRANCH_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]*")
_ENV_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_LABEL_MAX = 50


def _branch(value: str) -> str:
    check_text(value)
    if value and (
        not _BRANCH_RE.fullmatch(value)
        or ".." in value
        or value.endswith((".", "/", ".lock"))
        or "//" in value
    ):
        raise ValueError(f"{quote(value)} is not a usable git branch name (e.g. main)")
    return value


def _copy_pattern(value: str) -> str:
    check_path(value.replace("*", "x").replace("?", "x"))
    return value


def _env_name(value: str) -> str:
    if not _ENV_NAME_RE.fullmatch(value):
        raise ValueError(f"{quote(value)} is not an environment variable name")
    return value


def _label(value: str) -> str:
    check_text(value)
    if not value.strip() or len(value) > _LABEL_MAX:
        raise ValueError(f"a GitHub label is 1 to {_LABEL_MAX} characters")
    return value


def _host(value: str) -> str:
    check_text(value)
    if not value or any(ch.isspace() or ch in "/@" for ch in value):
        raise ValueError(f"{quote(value)} is not a host name or address (e.g. 127.0.0.1)")
    return value


Branch = Annotated[StrictStr, AfterValidator(_branch)]
RelativeDir = Annotated[StrictStr, AfterValidator(check_path)]
CopyPattern = Annotated[StrictStr, AfterValidator(_copy_pattern)]
EnvName = Annotated[StrictStr, AfterValidator(_env_name)]
Label = Annotated[StrictStr, AfterValidator(_label)]
Host = Annotated[StrictStr, AfterValidator(_host)]


CheckName = Literal["test", "lint", "typecheck"]


def _all_checks() -> list[CheckName]:
    return ["test", "lint", "typecheck"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class WorkflowSection(_Strict):
    """Isolation and the loops of one workflow run."""

    # worktree: each run in <worktrees_dir>/<adw_id> on its own branch; none: in the checkout.
    isolation: Literal["worktree", "none"] = "worktree"
    worktrees_dir: RelativeDir = "trees"
    # "" = the remote's default branch (origin/HEAD), else the current branch.
    base_branch: Branch = ""
    remote: Annotated[StrictStr, AfterValidator(check_text)] = "origin"
    # Files copied from the checkout into each worktree when present (globs, relative).
    copy_files: list[CopyPattern] = Field(default_factory=lambda: [".env", ".env.local"])
    # Run N gets ports port_base + N*ports_per_run ... + ports_per_run - 1 (N: a free slot).
    port_base: StrictInt = Field(default=9100, ge=1024, le=65_000)
    ports_per_run: StrictInt = Field(default=10, ge=1, le=1000)
    max_port_slots: StrictInt = Field(default=50, ge=1, le=1000)
    # Run once in each new worktree before the first phase (e.g. "uv sync", "npm ci"): a
    # worktree has none of the checkout's untracked environment (.venv, node_modules).
    setup: Annotated[StrictStr, AfterValidator(check_text)] = ""
    # The project's own test, lint and typecheck commands, run by the test phase itself.
    check_commands: list[CheckName] = Field(default_factory=_all_checks)
    command_timeout_seconds: StrictInt = Field(default=900, ge=1, le=86_400)
    test_attempts: StrictInt = Field(default=3, ge=1, le=20)
    review_attempts: StrictInt = Field(default=2, ge=1, le=20)
    # Commit in the worktree after each phase that changed files.
    commit: StrictBool = True
    # After ship: `gh pr merge --auto` once the project's checks passed in the run.
    auto_merge: StrictBool = False

    @model_validator(mode="after")
    def _ports_fit(self) -> WorkflowSection:
        last = self.port_base + self.ports_per_run * self.max_port_slots - 1
        if last > 65_535:
            raise ValueError(
                f"port_base + ports_per_run * max_port_slots reaches port {last}, past 65535; "
                "lower one of them"
            )
        return self


class IssuesSection(_Strict):
    """Where `--issue N` reads issues and where progress comments go."""

    source: Literal["github", "local"] = "github"
    # local: issues are Markdown files here; pull requests become a branch + a summary file.
    local_dir: RelativeDir = "issues"
    # The poller takes open issues with this label.
    label: Label = "adw"


class TriggersSection(_Strict):
    """The poller and the webhook receiver (adws/adw_trigger_*.py)."""

    max_concurrent: StrictInt = Field(default=4, ge=1, le=64)
    poll_interval_seconds: StrictInt = Field(default=60, ge=5, le=86_400)
    webhook_host: Host = "127.0.0.1"
    webhook_port: StrictInt = Field(default=8787, ge=1, le=65_535)
    # The secret is read from this environment variable, never from the committed file.
    webhook_secret_env: EnvName = "TAC_WEBHOOK_SECRET"
    webhook_max_bytes: StrictInt = Field(default=1_048_576, ge=1024, le=26_214_400)


class QueueSection(_Strict):
    """The run queue workers share through the orchestrator database."""

    lease_seconds: StrictInt = Field(default=120, ge=5, le=86_400)
    heartbeat_seconds: StrictInt = Field(default=20, ge=1, le=3600)
