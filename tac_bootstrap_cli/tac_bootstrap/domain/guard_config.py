"""The `guard` section of tac_bootstrap.yml: what the PreToolUse guard hook blocks.

Permission deny rules match command prefixes only; the guard (``.claude/hooks/tool_guard.py``)
parses each Bash command and catches what prefixes miss. This model is the one source of the
guard's settings; the hook receives them rendered as JSON.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class GuardSection(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    enabled: bool = True
