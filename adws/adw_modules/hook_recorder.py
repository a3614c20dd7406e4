"""Record every Claude Code hook event in the orchestrator database, off the agent's critical path.

Standard library only (any python3 >= 3.10, with or without the project's dependencies): the
hook never imports pydantic, yaml, psycopg or the rest of the runtime. The runtime imports
this module to replay what the hooks could not write (`OrchestratorDB.replay_hook_events`).

How one event travels:

1. Claude Code runs `exec sh .claude/hooks/orchestrator_hook.py` for every event it fires.
   The shell half of that file writes TAC_AGENT_ID and the event JSON (stdin) to a *spool
   file* `<spool>/<CLI pid>/<ns>-<pid>-<n>.json`, starts a recorder for that CLI process
   unless one is running, and exits 0 without printing: the agent waits for `sh`, `date` and
   `cat`, never for Python or the database. (Not the CLI's "async" hooks: in print mode it
   kills those still running at exit, and their events are lost.) Stop and SessionEnd run
   it with `--wait`: it returns once the recorder has written this CLI's events (at most
   2 s), so they are in the database when a turn ends and when `claude -p` exits.
2. The recorder (`python3 -S orchestrator_hook.py --drain DIR`, detached from the hook, at
   nice 10 unless a waiting event started it) turns each spool file into a row whose id (a
   UUIDv7) and time come from the moment the event was seen, writes the batch in one BEGIN
   IMMEDIATE transaction with sqlite3, deletes the files once committed, and lingers
   LINGER_SECONDS for more events of the same agent. After Stop, SubagentStop and
   SessionEnd it also records the session's transcript usage (transcripts.py), once the
   agent is idle, so no hook waits for that.
3. What cannot be written now (PostgreSQL, which this module cannot reach without psycopg; a
   locked, missing or unmigrated database) is appended as ready rows to the *fallback file*
   and deleted from the spool. The recorder's next successful write and the runtime (on
   open, and `replay_hook_events()`) replay those rows; ids make every insert idempotent, so
   a replay never duplicates. What can never be written (bad input, an unknown agent) is
   kept in the fallback file as a rejected entry, for a person to read.

Where events go: inside a workflow TAC_AGENT_ID names the agent (agent_logs). Outside one,
each Claude Code session gets its own agent (`interactive_agent_id(session_id)`) under the
orchestrator agent `claude_code`: created on its first event, completed by SessionEnd. An
event without a session id goes to system_logs. Tool calls and their results (or failures)
share a tool_use_id, stored in its own column; prompt_id, agent_id and agent_type (inside
subagents) stay in the details, which keep every field of the event but transcript_path,
with long strings and lists cut.

`python3 orchestrator_hook.py` without arguments records the event on stdin synchronously
(the same rows, the same fallback): that is what tests and scripts use.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import sqlite3
import sys
import time
from collections.abc import Callable, Generator, Iterable, Mapping
from pathlib import Path
from typing import Any, Literal, TextIO

try:  # POSIX: the fallback file is shared by concurrent recorders and replays
    import fcntl
except ImportError:  # pragma: no cover - Windows: no locking (the shell hook is POSIX anyway)
    fcntl = None  # type: ignore[assignment]

AGENT_ENV_VAR = "TAC_AGENT_ID"
DATABASE_ENV_VAR = "TAC_ORCHESTRATOR_DB"
FALLBACK_ENV_VAR = "TAC_HOOK_FALLBACK_LOG"
BUSY_TIMEOUT_ENV_VAR = "TAC_HOOK_BUSY_TIMEOUT_MS"
FALLBACK_NAME = "hooks-fallback.jsonl"
SPOOL_NAME = "hooks-spool"
RECORDER_LOCK = ".recorder"
IMPORTING_MARKER = ".importing"  # .importing.<pid>: a recorder reads transcripts after a Stop

HOOK_BUSY_TIMEOUT_MS = 2_000  # the recorder never waits long for a lock: it falls back
LINGER_SECONDS = 0.5  # a recorder waits this long for the agent's next event before exiting
POLL_SECONDS = 0.005
IMPORT_DELAY_SECONDS = 0.2  # a Stop's transcript import waits this long for more events
PARTIAL_GRACE_SECONDS = 2.0  # a spool file that does not parse yet may still be being written
REPLAY_WAIT_SECONDS = 3.0  # the runtime waits this long for live recorders before replaying
STALE_SECONDS = 60.0  # a spool file a live recorder left this long is the runtime's to write
BATCH_SIZE = 500
MAX_TEXT = 2_000
MAX_ITEMS = 50
MAX_SUBJECT = 120
MAX_FALLBACK_INPUT = 20_000

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
# <ns>-<sh pid>-<n>.json as the shell half writes it; .<pid> appended once a recorder claims it
_SPOOL_FILE = re.compile(r"(\d+)-(\d+)-(\d+)\.json(?:\.(\d+))?")

Row = dict[str, Any]
Step = tuple[Literal["exec", "many", "one", "all"], str, Any]
Environ = Mapping[str, str]


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


# -- where the database is (mirrors adw_db_connection.resolve_location, stdlib only) ---------


class Target:
    """The database hook events go to: a SQLite file, or a URL the hook cannot write to.
    (Plain classes, not dataclasses: importing dataclasses costs the recorder ~9 ms.)"""

    __slots__ = ("key", "path", "reason")

    def __init__(self, key: str, path: Path | None = None, reason: str = "") -> None:
        self.key = key
        self.path = path
        self.reason = reason  # why rows cannot be written here (PostgreSQL, bad URL)

    def __repr__(self) -> str:
        return f"Target({self.key!r}, path={self.path!r}, reason={self.reason!r})"

    @property
    def writable(self) -> bool:
        return self.path is not None


def resolve_target(setting: str, project_root: Path, adws_dir: str = "adws") -> Target:
    """The hooks' database from TAC_ORCHESTRATOR_DB or the configured setting ("" = the
    default file); relative paths are relative to the project root."""
    value = setting.strip()
    if not value:
        return _sqlite_target(project_root / adws_dir / "schema" / "orchestrator.db")
    lowered = value.lower()
    scheme = lowered.split("://", 1)[0] if "://" in lowered else ""
    if scheme.split("+", 1)[0] in ("postgresql", "postgres"):
        return Target(
            database_key(url=value),
            reason="PostgreSQL: hooks import no driver; the runtime records these rows on "
            "its next open (or OrchestratorDB.replay_hook_events)",
        )
    if lowered.startswith("sqlite:"):
        from urllib.parse import unquote, urlsplit

        parts = urlsplit(value)
        raw = unquote(parts.path)
        if parts.netloc not in ("", "localhost") or not raw or raw == "/":
            return Target("unsupported:" + _digest(value), reason=f"unusable sqlite URL {value}")
        value = raw[1:]  # sqlite:///rel.db is relative, sqlite:////abs.db absolute
    elif "://" in value or re.match(r"(postgres|postgresql)(\+\w+)?:(?!//)", lowered):
        return Target(
            "unsupported:" + _digest(value), reason="unsupported database URL (see doctor)"
        )
    path = Path(value).expanduser()
    return _sqlite_target(path if path.is_absolute() else project_root / path)


def _sqlite_target(path: Path) -> Target:
    return Target(database_key(path=path), path=path)


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:24]


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
    try:
        event = json.loads(raw, parse_constant=_refuse_constant)
    except ValueError as exc:
        raise Rejected(f"{type(exc).__name__}: {exc}") from None
    if not isinstance(event, dict) or not isinstance(event.get("hook_event_name"), str):
        raise Rejected("hook input is not a JSON object with a hook_event_name")
    return event


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


# -- the SQL: one operation for the stdlib writer here and for OrchestratorDB (both engines) --

_ORCHESTRATOR_SELECT = "SELECT id FROM orchestrator_agents WHERE name = ?"
_ORCHESTRATOR_INSERT = (
    "INSERT INTO orchestrator_agents (id, name, agent_type, description, capabilities, config, "
    "created_at, updated_at) VALUES (?, ?, ?, ?, '[]', '{}', ?, ?) ON CONFLICT (name) DO NOTHING"
)
_AGENT_INSERT = (
    "INSERT INTO agents (id, orchestrator_agent_id, session_id, name, status, working_dir, "
    "context, created_at, started_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (id) DO NOTHING"
)
_AGENT_COMPLETE = (
    "UPDATE agents SET status = ?, completed_at = ? WHERE id = ? "
    "AND status IN ('pending', 'running', 'completed') "
    "AND (completed_at IS NULL OR completed_at < ?)"
)
_AGENT_LOG_INSERT = (
    "INSERT INTO agent_logs (id, agent_id, log_type, log_level, message, details, created_at, "
    "tool_use_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING"
)
_SYSTEM_LOG_INSERT = (
    "INSERT INTO system_logs (id, log_level, component, message, details, created_at) "
    "VALUES (?, ?, 'hook', ?, ?, ?) ON CONFLICT (id) DO NOTHING"
)


def record_rows(rows: Iterable[Row]) -> Generator[Step, Any, tuple[int, list[tuple[Row, str]]]]:
    """Insert hook rows in one transaction: an operation in adw_db_operations' style (it
    yields SQL steps), run by the stdlib writer here and by OrchestratorDB on both engines.

    Idempotent: rows whose id exists are skipped, the interactive agent (and the orchestrator
    agent `claude_code`) are created only when missing. Rows of an agent that does not exist
    are not inserted; they come back with the reason. Returns (rows inserted, rejected)."""
    batch: list[Row] = []
    rejected: list[tuple[Row, str]] = []
    for row in rows:
        try:
            batch.append(validate_row(row))
        except Rejected as exc:
            rejected.append((row, str(exc)))
    batch.sort(key=lambda row: str(row["id"]))
    workflow = sorted(
        {r["agent_id"] for r in batch if r["table"] == "agent_logs" and not r["interactive"]}
    )
    known: set[str] = set()
    if workflow:
        found = yield (
            "all",
            f"SELECT id FROM agents WHERE id IN ({','.join('?' * len(workflow))})",
            workflow,
        )
        known = {str(r["id"]) for r in found}
    orchestrator: str | None = None
    sessions: set[str] = set()
    inserted = 0
    for row in batch:
        if row["table"] == "system_logs":
            inserted += yield (
                "exec",
                _SYSTEM_LOG_INSERT,
                (
                    row["id"],
                    row["log_level"],
                    row["message"],
                    compact_json(row["details"]),
                    row["created_at"],
                ),
            )
            continue
        agent = row["agent_id"]
        if not row["interactive"] and agent not in known:
            rejected.append((row, f"agent {agent!r} ({AGENT_ENV_VAR}) does not exist"))
            continue
        if row["interactive"] and agent not in sessions:
            if orchestrator is None:
                orchestrator = yield from _orchestrator_agent(row["created_at"])
            yield from ensure_interactive_agent(
                row["session_id"],
                working_dir=row["working_dir"],
                transcript_path=row["transcript_path"],
                started_at=row["created_at"],
                orchestrator_id=orchestrator,
            )
            sessions.add(agent)
        inserted += yield (
            "exec",
            _AGENT_LOG_INSERT,
            (
                row["id"],
                agent,
                row["log_type"],
                row["log_level"],
                row["message"],
                compact_json(row["details"]),
                row["created_at"],
                row["tool_use_id"],
            ),
        )
        if row["interactive"] and row["event"] == "SessionEnd":
            moment = row["created_at"]
            yield ("exec", _AGENT_COMPLETE, (COMPLETED_STATUS, moment, agent, moment))
    return inserted, rejected


def ensure_interactive_agent(
    session_id: str,
    *,
    working_dir: str | None = None,
    transcript_path: str | None = None,
    started_at: str | None = None,
    orchestrator_id: str | None = None,
) -> Generator[Step, Any, str]:
    """Find or create the agent of Claude Code session `session_id` (an operation, like
    record_rows); returns its id, `interactive_agent_id(session_id)`. Race-free on both
    engines: the id is derived from the session, and the INSERT skips an existing row."""
    agent = interactive_agent_id(session_id)
    now = started_at or timestamp(time.time_ns())
    if orchestrator_id is None:
        orchestrator_id = yield from _orchestrator_agent(now)
    context = {"transcript_path": transcript_path} if transcript_path else {}
    yield (
        "exec",
        _AGENT_INSERT,
        (
            agent,
            orchestrator_id,
            session_id,
            INTERACTIVE_AGENT_NAME,
            INTERACTIVE_STATUS,
            working_dir,
            compact_json(context),
            now,
            now,
        ),
    )
    return agent


def _orchestrator_agent(now: str) -> Generator[Step, Any, str]:
    found = yield ("one", _ORCHESTRATOR_SELECT, (INTERACTIVE_ORCHESTRATOR,))
    if found is None:
        yield (
            "exec",
            _ORCHESTRATOR_INSERT,
            (
                new_id(),
                INTERACTIVE_ORCHESTRATOR,
                INTERACTIVE_AGENT_TYPE,
                INTERACTIVE_DESCRIPTION,
                now,
                now,
            ),
        )
        found = yield ("one", _ORCHESTRATOR_SELECT, (INTERACTIVE_ORCHESTRATOR,))
    return str(found["id"])


Writer = Callable[[list[Row]], tuple[int, list[tuple[Row, str]]]]


class SQLiteWriter:
    """Runs record_rows with the standard library's sqlite3 in one BEGIN IMMEDIATE write.

    The database must exist (it is opened read-write, never created: creating and migrating
    it is the runtime's job), with the runtime's connection settings; any error leaves the
    transaction rolled back and is raised for the caller to fall back."""

    def __init__(self, path: Path, busy_timeout_ms: int = HOOK_BUSY_TIMEOUT_MS) -> None:
        self.path = path
        self.busy_timeout_ms = busy_timeout_ms
        self._conn: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            if not self.path.is_file():
                raise FileNotFoundError(f"no database at {self.path} yet (created on first use)")
            uri = "file:" + _uri_path(self.path) + "?mode=rw"
            conn = sqlite3.connect(
                uri, uri=True, timeout=self.busy_timeout_ms / 1000, isolation_level=None
            )
            conn.row_factory = sqlite3.Row
            try:
                for pragma in (
                    f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}",
                    "PRAGMA foreign_keys = ON",
                    "PRAGMA synchronous = NORMAL",
                ):
                    conn.execute(pragma)
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        return self._conn

    def __call__(self, rows: list[Row]) -> tuple[int, list[tuple[Row, str]]]:
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            op = record_rows(rows)
            value: Any = None
            try:
                while True:
                    mode, sql, params = op.send(value)
                    cursor = conn.execute(sql, params)
                    if mode == "exec":
                        value = cursor.rowcount
                    elif mode == "one":
                        value = cursor.fetchone()
                    else:
                        value = cursor.fetchall()
            except StopIteration as stop:
                result: tuple[int, list[tuple[Row, str]]] = stop.value
            conn.execute("COMMIT")
            return result
        except BaseException:
            self.close()  # rolls back; the next batch reconnects
            raise

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None


def _uri_path(path: Path) -> str:
    from urllib.parse import quote

    return quote(str(path.resolve()), safe="/")


# -- the spool and the fallback file --------------------------------------------------------


class Spool:
    """Where a project's hooks keep events: one directory of spool files per CLI process
    (`directory/<pid>/`), and the fallback file of rows still to write and rejected events."""

    __slots__ = ("directory", "fallback")

    def __init__(self, fallback: Path, directory: Path) -> None:
        self.fallback = fallback
        self.directory = directory

    def __repr__(self) -> str:
        return f"Spool(fallback={self.fallback!r}, directory={self.directory!r})"

    @classmethod
    def locate(cls, project_root: Path, logs_dir: str, environ: Environ) -> Spool:
        """TAC_HOOK_FALLBACK_LOG, or <logs_dir>/hooks-fallback.jsonl; the spool directory is
        hooks-spool/ beside it (the shell half of the hook computes the same)."""
        configured = environ.get(FALLBACK_ENV_VAR, "")
        fallback = Path(configured) if configured else project_root / logs_dir / FALLBACK_NAME
        return cls(fallback, fallback.parent / SPOOL_NAME)

    def pending(self) -> bool:
        """Whether anything is waiting (cheap: a stat and a directory listing)."""
        if self.fallback.exists():
            return True
        try:
            return any(self.directory.iterdir())
        except OSError:
            return False


class Entry:
    """One event on its way: its row (None when rejected), raw input and spool file."""

    __slots__ = ("error", "file", "raw", "row")

    def __init__(self, row: Row | None, raw: str, file: Path | None = None, error: str = ""):
        self.row = row
        self.raw = raw
        self.file = file
        self.error = error


def read_spool_file(path: Path, *, complete: bool) -> Entry | None:
    """The entry of a spool file; None while it may still be being written (it does not parse
    and is young). A file that never parses, or names no agent, is rejected."""
    try:
        data = path.read_bytes()
        stat = path.stat()
    except OSError:
        return None  # taken by another recorder meanwhile
    header, newline, body = data.partition(b"\n")
    agent_env = header.decode("utf-8", "replace")
    raw = body.decode("utf-8", "replace")
    match = _SPOOL_FILE.fullmatch(path.name)
    ns = int(match.group(1)) if match else 0
    if ns <= 0:  # `date` without %N (BSD): the file's own time
        ns = stat.st_mtime_ns
    base = path.name if match is None or match.group(4) is None else path.name.rsplit(".", 1)[0]
    entropy = hashlib.sha256(f"{path.parent.name}/{base}".encode()).digest()
    try:
        event = parse_event(raw)
        row = make_row(event, agent_env, new_id(ns, entropy), timestamp(ns))
    except Rejected as exc:
        old = time.time() - stat.st_mtime > PARTIAL_GRACE_SECONDS
        if newline and (complete or old):
            return Entry(None, raw, path, str(exc))
        if not newline and old:
            return Entry(None, data.decode("utf-8", "replace"), path, "truncated spool file")
        return None
    return Entry(row, raw, path)


def spool_files(directory: Path) -> list[Path]:
    """Spool files of one CLI process's directory, oldest first (claimed ones included)."""
    try:
        names = sorted(n for n in os.listdir(directory) if _SPOOL_FILE.fullmatch(n))
    except OSError:
        return []
    return [directory / name for name in names]


def _claimable(path: Path) -> bool:
    """Unclaimed, claimed by this process, or claimed by a process that is gone."""
    match = _SPOOL_FILE.fullmatch(path.name)
    owner = match.group(4) if match else None
    return owner is None or int(owner) == os.getpid() or not _pid_alive(int(owner))


def claim(path: Path) -> Path | None:
    """Take a spool file for this process (an atomic rename); None if another took it."""
    match = _SPOOL_FILE.fullmatch(path.name)
    if match is not None and match.group(4) is not None and int(match.group(4)) == os.getpid():
        return path
    base = path.name if match is None or match.group(4) is None else path.name.rsplit(".", 1)[0]
    claimed = path.with_name(f"{base}.{os.getpid()}")
    try:
        os.rename(path, claimed)
    except OSError:
        return None
    return claimed


def take_entries(
    directory: Path, *, complete: bool, limit: int = BATCH_SIZE, older_than: float = 0.0
) -> list[Entry]:
    """Read and claim the ready spool files of a directory (at most `limit`; with
    `older_than`, only files at least that many seconds old, whoever claimed them)."""
    entries: list[Entry] = []
    for path in spool_files(directory):
        if len(entries) >= limit:
            break
        if older_than:
            try:
                if time.time() - path.stat().st_mtime < older_than:
                    continue
            except OSError:
                continue
        elif not _claimable(path):
            continue
        entry = read_spool_file(path, complete=complete)
        if entry is None:
            continue
        claimed = claim(path)
        if claimed is not None:
            entry.file = claimed
            entries.append(entry)
    return entries


def _now_text() -> str:
    return timestamp(time.time_ns())


def pending_line(row: Row, key: str, reason: str) -> dict[str, Any]:
    return {"time": _now_text(), "database": key, "error": reason[:500], "row": row}


def rejected_line(entry: Entry) -> dict[str, Any]:
    line: dict[str, Any] = {"time": _now_text(), "error": entry.error[:500]}
    line["input"] = entry.raw[:MAX_FALLBACK_INPUT]
    if entry.row is not None:
        line["row"] = entry.row
    return line


@contextlib.contextmanager
def _locked(path: Path, *, create: bool) -> Generator[int | None, None, None]:
    """An fd on `path` under an exclusive flock, re-opened if the file was replaced or
    removed while we waited (so no append lands in an unlinked file). None: no file."""
    while True:
        try:
            flags = os.O_RDWR | os.O_APPEND | (os.O_CREAT if create else 0)
            fd = os.open(path, flags, 0o600)
        except FileNotFoundError:
            if create:
                path.parent.mkdir(parents=True, exist_ok=True)
                continue
            yield None
            return
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                same = os.fstat(fd).st_ino == os.stat(path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                yield fd
                return
        finally:
            os.close(fd)  # closing also releases the lock


def append_fallback(path: Path, lines: Iterable[Mapping[str, Any]]) -> None:
    """Append JSON lines in one write, under the file's lock (concurrent recorders)."""
    data = "".join(compact_json(line) + "\n" for line in lines).encode("utf-8")
    if not data:
        return
    with _locked(path, create=True) as fd:
        assert fd is not None
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]


def replay_fallback(path: Path, key: str, write: Writer) -> int:
    """Write the fallback file's pending rows of database `key` (one transaction) and remove
    them from the file; the rest (other databases, rejected entries) stays. A failing write
    leaves the file as it was and raises. Returns the rows inserted (duplicates skipped)."""
    if not path.exists():
        return 0
    with _locked(path, create=False) as fd:
        if fd is None:
            return 0
        os.lseek(fd, 0, os.SEEK_SET)
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        text = b"".join(chunks).decode("utf-8", "replace")
        keep: list[str] = []
        rows: list[Row] = []
        for line in text.splitlines():
            try:
                item = json.loads(line)
            except ValueError:
                item = None
            if not (isinstance(item, dict) and item.get("database") == key and "row" in item):
                if line.strip():
                    keep.append(line)
                continue
            try:
                rows.append(validate_row(item["row"]))
            except Rejected as exc:
                keep.append(compact_json({**item, "database": None, "error": str(exc)}))
        if not rows:
            return 0
        inserted, rejected = write(rows)
        for row, reason in rejected:
            keep.append(compact_json({"time": _now_text(), "error": reason, "row": row}))
        if keep:
            os.ftruncate(fd, 0)
            data = "".join(line + "\n" for line in keep).encode("utf-8")
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        else:
            os.unlink(path)
        return inserted


# -- recording ------------------------------------------------------------------------------


class Recorder:
    """Writes entries to the target, or to the fallback file; replays on success."""

    def __init__(self, target: Target, spool: Spool, busy_timeout_ms: int) -> None:
        self.target = target
        self.spool = spool
        self.writer = SQLiteWriter(target.path, busy_timeout_ms) if target.path else None
        # Transcript imports wait until the agent is idle (flush_imports): written rows of
        # Stop, SubagentStop and SessionEnd, and the marker that tells wait_until_recorded.
        self.deferred: list[Row] = []
        self.marker: Path | None = None
        self.deferred_since = 0.0

    def handle(self, entries: list[Entry]) -> None:
        rows = [e.row for e in entries if e.row is not None]
        fallback: list[dict[str, Any]] = [rejected_line(e) for e in entries if e.row is None]
        by_id = {e.row["id"]: e for e in entries if e.row is not None}
        written = False
        if rows and self.writer is not None:
            try:
                _inserted, rejected = self.writer(rows)
                written = True
            except Exception as exc:  # locked, missing, not a database, not migrated ...
                reason = f"{type(exc).__name__}: {exc}"
                fallback += [pending_line(row, self.target.key, reason) for row in rows]
            else:
                for row, reason in rejected:
                    entry = by_id[row["id"]]
                    entry.error = reason
                    fallback.append(rejected_line(entry))
        elif rows:
            fallback += [pending_line(row, self.target.key, self.target.reason) for row in rows]
        if fallback:
            append_fallback(self.spool.fallback, fallback)
        if written and self.writer is not None and self.spool.fallback.exists():
            with contextlib.suppress(Exception):  # the database is back: replay what waits
                replay_fallback(self.spool.fallback, self.target.key, self.writer)
        # A spool file is gone only once its event is recorded or in the fallback file (and
        # any replay it allowed is done): what the hook's --wait (Stop, SessionEnd) waits for.
        directory = next((e.file.parent for e in entries if e.file is not None), None)
        for entry in entries:
            if entry.file is not None:
                with contextlib.suppress(FileNotFoundError):
                    entry.file.unlink()
        if written and self.writer is not None:
            # Not now: the agent would wait for it (its next --wait event queues behind it).
            # wait_until_recorded waits for the marker, so the session's usage is there too
            # when a test or script looks.
            refused = {id(row) for row, _ in rejected}
            wanted = [r for r in rows if r["event"] in TRANSCRIPT_EVENTS and id(r) not in refused]
            if wanted:
                if not self.deferred:
                    self.deferred_since = time.monotonic()
                self.deferred += wanted
                if self.marker is None and directory is not None:
                    self.marker = directory / f"{IMPORTING_MARKER}.{os.getpid()}"
                    with contextlib.suppress(OSError):
                        self.marker.touch()

    def imports_due(self) -> bool:
        """Deferred imports are due once the session ended or the agent was idle a while."""
        if not self.deferred:
            return False
        if any(row["event"] == "SessionEnd" for row in self.deferred):
            return True
        return time.monotonic() - self.deferred_since >= IMPORT_DELAY_SECONDS

    def flush_imports(self) -> None:
        """The deferred transcript imports, then the marker goes."""
        rows, self.deferred = self.deferred, []
        try:
            if rows:
                self.import_transcripts(rows, [])
        finally:
            if self.marker is not None:
                with contextlib.suppress(OSError):
                    self.marker.unlink()
                self.marker = None

    def import_transcripts(self, rows: list[Row], refused: list[Row]) -> None:
        """After Stop, SubagentStop and SessionEnd: the session's usage from its transcript
        (transcripts.py, imported only then). Never fails the recorder: what is not recorded
        now is on disk, and the next Stop or `db import-transcripts` records it."""
        if self.writer is None or not any(row["event"] in TRANSCRIPT_EVENTS for row in rows):
            return
        with contextlib.suppress(Exception):
            from . import transcripts

            skip = {id(row) for row in refused}
            run = transcripts.sqlite_runner(self.writer.path, self.writer.busy_timeout_ms)
            kept = [row for row in rows if id(row) not in skip]
            offsets = self.spool.fallback.parent / transcripts.OFFSETS_NAME
            transcripts.import_after_hooks(run, kept, offsets)  # only what is new since

    def close(self) -> None:
        try:
            self.flush_imports()
        finally:
            if self.writer is not None:
                self.writer.close()


def record_stdin(raw: str, agent_env: str, recorder: Recorder, *, ns: int | None = None) -> None:
    """Record one event given as text, synchronously (the hook run without arguments)."""
    moment = time.time_ns() if ns is None else ns
    try:
        entry = Entry(make_row(parse_event(raw), agent_env, new_id(moment), timestamp(moment)), raw)
    except Rejected as exc:
        entry = Entry(None, raw, error=str(exc))
    recorder.handle([entry])


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def recorder_alive(directory: Path) -> bool:
    """Whether a recorder (its pid in directory/.recorder) is running for this spool dir."""
    try:
        pid = int((directory / RECORDER_LOCK).read_text().strip() or 0)
    except (OSError, ValueError):
        return False
    return pid > 0 and _pid_alive(pid)


def _claim(directory: Path) -> bool:
    """Mark this process as the directory's recorder; False when the directory is gone (a
    lingering recorder took the last file and removed it: nothing is left to record)."""
    lock = directory / RECORDER_LOCK
    tmp = directory / f".recorder.{os.getpid()}"
    try:
        tmp.write_text(f"{os.getpid()}\n")
        os.replace(tmp, lock)
    except FileNotFoundError:
        return False
    return True


def _release(directory: Path) -> None:
    lock = directory / RECORDER_LOCK
    with contextlib.suppress(OSError, ValueError):
        if int(lock.read_text().strip() or 0) == os.getpid():
            lock.unlink()


def drain(
    directory: Path,
    recorder: Recorder,
    *,
    linger: float = LINGER_SECONDS,
    complete: bool = False,
) -> int:
    """Record every spool file of one CLI process's directory, oldest first, in batches;
    then wait up to `linger` seconds for more before leaving. Returns the entries handled.

    The shell half starts a recorder unless directory/.recorder names a live one; the lock
    is released before the last look at the directory, so an event spooled while a recorder
    leaves is either seen by it or finds no live recorder and starts another."""
    handled = 0
    if not _claim(directory):
        return 0  # another recorder handled every file and removed the directory
    try:
        deadline = time.monotonic() + linger
        while True:
            entries = take_entries(directory, complete=complete)
            if entries:
                recorder.handle(entries)
                handled += len(entries)
                deadline = time.monotonic() + linger
                continue
            if recorder.imports_due():
                recorder.flush_imports()
                continue
            if time.monotonic() < deadline:
                time.sleep(POLL_SECONDS)
                continue
            recorder.flush_imports()
            _release(directory)
            if not spool_files(directory):
                break
            if not _claim(directory):  # an event arrived as we were leaving
                break
            deadline = time.monotonic() + linger
    finally:
        _release(directory)
        with contextlib.suppress(OSError):
            directory.rmdir()  # only when empty; the next event re-creates it
    return handled


def replay(
    spool: Spool,
    target_key: str,
    write: Writer,
    *,
    take_spool: bool = True,
    wait_seconds: float = REPLAY_WAIT_SECONDS,
) -> int:
    """What the runtime does on open: wait (bounded) for live recorders to finish, record the
    spool files nobody is recording (when `take_spool`: this is the hooks' own database), then
    the fallback file's rows of this database. Returns the rows inserted."""
    inserted = 0
    if take_spool:
        deadline = time.monotonic() + wait_seconds
        while True:
            live = [d for d in _spool_dirs(spool.directory) if spool_files(d) and recorder_alive(d)]
            if not live or time.monotonic() >= deadline:
                break
            time.sleep(POLL_SECONDS * 2)
        for directory in _spool_dirs(spool.directory):
            # A live recorder writes its files within milliseconds; one that has left files
            # for a minute is stuck, or its pid now names another process: take them too
            # (the ids make a double write harmless).
            stale = STALE_SECONDS if recorder_alive(directory) else 0.0
            entries = take_entries(directory, complete=False, limit=1 << 30, older_than=stale)
            if not entries:
                continue
            rows = [e.row for e in entries if e.row is not None]
            count, rejected = write(rows) if rows else (0, [])
            inserted += count
            lines = [rejected_line(e) for e in entries if e.row is None]
            by_id = {e.row["id"]: e for e in entries if e.row is not None}
            for row, reason in rejected:
                by_id[row["id"]].error = reason
                lines.append(rejected_line(by_id[row["id"]]))
            append_fallback(spool.fallback, lines)
            for entry in entries:
                if entry.file is not None:
                    with contextlib.suppress(FileNotFoundError):
                        entry.file.unlink()
            with contextlib.suppress(OSError):
                directory.rmdir()
    inserted += replay_fallback(spool.fallback, target_key, write)
    return inserted


def _spool_dirs(directory: Path) -> list[Path]:
    try:
        return sorted(p for p in directory.iterdir() if p.is_dir())
    except OSError:
        return []


def _importing(directory: Path) -> bool:
    """Whether a live recorder is still reading transcripts for this spool directory."""
    try:
        names = os.listdir(directory)
    except OSError:
        return False
    prefix = IMPORTING_MARKER + "."
    return any(
        n.startswith(prefix) and n[len(prefix) :].isdigit() and _pid_alive(int(n[len(prefix) :]))
        for n in names
    )


def wait_until_recorded(spool: Spool, timeout: float = 10.0) -> bool:
    """Wait until no spool file is left (each is recorded or in the fallback file once its
    file is gone) and no recorder is still importing a transcript after a Stop; False on
    timeout. For tests, benchmarks and scripts."""
    deadline = time.monotonic() + timeout
    while True:
        directories = _spool_dirs(spool.directory)
        if not any(spool_files(d) or _importing(d) for d in directories):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL_SECONDS)


# -- the hook's entry point -------------------------------------------------------------------


def _busy_timeout(environ: Environ) -> int:
    try:
        return max(0, int(environ.get(BUSY_TIMEOUT_ENV_VAR, "")))
    except ValueError:
        return HOOK_BUSY_TIMEOUT_MS


def main(
    argv: list[str] | None = None,
    *,
    project_root: Path,
    adws_dir: str = "adws",
    logs_dir: str = "logs",
    configured_database: str = "",
    stdin: TextIO | None = None,
    environ: Environ | None = None,
) -> int:
    """`orchestrator_hook.py` (the Python half): record stdin, or `--drain DIR` in the
    background. Never raises, never prints; always returns 0."""
    env = os.environ if environ is None else environ
    args = sys.argv[1:] if argv is None else argv
    spool = Spool.locate(project_root, logs_dir, env)
    raw = ""
    try:
        target = resolve_target(
            env.get(DATABASE_ENV_VAR, "") or configured_database, project_root, adws_dir
        )
        recorder = Recorder(target, spool, _busy_timeout(env))
        try:
            if args[:1] == ["--drain"] and len(args) == 2:
                with contextlib.suppress(OSError):
                    os.setsid()  # outlive the hook's process group; the agent never waits
                import signal  # the shell half ignores SIGTERM; out of its group, obey it again

                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                drain(Path(args[1]), recorder)
            else:
                raw = (stdin or sys.stdin).read()
                record_stdin(raw, env.get(AGENT_ENV_VAR, ""), recorder)
        finally:
            recorder.close()
    except BaseException as exc:  # a hook must never break the agent
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            return 0
        with contextlib.suppress(Exception):  # the last resort must not fail either
            entry = Entry(None, raw, error=f"{type(exc).__name__}: {exc}")
            append_fallback(spool.fallback, [rejected_line(entry)])
    return 0
