"""The stream-json lines fake_claude.py prints, in the shapes Claude Code 2.1 prints them.

A module beside the fake (not a test, not run by itself): fake_claude.py puts its own folder
first on sys.path, so it imports this from any working directory.
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from typing import Any

COST_PER_CALL = 0.015625  # exact in binary, so test sums compare exactly
# What Claude Code 2.1's init line lists (there is no Glob or Grep; the subagent tool is Task).
TOOLS = ["Task", "Bash", "Edit", "NotebookEdit", "Read", "WebFetch", "WebSearch", "Write"]
VERSION = "2.1.332 (fake)"
# The real CLI prints each assistant message with the usage of its stream's first event
# (output_tokens 1): only the result line's modelUsage has the whole count.
FIRST_EVENT_USAGE = {
    "input_tokens": 12,
    "cache_creation_input_tokens": 50,
    "cache_read_input_tokens": 200,
    "output_tokens": 1,
    "service_tier": "standard",
}


def emit(event: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def init_line(session_id: str, model: str) -> dict[str, Any]:
    return {
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


def retry_line(session_id: str, attempt: int, max_retries: int) -> dict[str, Any]:
    """The CLI's note that it retries a rate-limited request itself."""
    return {
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


def assistant_line(
    session_id: str, model: str, content: list[dict[str, Any]], stop_reason: str | None = None
) -> dict[str, Any]:
    """An assistant message with its stream's first usage (stop_reason None, as printed)."""
    return {
        "type": "assistant",
        "message": {
            "id": "msg_" + uuid.uuid4().hex[:24],
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": content,
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": FIRST_EVENT_USAGE,
        },
        "parent_tool_use_id": None,
        "session_id": session_id,
        "uuid": str(uuid.uuid4()),
    }


def tool_result_line(session_id: str, tool_use_id: str) -> dict[str, Any]:
    return {
        "type": "user",
        "message": {
            "role": "user",
            "content": [{"tool_use_id": tool_use_id, "type": "tool_result", "content": "ok"}],
        },
        "parent_tool_use_id": None,
        "session_id": session_id,
        "uuid": str(uuid.uuid4()),
    }


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


def success_result(session_id: str, started: float, model: str, answer: str) -> dict[str, Any]:
    """The result of a completed call: the whole usage, in usage and in modelUsage."""
    return result_event(
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
