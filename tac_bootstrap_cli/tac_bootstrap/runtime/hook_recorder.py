"""Record Claude Code hook events in the orchestrator database, without ever getting in the way.

The agent CLI runs `.claude/hooks/orchestrator_hook.py` for each configured event with one
JSON object on stdin: common fields session_id, transcript_path, cwd, permission_mode and
hook_event_name, plus per-event fields (tool_name, tool_input, tool_use_id and, after the tool,
tool_response; prompt for UserPromptSubmit; stop_hook_active for Stop). Inside a workflow,
TAC_AGENT_ID names the agent the events belong to (agent_logs); otherwise they go to
system_logs. Whatever happens (bad JSON, a locked or missing database, pydantic not
installed) the hook prints nothing, exits 0, and writes what it could not record to a
fallback log file.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any, TextIO

AGENT_ENV_VAR = "TAC_AGENT_ID"
FALLBACK_ENV_VAR = "TAC_HOOK_FALLBACK_LOG"
HOOK_BUSY_TIMEOUT_MS = 2_000  # an agent must never wait long on its own bookkeeping
MAX_TEXT = 2_000

LOG_TYPES = {"PreToolUse": "tool_call", "PostToolUse": "tool_result"}


def _truncate(value: Any) -> Any:
    """Keep details small: long strings (file contents, tool output) are cut."""
    if isinstance(value, str):
        value = value.replace("\x00", "\ufffd")  # binary tool output; PostgreSQL refuses NUL
        return value if len(value) <= MAX_TEXT else value[:MAX_TEXT] + f"… [{len(value)} chars]"
    if isinstance(value, dict):
        return {str(k): _truncate(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_truncate(v) for v in value[:50]]
    return value


def describe(event: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    """(log type, one-line message, details) for a hook event."""
    name = str(event["hook_event_name"])
    tool = event.get("tool_name")
    if tool:
        message = f"{name}: {tool}"
        target = (
            (event.get("tool_input") or {}) if isinstance(event.get("tool_input"), dict) else {}
        )
        subject = target.get("file_path") or target.get("command") or target.get("pattern")
        if subject:
            message += f" {str(subject)[:120]}"
    elif name == "UserPromptSubmit":
        message = f"{name}: {str(event.get('prompt', ''))[:120]}"
    else:
        message = name
    details = {key: _truncate(value) for key, value in event.items() if key != "transcript_path"}
    return LOG_TYPES.get(name, "hook"), message.replace("\x00", "\ufffd"), details


def parse(raw: str) -> dict[str, Any]:
    event = json.loads(raw)
    if not isinstance(event, dict) or not isinstance(event.get("hook_event_name"), str):
        raise ValueError("hook input is not a JSON object with a hook_event_name")
    return event


def record(event: dict[str, Any], environ: dict[str, str] | os._Environ[str]) -> None:
    from .adw_database import OrchestratorDB  # imported late: pydantic may be missing

    log_type, message, details = describe(event)
    agent_id = environ.get(AGENT_ENV_VAR, "").strip()
    with OrchestratorDB.open(busy_timeout_ms=HOOK_BUSY_TIMEOUT_MS) as db:
        if agent_id:
            db.log_agent(agent_id, log_type, message, details=details)
        else:
            db.log_system(message, component="hook", details=details)


def fallback_path(environ: dict[str, str] | os._Environ[str]) -> Path:
    configured = environ.get(FALLBACK_ENV_VAR)
    if configured:
        return Path(configured)
    from .adw_project import current_project

    return current_project().path("logs_dir", "logs") / "hooks-fallback.jsonl"


def write_fallback(
    raw: str, error: BaseException, environ: dict[str, str] | os._Environ[str]
) -> None:
    entry = {
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "error": f"{type(error).__name__}: {error}"[:500],
        "input": raw[:MAX_TEXT],
    }
    try:
        path = fallback_path(environ)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry) + "\n")
    except Exception:  # the last resort must not fail either
        pass


def main(stdin: TextIO | None = None, environ: dict[str, str] | None = None) -> int:
    env = os.environ if environ is None else environ
    raw = ""
    try:
        raw = (stdin or sys.stdin).read()
        record(parse(raw), env)
    except BaseException as exc:  # a hook must never break the agent
        if isinstance(exc, KeyboardInterrupt):
            return 0
        write_fallback(raw, exc, env)
    return 0
