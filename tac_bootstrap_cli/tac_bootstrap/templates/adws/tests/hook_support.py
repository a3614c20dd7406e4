"""What the hook tests share: the events the CLI sends and ways to run the real hook.

The hook is run as the agent CLI runs it (the settings.json command through a shell, or the
file with Python); `query` and `fallback_lines` read what it wrote. The `database` and
`agent_id` fixtures are in conftest.py.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from adw_modules import hook_recorder
from adw_modules.adw_project import current_project
from adw_modules.hook_recorder import Spool

PROJECT = current_project()
HOOK = PROJECT.path("claude_dir", ".claude") / "hooks" / "orchestrator_hook.py"
SETTINGS = PROJECT.path("claude_dir", ".claude") / "settings.json"
SESSION = "0b6c2a5e-3f4d-4e8a-9c1b-7d2e5f6a8b90"
TOOL_USE = "toolu_01ABCDEF"


def event(name: str, **fields: Any) -> dict[str, Any]:
    """A hook input with the common fields the CLI sends with every event."""
    return {
        "session_id": SESSION,
        "transcript_path": f"/home/dev/.claude/projects/demo/{SESSION}.jsonl",
        "cwd": str(PROJECT.root),
        "prompt_id": "52927f97-45b5-4209-95fa-4afc422f2b97",
        "permission_mode": "default",
        "hook_event_name": name,
        **fields,
    }


PRE_TOOL_USE = event(
    "PreToolUse",
    tool_name="Bash",
    tool_input={"command": "pytest -q", "description": "Run the tests"},
    tool_use_id=TOOL_USE,
)
POST_TOOL_USE = event(
    "PostToolUse",
    tool_name="Bash",
    tool_input={"command": "pytest -q", "description": "Run the tests"},
    tool_response={"stdout": "3 passed", "stderr": "", "interrupted": False},
    tool_use_id=TOOL_USE,
)
USER_PROMPT_SUBMIT = event("UserPromptSubmit", prompt="/implement specs/feature-1.md")
STOP = event("Stop", stop_hook_active=False, last_assistant_message="Done.")
EVENTS = [USER_PROMPT_SUBMIT, PRE_TOOL_USE, POST_TOOL_USE, STOP]

# Every event the current CLI fires, with the fields it sends (2.1.x), and what each becomes.
SUBAGENT = {"agent_id": "a4f7abc17c392e3fb", "agent_type": "general-purpose"}
EVERY_EVENT: list[tuple[dict[str, Any], str, str, str]] = [
    (event("SessionStart", source="startup"), "lifecycle", "INFO", "SessionStart: startup"),
    (USER_PROMPT_SUBMIT, "hook", "INFO", "UserPromptSubmit: /implement specs/feature-1.md"),
    (PRE_TOOL_USE, "tool_call", "INFO", "PreToolUse: Bash pytest -q"),
    (
        event(
            "PermissionRequest",
            tool_name="Write",
            tool_input={"file_path": "/srv/app/out.txt", "content": "hi"},
            permission_suggestions=[{"type": "addDirectories", "directories": ["/srv"]}],
        ),
        "hook",
        "INFO",
        "PermissionRequest: Write /srv/app/out.txt",
    ),
    (POST_TOOL_USE, "tool_result", "INFO", "PostToolUse: Bash pytest -q"),
    (
        event(
            "PostToolUseFailure",
            tool_name="Bash",
            tool_input={"command": "false", "description": "fail"},
            tool_use_id="toolu_02FAILED",
            error="Exit code 1",
            is_interrupt=False,
            duration_ms=19,
        ),
        "tool_result",
        "WARNING",
        "PostToolUseFailure: Bash false: Exit code 1",
    ),
    (
        event("SubagentStart", **SUBAGENT),
        "lifecycle",
        "INFO",
        "SubagentStart: general-purpose a4f7abc17c392e3fb",
    ),
    (
        event(
            "SubagentStop",
            **SUBAGENT,
            stop_hook_active=False,
            agent_transcript_path="/home/dev/.claude/projects/demo/agent-a4f7.jsonl",
        ),
        "lifecycle",
        "INFO",
        "SubagentStop: general-purpose a4f7abc17c392e3fb",
    ),
    (
        event("Notification", message="Claude needs your permission to use Bash"),
        "hook",
        "INFO",
        "Notification: Claude needs your permission to use Bash",
    ),
    (
        event("PreCompact", trigger="manual", custom_instructions=""),
        "hook",
        "INFO",
        "PreCompact: manual",
    ),
    (STOP, "hook", "INFO", "Stop"),
    (
        event("StopFailure", error="rate_limit", error_details="429 Too Many Requests"),
        "error",
        "ERROR",
        "StopFailure: rate_limit",
    ),
    (event("SessionEnd", reason="other"), "lifecycle", "INFO", "SessionEnd: other"),
]


def hook_env(agent_id: str | None = None, **env: str) -> dict[str, str]:
    environment = {**os.environ, "CLAUDE_PROJECT_DIR": str(PROJECT.root), **env}
    if agent_id is not None:
        environment["TAC_AGENT_ID"] = agent_id
    return environment


def run_hook(
    stdin: str | dict[str, Any], agent_id: str | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run the hook file with Python: it records the event before it exits."""
    return subprocess.run(
        [sys.executable, str(HOOK)],
        input=stdin if isinstance(stdin, str) else json.dumps(stdin),
        env=hook_env(agent_id, **env),
        capture_output=True,
        text=True,
        timeout=30,  # a guard against hanging, not a measurement
    )


def recorder_commands(groups: object) -> list[str]:
    """The recorder's commands among one event's hook groups (anything else is skipped)."""
    if not isinstance(groups, list):
        return []
    hooks = [h for g in groups if isinstance(g, dict) for h in g.get("hooks") or []]
    commands = [h.get("command") for h in hooks if isinstance(h, dict)]
    return [c for c in commands if isinstance(c, str) and "/orchestrator_hook.py" in c]


def layer_hooks(*events: str) -> dict[str, Any]:
    """settings.json's "hooks", after checking that each event runs the recorder.

    A user's own settings.json that the layer's hooks were not merged into records nothing:
    the test fails with one line saying so (never a KeyError from deep in a test).
    """
    shown = SETTINGS.relative_to(PROJECT.root).as_posix()
    merge = "run `tac-bootstrap render` to merge the layer's hooks into it"
    try:
        settings = json.loads(SETTINGS.read_text(encoding="utf-8"))
    except FileNotFoundError:
        pytest.fail(f"`{shown}` is missing: run `tac-bootstrap render` to create it", pytrace=False)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        reason = f"`{shown}` cannot be read as JSON ({exc}): fix it, then {merge}"
        pytest.fail(reason, pytrace=False)
    hooks = settings.get("hooks") if isinstance(settings, dict) else None
    hooks = hooks if isinstance(hooks, dict) else {}
    missing = [name for name in events if not recorder_commands(hooks.get(name))]
    if missing:
        pytest.fail(
            f"`{shown}` has no hooks for {', '.join(missing)}: {merge} (until then the "
            "recorder records nothing)",
            pytrace=False,
        )
    return hooks


def hook_command() -> str:
    (command,) = set(recorder_commands(layer_hooks("PreToolUse")["PreToolUse"]))
    return command


def run_command(
    stdin: str | dict[str, Any], agent_id: str | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run the command settings.json gives the CLI, through a shell as the CLI does; it
    returns once the event is spooled (the recorder runs on in the background)."""
    return subprocess.run(
        ["/bin/sh", "-c", hook_command()],
        input=stdin if isinstance(stdin, str) else json.dumps(stdin),
        env=hook_env(agent_id, **env),
        capture_output=True,
        text=True,
        timeout=30,
    )


def spool(layer_env: dict[str, str]) -> Spool:
    return Spool.locate(PROJECT.root, "logs", layer_env)


def wait_recorded(layer_env: dict[str, str]) -> None:
    assert hook_recorder.wait_until_recorded(spool(layer_env), timeout=20), "spool not drained"


def query(database: str, sql: str, *params: Any) -> list[sqlite3.Row]:
    with sqlite3.connect(database) as conn:
        conn.row_factory = sqlite3.Row
        return list(conn.execute(sql, params))


def fallback_lines(layer_env: dict[str, str]) -> list[dict[str, Any]]:
    path = Path(layer_env["TAC_HOOK_FALLBACK_LOG"])
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
