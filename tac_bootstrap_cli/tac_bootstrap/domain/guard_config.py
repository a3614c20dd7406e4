"""The `guard` section of tac_bootstrap.yml: what the PreToolUse guard hook blocks.

Permission deny rules match command prefixes only; the guard (``.claude/hooks/tool_guard.py``)
parses each Bash command and catches what prefixes miss. This model is the one source of the
guard's settings; the hook receives them rendered as JSON (``guard_json``), so every value is
checked here: a regex that does not compile or a control character would otherwise reach the
hook, which then blocks every command it cannot check.
"""

from __future__ import annotations

import json
import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

MAX_RULES = 200
MAX_RULE_LENGTH = 1000


def _printable(value: str) -> str:
    if len(value) > MAX_RULE_LENGTH:
        raise ValueError(f"longer than {MAX_RULE_LENGTH} characters")
    if not value.strip():
        raise ValueError("must not be empty")
    if any(not ch.isprintable() for ch in value):
        raise ValueError("must not contain control or unprintable characters")
    return value


def _regex(value: str) -> str:
    try:
        re.compile(value)
    except (re.error, RecursionError, OverflowError) as exc:
        raise ValueError(f"not a valid regular expression ({exc})") from None
    return value


def _directory(value: str) -> str:
    if not (value.startswith("/") or value.startswith("~")):
        raise ValueError("must be an absolute directory (or start with ~)")
    if value.rstrip("/") in ("", "~"):
        raise ValueError("recursive rm in / or the home directory cannot be allowed")
    return value


Printable = Annotated[str, AfterValidator(_printable)]
Regex = Annotated[Printable, AfterValidator(_regex)]
Directory = Annotated[Printable, AfterValidator(_directory)]


class GuardSection(BaseModel):
    """enabled: run the guard at all. block_commands: regexes searched in the whole Bash
    command and in each simple command it runs (its words joined by spaces, `sh -c` bodies
    and substitutions included). protected_paths: globs (relative to the project, or
    absolute) no Bash command or file tool may name, on top of the built-in ones (.env files,
    the orchestrator database with its -wal/-shm and backups, the hook fallback log).
    allow_rm_in: directories outside the project where recursive rm is fine."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    enabled: bool = True
    block_commands: list[Regex] = Field(default_factory=list, max_length=MAX_RULES)
    protected_paths: list[Printable] = Field(default_factory=list, max_length=MAX_RULES)
    allow_rm_in: list[Directory] = Field(default_factory=lambda: ["/tmp"], max_length=MAX_RULES)

    def guard_json(self, database: str, logs_dir: str) -> str:
        """The settings the hook reads, with the database path and logs dir it protects."""
        document = {**self.model_dump(), "database": database, "logs_dir": logs_dir}
        return json.dumps(document, ensure_ascii=True, sort_keys=True)
