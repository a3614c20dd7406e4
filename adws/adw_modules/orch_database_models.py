"""Pydantic models of the orchestrator database (adws/schema/schema_orchestrator.sql).

Shipped unchanged into every generated project as adws/adw_modules/orch_database_models.py
and used by the tac-bootstrap CLI itself: one implementation, two homes. The errors, enums and
timestamp helpers live in orch_database_types.py (no pydantic: opening a database does not
load this module; the operations import it when they build a row) and are re-exported here.
The enums list exactly the values of the schema's CHECK constraints (a test compares them), so
every row read back validates. Timestamps are timezone-aware UTC datetimes in Python and ISO
8601 text with milliseconds (2026-11-26T10:24:19.123Z) in the database; JSON columns are dicts
or lists in Python and JSON text in the database.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
)

# Re-exported: code written against this module before the split imports them from here.
from .orch_database_types import AGENT_TRANSITIONS as AGENT_TRANSITIONS
from .orch_database_types import TERMINAL_AGENT_STATUSES as TERMINAL_AGENT_STATUSES
from .orch_database_types import AgentStatus as AgentStatus
from .orch_database_types import AgentType as AgentType
from .orch_database_types import FailureKind as FailureKind
from .orch_database_types import InvalidInput as InvalidInput
from .orch_database_types import LogLevel as LogLevel
from .orch_database_types import LogType as LogType
from .orch_database_types import NoFreePort as NoFreePort
from .orch_database_types import NotFound as NotFound
from .orch_database_types import OrchestratorError as OrchestratorError
from .orch_database_types import PromptStatus as PromptStatus
from .orch_database_types import RunExists as RunExists
from .orch_database_types import format_timestamp as format_timestamp
from .orch_database_types import parse_timestamp as parse_timestamp
from .orch_database_types import to_json as to_json
from .orch_database_types import utc_now as utc_now

# -- value types --------------------------------------------------------------------------


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
