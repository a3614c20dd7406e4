"""Pydantic models of the orchestrator database (adws/schema/schema_orchestrator.sql).

Shipped unchanged into every generated project as adws/adw_modules/orch_database_models.py
and used by the tac-bootstrap CLI itself: one implementation, two homes. The enums list
exactly the values of the schema's CHECK constraints (a test compares them), so every row
read back validates. Timestamps are timezone-aware UTC datetimes in Python and ISO 8601 text
with milliseconds (2026-11-26T10:24:19.123Z) in the database; JSON columns are dicts or lists
in Python and JSON text in the database.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from enum import Enum
from typing import Annotated, Any, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
)


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


Timestamp = Annotated[
    datetime,
    BeforeValidator(parse_timestamp),
    PlainSerializer(format_timestamp, return_type=str),
]


def _json_object(value: Any) -> Any:
    if isinstance(value, (str, bytes)):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError(f"malformed JSON ({exc.msg} at position {exc.pos})") from None
    return value


JsonObject = Annotated[dict[str, Any], BeforeValidator(_json_object)]
JsonArray = Annotated[list[Any], BeforeValidator(_json_object)]
NonNegativeInt = Annotated[int, Field(ge=0)]
NonNegativeFloat = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Text = Annotated[str, Field(min_length=1)]


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


# -- rows ---------------------------------------------------------------------------------


class _Row(BaseModel):
    # defer_build: schemas are built on first use, so a hook that only writes a log line does
    # not pay for all twelve models at start-up.
    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False, defer_build=True)


class OrchestratorAgent(_Row):
    """An agent type definition (planner, builder, ...)."""

    id: str
    name: Text
    agent_type: AgentType
    description: str = ""
    system_prompt: str | None = None
    default_model: str | None = None
    capabilities: JsonArray = Field(default_factory=list)
    config: JsonObject = Field(default_factory=dict)
    created_at: Timestamp
    updated_at: Timestamp


class Agent(_Row):
    """One runtime agent instance: a workflow phase run, with its accumulated usage."""

    id: str
    orchestrator_agent_id: str
    session_id: Text
    adw_id: str | None = None
    name: str = ""
    status: AgentStatus
    model: str | None = None
    working_dir: str | None = None
    context: JsonObject = Field(default_factory=dict)
    input_tokens: NonNegativeInt = 0
    output_tokens: NonNegativeInt = 0
    total_cost_usd: NonNegativeFloat = 0.0
    error_message: str | None = None
    created_at: Timestamp
    started_at: Timestamp | None = None
    completed_at: Timestamp | None = None
    cache_creation_tokens: NonNegativeInt = 0
    cache_read_tokens: NonNegativeInt = 0


class Prompt(_Row):
    id: str
    agent_id: str
    prompt_text: str
    response_text: str | None = None
    model: str | None = None
    status: PromptStatus
    input_tokens: NonNegativeInt = 0
    output_tokens: NonNegativeInt = 0
    cost_usd: NonNegativeFloat = 0.0
    latency_ms: NonNegativeInt | None = None
    error_message: str | None = None
    created_at: Timestamp
    completed_at: Timestamp | None = None
    cache_creation_tokens: NonNegativeInt = 0
    cache_read_tokens: NonNegativeInt = 0
    cli_session_id: str | None = None
    failure_kind: FailureKind | None = None
    cli_retries: NonNegativeInt = 0
    permission_denials: JsonArray = Field(default_factory=list)


class ModelUsage(_Row):
    """One model's share of a prompt (prompt_model_usage), or of a transcript message."""

    model: Text
    input_tokens: NonNegativeInt = 0
    output_tokens: NonNegativeInt = 0
    cache_creation_tokens: NonNegativeInt = 0
    cache_read_tokens: NonNegativeInt = 0
    cost_usd: NonNegativeFloat = 0.0


class AgentLog(_Row):
    id: str
    agent_id: str
    log_type: LogType
    log_level: LogLevel = LogLevel.INFO
    message: str
    details: JsonObject = Field(default_factory=dict)
    created_at: Timestamp
    tool_use_id: str | None = None


class SystemLog(_Row):
    id: str
    log_level: LogLevel = LogLevel.INFO
    component: str = "system"
    message: str
    details: JsonObject = Field(default_factory=dict)
    created_at: Timestamp


# -- inputs (validated before any write) ----------------------------------------------------


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class AgentLogEntry(_Input):
    agent_id: Text
    log_type: LogType
    message: str
    log_level: LogLevel = LogLevel.INFO
    details: JsonObject = Field(default_factory=dict)
    tool_use_id: str | None = None


class SystemLogEntry(_Input):
    message: str
    log_level: LogLevel = LogLevel.INFO
    component: Text = "system"
    details: JsonObject = Field(default_factory=dict)


class PromptResult(_Input):
    """What an agent CLI reports when a prompt finishes (successfully or not)."""

    response_text: str | None = None
    model: str | None = None
    input_tokens: NonNegativeInt = 0
    output_tokens: NonNegativeInt = 0
    cache_creation_tokens: NonNegativeInt = 0
    cache_read_tokens: NonNegativeInt = 0
    cost_usd: NonNegativeFloat = 0.0
    latency_ms: NonNegativeInt | None = None
    error_message: str | None = None
    cli_session_id: str | None = None
    failure_kind: FailureKind | None = None
    cli_retries: NonNegativeInt = 0
    permission_denials: list[dict[str, Any]] = Field(default_factory=list)
    # Each model's share; its sums are the prompt's totals (a check in finish_prompt).
    model_usage: list[ModelUsage] = Field(default_factory=list)


# -- read models --------------------------------------------------------------------------


class RollupRow(_Row):
    """Cost and tokens of one group (a session, agent, model or day)."""

    key: str
    prompts: NonNegativeInt
    input_tokens: NonNegativeInt
    output_tokens: NonNegativeInt
    cost_usd: NonNegativeFloat
    cache_creation_tokens: NonNegativeInt = 0
    cache_read_tokens: NonNegativeInt = 0
    # Transcript messages of sessions no workflow prompt ran (interactive sessions), and how
    # many of them are of a model without a price (their cost is 0).
    messages: NonNegativeInt = 0
    unpriced_messages: NonNegativeInt = 0


class LogRecord(_Row):
    """An agent or system log line, as `db logs` shows them together."""

    source: str  # "agent" or "system"
    id: str
    agent_id: str | None = None
    log_type: str | None = None
    log_level: LogLevel
    component: str | None = None
    message: str
    details: JsonObject = Field(default_factory=dict)
    created_at: Timestamp


def invalid_input(exc: ValidationError, what: str) -> InvalidInput:
    """One clear line from a Pydantic error: which field, what is wrong, what was given."""
    first = exc.errors(include_url=False)[0]
    field = ".".join(str(part) for part in first["loc"]) or what
    message = str(first["msg"]).removeprefix("Value error, ")
    given = first.get("input")
    shown = "" if isinstance(given, dict) else f" (got {given!r})"
    return InvalidInput(f"invalid {what}: {field}: {message}{shown}")


_InputT = TypeVar("_InputT", bound=BaseModel)


def validated(model: type[_InputT], what: str, /, **values: Any) -> _InputT:
    # Positional-only: a field may be called `model` (PromptResult.model) or `what`.
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise invalid_input(exc, what) from None
