"""What a Claude Code hook event becomes: ids, timestamps, the row and its checks.

Standard library only, like the rest of the hook path (hook_recorder.py): the values the
schema allows, UUIDv7 ids and the database's timestamp text, interactive agents' ids,
`describe`/`make_row` (an event as a JSON-ready row), `validate_row` (the schema's rules
before any SQL) and `compact_json` (JSON as the runtime writes it).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

AGENT_ENV_VAR = "TAC_AGENT_ID"
MAX_TEXT = 2_000
MAX_ITEMS = 50
MAX_SUBJECT = 120
MAX_DEPTH = 100  # details are cleaned recursively; Claude Code's events nest a few levels

# -- the values the schema allows: the same lists as orch_database_models' enums and the
# schema's CHECK constraints (tests/test_real_cli_hooks.py compares all three) -------------

LOG_TYPES = (
    "lifecycle",
    "state_change",
    "prompt",
    "response",
    "tool_call",
    "tool_result",
    "hook",
    "error",
)
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
INTERACTIVE_AGENT_TYPE = "custom"  # an AgentType
INTERACTIVE_STATUS = "running"  # an AgentStatus; SessionEnd moves it to COMPLETED_STATUS
COMPLETED_STATUS = "completed"

# The events the current CLI fires (2.1.x), each with its log type and level. An event this
# table does not know (a newer CLI) is still recorded, as ("hook", "INFO").
EVENTS: dict[str, tuple[str, str]] = {
    "SessionStart": ("lifecycle", "INFO"),
    "SessionEnd": ("lifecycle", "INFO"),
    "UserPromptSubmit": ("hook", "INFO"),
    "PreToolUse": ("tool_call", "INFO"),
    "PostToolUse": ("tool_result", "INFO"),
    "PostToolUseFailure": ("tool_result", "WARNING"),
    "PermissionRequest": ("hook", "INFO"),
    "Notification": ("hook", "INFO"),
    "Stop": ("hook", "INFO"),
    "StopFailure": ("error", "ERROR"),
    "SubagentStart": ("lifecycle", "INFO"),
    "SubagentStop": ("lifecycle", "INFO"),
    "PreCompact": ("hook", "INFO"),
}
UNKNOWN_EVENT = ("hook", "INFO")
# Events after which the session's transcript holds new usage (recorded by transcripts.py).
TRANSCRIPT_EVENTS = ("Stop", "SubagentStop", "SessionEnd")

# Interactive sessions: one orchestrator agent, one agent per Claude Code session.
INTERACTIVE_ORCHESTRATOR = "claude_code"
INTERACTIVE_AGENT_NAME = "interactive"
INTERACTIVE_DESCRIPTION = "Interactive Claude Code sessions, recorded by the project's hooks"
# uuid5 namespace of interactive agents' ids (fixed forever: ids must not change).
INTERACTIVE_NAMESPACE = "6b1f3c2e-8d4a-5e7f-9a0b-1c2d3e4f5a6b"

_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_HEX32 = re.compile(r"[0-9a-f]{32}")
_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")

Row = dict[str, Any]
# What writes rows (SQLiteWriter, OrchestratorDB): returns (rows inserted, rejected with why)
Writer = Callable[[list[Row]], tuple[int, list[tuple[Row, str]]]]


class Rejected(ValueError):
    """An event that can never be recorded (bad input, an unknown agent)."""


# -- ids, times, keys ---------------------------------------------------------------------


def new_id(ns: int | None = None, entropy: bytes | None = None) -> str:
    """A UUIDv7 as the runtime makes them (adw_db_operations.new_id), time-ordered.

    Given the moment (nanoseconds) and entropy, the id is deterministic: the same spool file
    always gets the same id, which is what makes a replay idempotent. The 12 bits after the
    version hold the sub-millisecond fraction, so ids of one millisecond keep their order."""
    ns = time.time_ns() if ns is None else ns
    millis, rest = divmod(ns, 1_000_000)
    sub = rest * 4096 // 1_000_000
    rand = int.from_bytes(entropy[:8] if entropy else os.urandom(8), "big")
    value = (
        (millis & 0xFFFF_FFFF_FFFF) << 80
        | 0x7 << 76
        | (sub & 0xFFF) << 64
        | 0b10 << 62
        | (rand & 0x3FFF_FFFF_FFFF_FFFF)
    )
    return _hyphenated(f"{value:032x}")


def timestamp(ns: int) -> str:
    """The database's timestamp text, '%Y-%m-%dT%H:%M:%S.mmmZ' in UTC."""
    millis = ns // 1_000_000
    seconds, ms = divmod(millis, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{ms:03d}Z"


def _hyphenated(hex32: str) -> str:
    return f"{hex32[:8]}-{hex32[8:12]}-{hex32[12:16]}-{hex32[16:20]}-{hex32[20:]}"


def canonical_uuid(value: object) -> str | None:
    """The lower-case hyphenated text of a UUID, or None if `value` is not one (the forms
    uuid.UUID accepts, without importing uuid: the hook starts faster)."""
    if not isinstance(value, str):
        return None
    if _CANONICAL_UUID.fullmatch(value):
        return value
    text = value.strip().lower().removeprefix("urn:").removeprefix("uuid:").strip("{}")
    text = text.replace("-", "")
    if len(text) != 32 or not _HEX32.fullmatch(text):
        return None
    return _hyphenated(text)


def interactive_agent_id(session_id: str) -> str:
    """The agents.id of the interactive agent of Claude Code session `session_id`.

    Derived from the session id (uuid5), so every hook process, a replay and the transcript
    reader all name the same row without looking it up, and creating it is race-free: an
    INSERT ... ON CONFLICT (id) DO NOTHING. The row itself exists once the session's first
    event is recorded (`record_rows` creates it)."""
    if not isinstance(session_id, str) or not session_id.strip():
        raise ValueError("a Claude Code session id must be a non-empty string")
    # uuid.uuid5(UUID(INTERACTIVE_NAMESPACE), session_id), computed as RFC 4122 says
    namespace = bytes.fromhex(INTERACTIVE_NAMESPACE.replace("-", ""))
    digest = bytearray(hashlib.sha1(namespace + session_id.encode("utf-8")).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50
    digest[8] = (digest[8] & 0x3F) | 0x80
    return _hyphenated(digest.hex())


def database_key(path: os.PathLike[str] | str | None = None, url: str | None = None) -> str:
    """Which database a fallback entry belongs to, without any secret: a SQLite file's real
    path, or a digest of a PostgreSQL URL (as normalised by adw_db_connection.postgres_url)."""
    if url:
        scheme, _, rest = url.partition("://")
        normalised = f"{scheme.lower().partition('+')[0]}://{rest}"
        return "postgresql:" + hashlib.sha256(normalised.encode()).hexdigest()[:24]
    if path is None:
        raise ValueError("database_key needs a path or a URL")
    return "sqlite:" + os.path.realpath(os.fspath(path))


# -- what an event becomes ----------------------------------------------------------------


def _clean(value: Any) -> Any:
    """Keep details small: long strings (file contents, tool output) and lists are cut; NUL
    becomes U+FFFD (binary tool output; PostgreSQL refuses NUL)."""
    if isinstance(value, str):
        value = value.replace("\x00", "\ufffd")
        return value if len(value) <= MAX_TEXT else value[:MAX_TEXT] + f"… [{len(value)} chars]"
    if isinstance(value, dict):
        return {str(k).replace("\x00", "\ufffd"): _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value[:MAX_ITEMS]]
    return value


def _line(value: Any, limit: int = MAX_SUBJECT) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def describe(event: Mapping[str, Any]) -> tuple[str, str, str, dict[str, Any], str | None]:
    """(log type, level, one-line message, details, tool_use_id) of a hook event."""
    name = str(event["hook_event_name"])
    log_type, level = EVENTS.get(name, UNKNOWN_EVENT)
    tool = event.get("tool_name")
    parts = [name + ":"]
    if tool:
        parts.append(str(tool))
        target = event.get("tool_input")
        target = target if isinstance(target, dict) else {}
        subject = target.get("file_path") or target.get("command") or target.get("pattern")
        subject = subject or target.get("description") or target.get("url")
        if subject:
            parts.append(_line(subject))
        if name == "PostToolUseFailure":
            failure = event.get("error") or ("interrupted" if event.get("is_interrupt") else "")
            parts[-1] += f": {_line(failure, 200)}" if failure else ""
    elif name == "UserPromptSubmit":
        parts.append(_line(event.get("prompt", "")))
    elif name in ("SubagentStart", "SubagentStop"):
        parts += [_line(event.get("agent_type") or "agent"), _line(event.get("agent_id") or "")]
    else:
        detail = next(
            (
                event[key]
                for key in ("message", "error", "reason", "source", "trigger")
                if isinstance(event.get(key), str) and event[key]
            ),
            "",
        )
        parts.append(_line(detail, 200))
    message = " ".join(p for p in parts if p).replace("\x00", "\ufffd")
    message = name if message == name + ":" else message
    details = {key: _clean(value) for key, value in event.items() if key != "transcript_path"}
    tool_use_id = event.get("tool_use_id")
    return log_type, level, message, details, tool_use_id if isinstance(tool_use_id, str) else None


def parse_event(raw: str) -> dict[str, Any]:
    """The event of a hook's stdin, or Rejected. Deep nesting is refused here (json raises
    RecursionError, not ValueError): an exception escaping would stop the recorder at that
    spool file, and every later event of the session would wait behind it."""
    try:
        event = json.loads(raw, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:
        raise Rejected(f"{type(exc).__name__}: {str(exc)[:200]}") from None
    if not isinstance(event, dict) or not isinstance(event.get("hook_event_name"), str):
        raise Rejected("hook input is not a JSON object with a hook_event_name")
    if _deeper_than(event, MAX_DEPTH):
        raise Rejected(f"hook input is nested deeper than {MAX_DEPTH} levels")
    return event


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether lists and objects nest more than `limit` levels (iteratively: no recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return False


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def make_row(event: Mapping[str, Any], agent_env: str, log_id: str, created_at: str) -> Row:
    """The row (a JSON-ready dict) an event becomes; `agent_env` is TAC_AGENT_ID ("" outside
    a workflow). Raises Rejected for a TAC_AGENT_ID that cannot name an agent."""
    log_type, level, message, details, tool_use_id = describe(event)
    given = event.get("session_id")
    session = given if isinstance(given, str) else ""
    cwd = event.get("cwd")
    row: Row = {
        "id": log_id,
        "created_at": created_at,
        "event": str(event["hook_event_name"]),
        "table": "agent_logs",
        "agent_id": None,
        "interactive": False,
        "session_id": session or None,
        "working_dir": cwd if isinstance(cwd, str) else None,
        "transcript_path": event.get("transcript_path")
        if isinstance(event.get("transcript_path"), str)
        else None,
        "log_type": log_type,
        "log_level": level,
        "message": message,
        "details": details,
        "tool_use_id": tool_use_id,
    }
    agent_env = agent_env.strip()
    if agent_env:
        agent = canonical_uuid(agent_env)
        if agent is None:
            raise Rejected(f"{AGENT_ENV_VAR}={agent_env!r} is not an agent id (a UUID)")
        row["agent_id"] = agent
    elif session.strip():
        row["agent_id"] = interactive_agent_id(session)
        row["interactive"] = True
    else:
        row["table"] = "system_logs"
    return row


def validate_row(row: Any) -> Row:
    """Check a row (also one read back from the fallback file) against the schema's rules
    before any SQL: the same allowed values as the pydantic models and CHECK lists."""
    if not isinstance(row, dict):
        raise Rejected("a hook row must be a JSON object")
    problems = []
    if canonical_uuid(row.get("id")) != row.get("id"):
        problems.append("id is not a canonical UUID")
    if not isinstance(row.get("created_at"), str) or not _TIMESTAMP.fullmatch(row["created_at"]):
        problems.append("created_at is not a '…T…mmmZ' timestamp")
    if row.get("table") not in ("agent_logs", "system_logs"):
        problems.append("table must be agent_logs or system_logs")
    if row.get("log_type") not in LOG_TYPES:
        problems.append(f"log_type {row.get('log_type')!r} is not one of {', '.join(LOG_TYPES)}")
    if row.get("log_level") not in LOG_LEVELS:
        problems.append(f"log_level {row.get('log_level')!r} is not one of {LOG_LEVELS}")
    if not isinstance(row.get("message"), str):
        problems.append("message must be a string")
    if not isinstance(row.get("details"), dict):
        problems.append("details must be a JSON object")
    if row.get("table") == "agent_logs":
        if canonical_uuid(row.get("agent_id")) != row.get("agent_id"):
            problems.append("agent_id is not a canonical UUID")
        if row.get("interactive") and not (
            isinstance(row.get("session_id"), str)
            and row["session_id"].strip()
            and interactive_agent_id(row["session_id"]) == row.get("agent_id")
        ):
            problems.append("an interactive row needs its session's agent id")
    for name in ("tool_use_id", "session_id", "working_dir", "transcript_path"):
        if row.get(name) is not None and not isinstance(row[name], str):
            problems.append(f"{name} must be a string or null")
    if problems:
        raise Rejected("invalid hook row: " + "; ".join(problems))
    return row


def compact_json(value: Any) -> str:
    """JSON text as the runtime writes it (orch_database_models.to_json): compact, UTF-8."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
