"""The tools the layer runs on: git, the hooks' Python (with pydantic 2) and the agent CLI.

Nothing here can be fixed by doctor: installing tools is left to the user, with a hint.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from tac_bootstrap.application.doctor.report import (
    FAIL,
    OK,
    WARN,
    Check,
    _Context,
)
from tac_bootstrap.infrastructure.python_probe import PYTHON_ENV_VAR, answer, hooks_python
from tac_bootstrap.runtime.agent_cli import CLI_ENV_VAR, AgentCLINotFound, resolve_cli

MIN_PYTHON = (3, 10)
INSTALL_CLAUDE = "npm install -g @anthropic-ai/claude-code"


def check_git(ctx: _Context) -> list[Check]:
    git = shutil.which("git")
    if git is None:
        return [
            Check(
                "git",
                WARN,
                "git is not installed",
                "install git: upgrades recover generated files from its history, and the "
                "/commit and /pull_request commands use it",
            )
        ]
    result = subprocess.run(
        [git, "--version"], capture_output=True, text=True, check=False, timeout=30
    )
    version = result.stdout.strip() or "git"
    return [Check("git", OK, f"{version} ({git})")]


def check_python(ctx: _Context) -> list[Check]:
    """The interpreter the layer runs on: TAC_PYTHON, else python3 (as the hooks call it)."""
    name, executable = hooks_python()
    origin = PYTHON_ENV_VAR if os.environ.get(PYTHON_ENV_VAR) else "the hooks' default"
    if executable is None:
        return [
            Check(
                "python",
                FAIL,
                f"{name} ({origin}) not found; the Claude Code hooks run it",
                f"install Python {MIN_PYTHON[0]}.{MIN_PYTHON[1]}+ with pydantic 2, or set "
                f"{PYTHON_ENV_VAR} to an interpreter that has it",
            )
        ]
    version, pydantic = answer(executable)
    if len(version) < 2:
        return [
            Check(
                "python",
                FAIL,
                f"{name} ({executable}) does not run as a Python interpreter",
                f"set {PYTHON_ENV_VAR} to a Python {MIN_PYTHON[0]}.{MIN_PYTHON[1]}+ interpreter",
            )
        ]
    shown_version = ".".join(map(str, version))
    where = f"{name} ({executable}, Python {shown_version})"
    if version[:2] < MIN_PYTHON:
        return [
            Check(
                "python",
                FAIL,
                f"{where} is older than {MIN_PYTHON[0]}.{MIN_PYTHON[1]}",
                f"install a newer Python, or set {PYTHON_ENV_VAR} to one",
            )
        ]
    if not isinstance(pydantic, str) or not pydantic.startswith("2"):
        found = f"pydantic {pydantic}" if pydantic else "no pydantic"
        return [
            Check(
                "python",
                FAIL,
                f"{where} has {found}; the layer's database modules need pydantic 2",
                f"`{executable} -m pip install 'pydantic>=2'`, or set {PYTHON_ENV_VAR} to an "
                "interpreter that has it",
            )
        ]
    return [Check("python", OK, f"{where} with pydantic {pydantic}")]


def check_agent_cli(ctx: _Context) -> list[Check]:
    configured = ctx.inputs.agent_cli
    from_env = os.environ.get(CLI_ENV_VAR)
    try:
        found = resolve_cli(configured)
    except AgentCLINotFound:
        candidate = from_env or configured or "claude"
        origin = f"{CLI_ENV_VAR}={from_env}" if from_env else "agentic.agent_cli"
        relative = bool(from_env) and "/" in candidate and not Path(candidate).is_absolute()
        note = " (a relative path is taken from the current directory)" if relative else ""
        return [
            Check(
                "agent CLI",
                FAIL,
                f"agent CLI {candidate!r} ({origin}) not found{note}; workflows cannot run",
                f"install Claude Code (`{INSTALL_CLAUDE}`) or set {CLI_ENV_VAR} to its path",
            )
        ]
    origin = f" (from {CLI_ENV_VAR})" if from_env else ""
    return [Check("agent CLI", OK, f"{found}{origin}"), check_workspace_trust(ctx)]


def claude_user_config() -> Path:
    """Where Claude Code keeps per-user state, trust decisions included."""
    configured = os.environ.get("CLAUDE_CONFIG_DIR")
    return Path(configured) / ".claude.json" if configured else Path.home() / ".claude.json"


def trusted_by(root: Path, config: Path) -> Path | None:
    """The directory (the project or a parent) whose trust dialog was accepted, if any."""
    try:
        projects = json.loads(config.read_text(encoding="utf-8")).get("projects") or {}
    except (OSError, ValueError, AttributeError):
        return None
    if not isinstance(projects, dict):
        return None
    for candidate in (root, *root.parents):
        entry = projects.get(str(candidate))
        if isinstance(entry, dict) and entry.get("hasTrustDialogAccepted") is True:
            return candidate
    return None


def check_workspace_trust(ctx: _Context) -> Check:
    """Claude Code ignores a project's permissions.allow until its trust dialog is accepted
    (it says so only on stderr). Workflows do not depend on it: they pass the permissions on
    the command line. Interactive sessions do, so an untrusted project is a warning."""
    config = claude_user_config()
    root = ctx.root.resolve()
    trusted = trusted_by(root, config)
    if trusted is not None:
        where = "this project" if trusted == root else f"its parent {trusted}"
        return Check(
            "workspace trust",
            OK,
            f"Claude Code trusts {where}: interactive sessions use the permissions in "
            f"{ctx.inputs.claude_dir}/settings.json",
        )
    return Check(
        "workspace trust",
        WARN,
        f"Claude Code has not trusted this project ({config} has no accepted trust dialog for "
        f"it): interactive sessions ignore {ctx.inputs.claude_dir}/settings.json's "
        "permissions.allow and ask instead; ADW workflows pass them as --allowedTools and work",
        "run `claude` once in the project and accept the trust dialog",
    )
