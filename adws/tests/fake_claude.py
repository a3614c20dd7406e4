#!/usr/bin/env python3
"""A stand-in for the Claude Code CLI in print mode, for tests where no model is reachable.

It accepts the arguments the workflows pass (-p PROMPT --output-format stream-json --verbose
--model M, and --max-turns, --max-budget-usd, --allowedTools, --disallowedTools,
--permission-mode), prints the event shapes Claude Code 2.1 prints (system/init, system/
api_retry, assistant with a tool_use block, user with the tool_result, assistant text, result
with usage and modelUsage; an API failure as a synthetic assistant message with `error` and a
result with is_error and api_error_status), and runs the project's hooks from
.claude/settings.json with the JSON the real CLI sends on stdin. Our own test suite compares
these shapes with the real CLI's and fails when they drift. It acts out the slash commands
the workflows send: /feature|/bug|/chore write a plan file and answer with its path, /test
and /review answer with JSON.

Failure injection (environment):
  FAKE_CLAUDE_FAIL_ON=TEXT        error result (error_during_execution) when TEXT is in the prompt
  FAKE_CLAUDE_RATE_LIMIT=N        the first N API requests get a 429: the fake retries them
                                  itself (system/api_retry lines) up to CLAUDE_CODE_MAX_RETRIES
                                  (default 10), as the CLI does, then reports the 429
  FAKE_CLAUDE_QUOTA_MODEL=NAME    calls with --model NAME answer "Credit balance is too low"
  FAKE_CLAUDE_CRASH=N             the first N calls exit 1 with no output at all
  FAKE_CLAUDE_STATE_DIR=DIR       where call counters are kept (default: a temp dir per cwd)
  FAKE_CLAUDE_TESTS_FAIL=1        /test reports a failing check
  FAKE_CLAUDE_DURATION_MS=N       the result's duration_ms is N instead of the wall time
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

COST_PER_CALL = 0.015625  # exact in binary, so test sums compare exactly
MODEL_IDS = {"sonnet": "claude-sonnet-4-5", "opus": "claude-opus-4-1", "haiku": "claude-haiku-4-5"}
# What Claude Code 2.1's init line lists (there is no Glob or Grep; the subagent tool is Task).
TOOLS = ["Task", "Bash", "Edit", "NotebookEdit", "Read", "WebFetch", "WebSearch", "Write"]
VERSION = "2.1.332 (fake)"
VALUE_OPTIONS = {
    "--output-format": "format",
    "--model": "model",
    "--max-turns": "max_turns",
    "--max-budget-usd": "max_budget_usd",
    "--permission-mode": "permission_mode",
    "--allowedTools": "allowed_tools",
    "--allowed-tools": "allowed_tools",
    "--disallowedTools": "disallowed_tools",
    "--disallowed-tools": "disallowed_tools",
    "--fallback-model": "fallback_model",
    "--session-id": "session_id",
}


def emit(event: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def parse_args(argv: list[str]) -> dict[str, Any]:
    options: dict[str, Any] = {
        "prompt": None,
        "format": "text",
        "verbose": False,
        "model": "sonnet",
    }
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in ("-p", "--print"):
            if i + 1 < len(argv) and not argv[i + 1].startswith("--"):
                options["prompt"] = argv[i + 1]
                i += 1
        elif arg in VALUE_OPTIONS and i + 1 < len(argv):
            options[VALUE_OPTIONS[arg]] = argv[i + 1]
            i += 1
        elif arg == "--verbose":
            options["verbose"] = True
        i += 1
    return options


def counter(name: str) -> int:
    """How many times this fake has been called for ``name`` (persisted across calls)."""
    default = Path(tempfile.gettempdir()) / (
        "fake-claude-" + hashlib.sha256(os.getcwd().encode()).hexdigest()[:12]
    )
    state = Path(os.environ.get("FAKE_CLAUDE_STATE_DIR") or default)
    state.mkdir(parents=True, exist_ok=True)
    path = state / f"{name}.count"
    count = int(path.read_text()) if path.exists() else 0
    path.write_text(str(count + 1))
    return count


def run_hooks(event_name: str, payload: dict[str, Any], session_id: str) -> None:
    """Run the hooks .claude/settings.json configures for an event, like the real CLI."""
    settings_path = Path.cwd() / ".claude" / "settings.json"
    try:
        settings = json.loads(settings_path.read_text())
    except (OSError, json.JSONDecodeError):
        return
    tool = payload.get("tool_name", "")
    for group in settings.get("hooks", {}).get(event_name, []):
        matcher = group.get("matcher", "")
        if matcher and tool and not re.fullmatch(matcher, tool):
            continue
        for hook in group.get("hooks", []):
            if hook.get("type") != "command":
                continue
            transcript = Path.home() / ".claude" / "projects" / f"{session_id}.jsonl"
            data = {
                "session_id": session_id,
                "transcript_path": str(transcript),
                "cwd": os.getcwd(),
                "permission_mode": "default",
                "hook_event_name": event_name,
                **payload,
            }
            env = {**os.environ, "CLAUDE_PROJECT_DIR": os.getcwd()}
            subprocess.run(
                hook["command"],
                shell=True,
                input=json.dumps(data),
                text=True,
                env=env,
                capture_output=True,
                timeout=float(hook.get("timeout", 60)),
                check=False,
            )


def specs_dir() -> str:
    """paths.specs_dir of the project's tac_bootstrap.yml (where /feature etc. write plans)."""
    try:
        config = Path("tac_bootstrap.yml").read_text(encoding="utf-8")
    except OSError:
        return "specs"
    found = re.search(r"^\s+specs_dir:\s*[\"']?([^\"'#\n]+?)[\"']?\s*(#.*)?$", config, re.M)
    return found.group(1) if found else "specs"


def act(prompt: str) -> tuple[str, str, dict[str, Any]]:
    """(final answer, tool name, tool input) for the slash command in the prompt."""
    words = prompt.split()
    command = words[0] if words else ""
    if command in ("/feature", "/bug", "/chore") and len(words) >= 2:
        kind, adw_id = command[1:], words[1]
        slug = "-".join(re.sub(r"[^a-z0-9 ]", "", " ".join(words[2:]).lower()).split()[:4])
        plan = Path(specs_dir()) / f"{kind}-{adw_id}-{slug or 'plan'}.md"
        plan.parent.mkdir(parents=True, exist_ok=True)
        plan.write_text(f"# {kind.title()}: {' '.join(words[2:])}\n\nadw_id: {adw_id}\n")
        return plan.as_posix(), "Write", {"file_path": str(plan.resolve()), "content": "..."}
    if command == "/test":
        failed = os.environ.get("FAKE_CLAUDE_TESTS_FAIL") == "1"
        checks = [
            {
                "check": "tests",
                "command": "pytest",
                "passed": not failed,
                "error": "1 failed" if failed else None,
            },
            {"check": "lint", "command": "ruff check .", "passed": True, "error": None},
        ]
        return json.dumps(checks), "Bash", {"command": "pytest", "description": "Run tests"}
    if command == "/review":
        answer = {"success": True, "summary": "matches the plan", "issues": []}
        return json.dumps(answer), "Read", {"file_path": words[1] if len(words) > 1 else "x"}
    if command == "/implement":
        return (
            "Implemented the plan. 1 file changed.",
            "Edit",
            {
                "file_path": words[1] if len(words) > 1 else "x",
                "old_string": "a",
                "new_string": "b",
            },
        )
    return "Done.", "Read", {"file_path": "README.md"}


def result_event(session_id: str, started: float, **fields: Any) -> dict[str, Any]:
    return {
        "type": "result",
        "subtype": "success",
        "is_error": False,
        "duration_ms": int(
            os.environ.get("FAKE_CLAUDE_DURATION_MS") or (time.monotonic() - started) * 1000
        ),
        "duration_api_ms": int((time.monotonic() - started) * 800),
        "num_turns": 3,
        "result": "",
        "session_id": session_id,
        "total_cost_usd": 0.0,
        "usage": {
            "input_tokens": 0,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "output_tokens": 0,
            "server_tool_use": {"web_search_requests": 0},
            "service_tier": "standard",
        },
        "modelUsage": {},
        "permission_denials": [],
        "terminal_reason": "completed",
        "api_error_status": None,
        "uuid": str(uuid.uuid4()),
        **fields,
    }


def error_result(session_id: str, started: float, text: str, subtype: str) -> int:
    """A failure of the agent's own work (error_during_execution): no API status."""
    emit(
        result_event(
            session_id,
            started,
            subtype=subtype,
            is_error=True,
            result=text,
            num_turns=1,
            total_cost_usd=0.0,
            terminal_reason="error",
        )
    )
    return 1


def api_error(session_id: str, started: float, status: int, code: str, text: str) -> int:
    """An API failure the CLI gave up on: a synthetic assistant message, then the result."""
    emit(
        {
            "type": "assistant",
            "message": {
                "id": str(uuid.uuid4()),
                "type": "message",
                "role": "assistant",
                "model": "<synthetic>",
                "content": [{"type": "text", "text": text}],
                "stop_reason": "stop_sequence",
                "stop_sequence": "",
                "usage": {"input_tokens": 0, "output_tokens": 0},
            },
            "parent_tool_use_id": None,
            "session_id": session_id,
            "uuid": str(uuid.uuid4()),
            "error": code,
            "is_api_error_message": True,
            "api_error_status": status,
        }
    )
    emit(
        result_event(
            session_id,
            started,
            is_error=True,
            result=text,
            num_turns=1,
            api_error_status=status,
            terminal_reason="api_error",
        )
    )
    return 1


def main(argv: list[str]) -> int:
    options = parse_args(argv)
    if options["prompt"] is None:
        print(
            "Error: Input must be provided either through stdin or as a prompt argument "
            "when using --print",
            file=sys.stderr,
        )
        return 1
    if options["format"] == "stream-json" and not options["verbose"]:
        print(
            "Error: When using --print, --output-format=stream-json requires --verbose",
            file=sys.stderr,
        )
        return 1
    if options["format"] != "stream-json":
        print("fake_claude only implements --output-format stream-json", file=sys.stderr)
        return 1
    crashes = int(os.environ.get("FAKE_CLAUDE_CRASH", "0"))
    if crashes and counter("crash") < crashes:
        print("Error: connect ECONNRESET", file=sys.stderr)
        return 1
    prompt: str = options["prompt"]
    model_alias: str = options["model"]
    model = MODEL_IDS.get(model_alias, model_alias)
    session_id = str(uuid.uuid4())
    started = time.monotonic()
    emit(
        {
            "type": "system",
            "subtype": "init",
            "cwd": os.getcwd(),
            "session_id": session_id,
            "tools": TOOLS,
            "mcp_servers": [],
            "model": model,
            "permissionMode": "default",
            "slash_commands": [],
            "apiKeySource": "none",
            "claude_code_version": VERSION,
            "output_style": "default",
            "uuid": str(uuid.uuid4()),
        }
    )
    limited = int(os.environ.get("FAKE_CLAUDE_RATE_LIMIT", "0"))
    max_retries = int(os.environ.get("CLAUDE_CODE_MAX_RETRIES", "10"))
    attempt = 0
    while limited and counter("rate_limit") < limited:
        if attempt >= max_retries:
            return api_error(
                session_id,
                started,
                429,
                "rate_limit",
                "API Error: Request rejected (429) · Rate limited",
            )
        attempt += 1
        emit(
            {
                "type": "system",
                "subtype": "api_retry",
                "attempt": attempt,
                "max_retries": max_retries,
                "retry_delay_ms": 0,
                "error_status": 429,
                "error": "rate_limit",
                "session_id": session_id,
                "uuid": str(uuid.uuid4()),
            }
        )
    if os.environ.get("FAKE_CLAUDE_QUOTA_MODEL") == model_alias:
        return api_error(session_id, started, 400, "billing_error", "Credit balance is too low")
    run_hooks("UserPromptSubmit", {"prompt": prompt}, session_id)
    fail_on = os.environ.get("FAKE_CLAUDE_FAIL_ON")
    if fail_on and fail_on in prompt:
        return error_result(
            session_id,
            started,
            f"Execution failed while handling {fail_on!r}",
            "error_during_execution",
        )
    answer, tool, tool_input = act(prompt)
    tool_use_id = "toolu_" + uuid.uuid4().hex[:24]
    # The real CLI prints each assistant message with the usage of its stream's first event
    # (output_tokens 1): only the result line's modelUsage has the whole count.
    usage = {
        "input_tokens": 12,
        "cache_creation_input_tokens": 50,
        "cache_read_input_tokens": 200,
        "output_tokens": 1,
        "service_tier": "standard",
    }
    emit(
        {
            "type": "assistant",
            "message": {
                "id": "msg_" + uuid.uuid4().hex[:24],
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [
                    {"type": "tool_use", "id": tool_use_id, "name": tool, "input": tool_input}
                ],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": usage,
            },
            "parent_tool_use_id": None,
            "session_id": session_id,
            "uuid": str(uuid.uuid4()),
        }
    )
    run_hooks(
        "PreToolUse",
        {"tool_name": tool, "tool_input": tool_input, "tool_use_id": tool_use_id},
        session_id,
    )
    run_hooks(
        "PostToolUse",
        {
            "tool_name": tool,
            "tool_input": tool_input,
            "tool_response": {"success": True},
            "tool_use_id": tool_use_id,
        },
        session_id,
    )
    emit(
        {
            "type": "user",
            "message": {
                "role": "user",
                "content": [{"tool_use_id": tool_use_id, "type": "tool_result", "content": "ok"}],
            },
            "parent_tool_use_id": None,
            "session_id": session_id,
            "uuid": str(uuid.uuid4()),
        }
    )
    emit(
        {
            "type": "assistant",
            "message": {
                "id": "msg_" + uuid.uuid4().hex[:24],
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [{"type": "text", "text": answer}],
                "stop_reason": None,  # as the real CLI prints it: the stream's first event
                "stop_sequence": None,
                "usage": usage,
            },
            "parent_tool_use_id": None,
            "session_id": session_id,
            "uuid": str(uuid.uuid4()),
        }
    )
    run_hooks("Stop", {"stop_hook_active": False}, session_id)
    emit(
        result_event(
            session_id,
            started,
            result=answer,
            num_turns=2,
            total_cost_usd=COST_PER_CALL,
            usage={
                "input_tokens": 24,
                "cache_creation_input_tokens": 100,
                "cache_read_input_tokens": 400,
                "output_tokens": 60,
                "server_tool_use": {"web_search_requests": 0},
                "service_tier": "standard",
            },
            modelUsage={
                model: {
                    "inputTokens": 24,
                    "outputTokens": 60,
                    "cacheReadInputTokens": 400,
                    "cacheCreationInputTokens": 100,
                    "webSearchRequests": 0,
                    "costUSD": COST_PER_CALL,
                }
            },
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
