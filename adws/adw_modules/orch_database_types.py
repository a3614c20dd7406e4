"""The orchestrator database's vocabulary that needs no pydantic: errors, enums, timestamps, JSON.

Split from orch_database_models.py so that opening a database, its status and its migrations
import only the standard library (a `db status` or a hook pays no pydantic); the row models
there re-export every name here, so `from adw_modules.orch_database_models import InvalidInput`
keeps working. The enums list exactly the CHECK lists of the schema and of migration 005 (a
test compares them).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from enum import Enum
from typing import Any


class OrchestratorError(Exception):
    """Base class of every error the runtime raises on purpose."""


class InvalidInput(OrchestratorError, ValueError):
    """Input that the schema would reject; raised before anything is written."""


class NotFound(OrchestratorError, LookupError):
    """A referenced row (agent, prompt, orchestrator agent) does not exist."""


class RunExists(OrchestratorError):
    """create_run refused: the adw_id is taken, or the issue already has an active run
    (queued, running or paused) on some machine; `existing` is that run's adw_id."""

    def __init__(self, message: str, existing: str | None = None) -> None:
        super().__init__(message)
        self.existing = existing


class NoFreePort(OrchestratorError):
    """assign_port found every port slot held by an active (running or paused) run."""


# -- timestamps ---------------------------------------------------------------------------


def format_timestamp(moment: datetime) -> str:
    """The one timestamp format of the database, equal to strftime('%Y-%m-%dT%H:%M:%fZ')."""
    if moment.tzinfo is None:
        raise InvalidInput(f"timestamp {moment.isoformat()} has no time zone; use UTC")
    utc = moment.astimezone(timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def utc_now() -> str:
    return format_timestamp(datetime.now(timezone.utc))


def parse_timestamp(value: Any) -> Any:
    if isinstance(value, str):
        text = value[:-1] + "+00:00" if value.endswith("Z") else value
        parsed = datetime.fromisoformat(text)
        if parsed.tzinfo is None:
            raise ValueError(f"timestamp {value!r} has no time zone")
        return parsed.astimezone(timezone.utc)
    if isinstance(value, datetime) and value.tzinfo is None:
        raise ValueError(f"timestamp {value.isoformat()} has no time zone; use UTC")
    return value


# Built once: json.dumps with non-default options builds a new encoder on every call.
_JSON_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=str)


def to_json(value: Any) -> str:
    return _JSON_ENCODER.encode(value)


# -- enums: exactly the schema's CHECK lists ------------------------------------------------


class AgentType(str, Enum):
    PLANNER = "planner"
    BUILDER = "builder"
    TESTER = "tester"
    REVIEWER = "reviewer"
    DOCUMENTER = "documenter"
    ORCHESTRATOR = "orchestrator"
    CUSTOM = "custom"


class AgentStatus(str, Enum):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


TERMINAL_AGENT_STATUSES = frozenset(
    {AgentStatus.COMPLETED, AgentStatus.FAILED, AgentStatus.CANCELLED}
)

# Which status may follow which; terminal statuses are final.
AGENT_TRANSITIONS: dict[AgentStatus, frozenset[AgentStatus]] = {
    AgentStatus.PENDING: frozenset(
        {AgentStatus.RUNNING, AgentStatus.FAILED, AgentStatus.CANCELLED}
    ),
    AgentStatus.RUNNING: frozenset(
        {AgentStatus.COMPLETED, AgentStatus.FAILED, AgentStatus.CANCELLED}
    ),
    AgentStatus.COMPLETED: frozenset(),
    AgentStatus.FAILED: frozenset(),
    AgentStatus.CANCELLED: frozenset(),
}


class PromptStatus(str, Enum):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


class FailureKind(str, Enum):
    """Why a prompt failed, decided from the agent CLI's structured result (agent.py)."""

    RATE_LIMIT = "rate_limit"
    OVERLOADED = "overloaded"
    SERVER_ERROR = "server_error"
    CONNECTION = "connection"
    QUOTA = "quota"
    AUTH = "auth"
    INVALID_REQUEST = "invalid_request"
    PERMISSION_DENIED = "permission_denied"
    MAX_TURNS = "max_turns"
    BUDGET = "budget"
    TIMEOUT = "timeout"
    CRASH = "crash"
    FATAL = "fatal"


class LogType(str, Enum):
    LIFECYCLE = "lifecycle"
    STATE_CHANGE = "state_change"
    PROMPT = "prompt"
    RESPONSE = "response"
    TOOL_CALL = "tool_call"
    TOOL_RESULT = "tool_result"
    HOOK = "hook"
    ERROR = "error"


class LogLevel(str, Enum):
    DEBUG = "DEBUG"
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"
    CRITICAL = "CRITICAL"


# -- workflow runs (migration 005) ----------------------------------------------------------


class RunStatus(str, Enum):
    QUEUED = "queued"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


# A run in one of these holds its issue (one active run per issue); running and paused runs
# also hold their port slot. The others are final: finish_run writes them.
ACTIVE_RUN_STATUSES = frozenset({RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.PAUSED})
TERMINAL_RUN_STATUSES = frozenset({RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELLED})


class IssueSource(str, Enum):
    TEXT = "text"  # the issue is the text given on the command line
    GITHUB = "github"  # issue_ref: the issue number, as text
    LOCAL = "local"  # issue_ref: the Markdown file's path relative to the project


class IssueType(str, Enum):
    FEATURE = "feature"
    BUG = "bug"
    CHORE = "chore"
