"""Finding the agent CLI (Claude Code), apart from the runner in agent.py.

doctor only asks whether the CLI is there; this needs neither the stream parser nor the
process handling that running it takes.
"""

from __future__ import annotations

import os
import shutil

from .orch_database_types import OrchestratorError

CLI_ENV_VAR = "CLAUDE_CODE_PATH"


class AgentCLINotFound(OrchestratorError):
    """The agent CLI is not installed or CLAUDE_CODE_PATH is wrong."""


def resolve_cli(configured: str | None = None) -> str:
    """The agent CLI executable: CLAUDE_CODE_PATH, then the configured name, then `claude`."""
    candidate = os.environ.get(CLI_ENV_VAR) or configured or "claude"
    found = shutil.which(candidate)
    if found is None:
        raise AgentCLINotFound(
            f"agent CLI {candidate!r} not found; install Claude Code "
            f"(npm install -g @anthropic-ai/claude-code) or set {CLI_ENV_VAR} to its path"
        )
    return found
