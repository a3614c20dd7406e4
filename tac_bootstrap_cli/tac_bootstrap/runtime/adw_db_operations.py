"""Every orchestrator database operation, written once for both the sync and async APIs.

An operation is a generator: it validates its input, then yields SQL steps and receives their
results; a driver (sqlite3 or aiosqlite, see adw_database.py) executes the steps inside one
transaction and throws database errors back into the generator, integrity errors as
IntegrityViolation. Validation happens before the first step, so invalid input never reaches
the database.

The SQL is backend-neutral: plain `?` placeholders (a value used twice is passed twice), rows
read by column name, and `{seq}`, `{day}`, `{for_update}` macros that the driver's Dialect
(adw_db_dialect.py) replaces. Ids are UUIDs (a UUID column on PostgreSQL, where comparing it
with 'planner' is an error that aborts the transaction), so a key that is not a UUID is
answered in Python, without SQL: NotFound, or an empty list for a filter.
"""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from collections.abc import Generator, Iterable, Mapping
from datetime import datetime, timedelta, timezone
from functools import cache
from typing import Any, Literal, TypeVar

from pydantic import ValidationError

from .adw_db_dialect import IntegrityViolation
from .orch_database_models import (
    AGENT_TRANSITIONS,
    TERMINAL_AGENT_STATUSES,
    Agent,
    AgentLogEntry,
    AgentStatus,
    AgentType,
    InvalidInput,
    LogLevel,
    LogRecord,
    LogType,
    ModelUsage,
    NotFound,
    OrchestratorAgent,
    Prompt,
    PromptResult,
    PromptStatus,
    RollupRow,
    SystemLogEntry,
    format_timestamp,
    invalid_input,
    to_json,
    utc_now,
    validated,
)
from .transcripts import COUNTED_USAGE

T = TypeVar("T")
Mode = Literal["exec", "many", "one", "all"]
Step = tuple[Mode, str, Any]
Op = Generator[Step, Any, T]

RollupBy = Literal["session", "agent", "model", "day"]
ROLLUP_KEYS: dict[str, str] = {
    "session": "a.session_id",
    "agent": "a.id",
    "model": "coalesce(p.model, 'unknown')",
    "day": "{day}",
}
LEVEL_ORDER = [level.value for level in LogLevel]
TABLES = (
    "orchestrator_agents", "agents", "prompts", "agent_logs", "system_logs",
    "prompt_model_usage", "session_usage",
)  # fmt: skip
# Every table's columns in schema order (export, iter_rows); an engine's own bookkeeping
# columns (an insertion sequence) are not part of them.
COLUMNS: dict[str, tuple[str, ...]] = {
    "orchestrator_agents": (
        "id", "name", "agent_type", "description", "system_prompt", "default_model",
        "capabilities", "config", "created_at", "updated_at",
    ),
    "agents": (
        "id", "orchestrator_agent_id", "session_id", "adw_id", "name", "status", "model",
        "working_dir", "context", "input_tokens", "output_tokens", "total_cost_usd",
        "error_message", "created_at", "started_at", "completed_at", "cache_creation_tokens",
        "cache_read_tokens",
    ),
    "prompts": (
        "id", "agent_id", "prompt_text", "response_text", "model", "status", "input_tokens",
        "output_tokens", "cost_usd", "latency_ms", "error_message", "created_at", "completed_at",
        "cache_creation_tokens", "cache_read_tokens", "cli_session_id", "failure_kind",
        "cli_retries", "permission_denials",
    ),
    "agent_logs": (
        "id", "agent_id", "log_type", "log_level", "message", "details", "created_at",
        "tool_use_id",
    ),
    "system_logs": ("id", "log_level", "component", "message", "details", "created_at"),
    "prompt_model_usage": (
        "id", "prompt_id", "model", "input_tokens", "output_tokens", "cache_creation_tokens",
        "cache_read_tokens", "cost_usd", "created_at",
    ),
    "session_usage": (
        "id", "session_id", "agent_id", "subagent_id", "message_id", "request_id", "model",
        "input_tokens", "output_tokens", "cache_creation_tokens", "cache_read_tokens",
        "cost_usd", "message_at", "created_at",
    ),
}  # fmt: skip


# Columns holding JSON text (objects or arrays), in every table that has them.
JSON_COLUMNS = frozenset({"capabilities", "config", "context", "details", "permission_denials"})
TOKEN_KINDS = ("input_tokens", "output_tokens", "cache_creation_tokens", "cache_read_tokens")


@cache
def _batch_validator(entry: type[T]) -> Any:
    """A list validator for batch inputs, built on first use (TypeAdapter is slow to import)."""
    from pydantic import TypeAdapter

    return TypeAdapter(list[entry])  # type: ignore[valid-type]


def new_id() -> str:
    """A UUID version 7: time-ordered, so inserts append to the primary-key index instead of
    landing at random pages (random uuid4 keys halve insert speed as tables grow)."""
    millis = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (
        (millis & 0xFFFF_FFFF_FFFF) << 80
        | 0x7 << 76
        | (rand >> 62 & 0xFFF) << 64
        | 0b10 << 62
        | (rand & 0x3FFF_FFFF_FFFF_FFFF)
    )
    text = f"{value:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def uuid_key(value: object) -> str | None:
    """The canonical (lower-case, hyphenated) text of a UUID, or None if `value` is not one."""
    if not isinstance(value, str):
        return None
    if _CANONICAL_UUID.fullmatch(value):
        return value  # the ids this API hands out: no parsing on the hot path
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


def _existing_key(value: object, what: str) -> str:
    """A UUID key for a row that must exist; anything else cannot name one."""
    key = uuid_key(value)
    if key is None:
        raise NotFound(f"{what} {value!r} does not exist")
    return key


def _by_id_or_name(value: str) -> tuple[str, tuple[str, ...]]:
    key = uuid_key(value)
    if key is None:
        return "name = ?", (value,)
    return "(id = ? OR name = ?)", (key, value)


def _row(model: type[T], row: Mapping[str, Any] | None, what: str, key: str) -> T:
    if row is None:
        raise NotFound(f"{what} {key!r} does not exist")
    return model.model_validate(dict(row))  # type: ignore[attr-defined, no-any-return]


def _text(value: str, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"invalid {field}: must be a non-empty string (got {value!r})")
    return value


def _enum(enum: type[Any], value: Any, field: str) -> Any:
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(member.value for member in enum)
        raise InvalidInput(f"invalid {field}: {value!r} is not one of {allowed}") from None


def _json(value: Any, field: str, kind: type) -> str:
    """Validate a JSON column value (dict/list, or JSON text of one) and return its text."""
    if value is None:
        value = kind()
    if isinstance(value, (str, bytes)):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise InvalidInput(f"invalid {field}: malformed JSON ({exc})") from None
    if not isinstance(value, kind):
        raise InvalidInput(f"invalid {field}: must be a JSON {kind.__name__} (got {value!r})")
    try:
        return to_json(value)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"invalid {field}: not serialisable as JSON ({exc})") from None


def _foreign_key(exc: IntegrityViolation, message: str) -> Exception:
    if exc.kind == "foreign_key":
        return NotFound(message)
    return InvalidInput(f"rejected by the database: {exc}")


# -- orchestrator agents ------------------------------------------------------------------


def register_orchestrator_agent(
    name: str,
    agent_type: AgentType | str,
    *,
    description: str = "",
    system_prompt: str | None = None,
    default_model: str | None = None,
    capabilities: list[Any] | str | None = None,
    config: dict[str, Any] | str | None = None,
) -> Op[OrchestratorAgent]:
    """Insert or update (by unique name) an agent type definition."""
    now = utc_now()
    params = (
        new_id(),
        _text(name, "orchestrator agent name"),
        _enum(AgentType, agent_type, "agent_type").value,
        description,
        system_prompt,
        default_model,
        _json(capabilities, "capabilities", list),
        _json(config, "config", dict),
        now,
        now,
    )
    yield (
        "exec",
        "INSERT INTO orchestrator_agents (id, name, agent_type, description, system_prompt, "
        "default_model, capabilities, config, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (name) DO UPDATE SET agent_type = excluded.agent_type, "
        "description = excluded.description, system_prompt = excluded.system_prompt, "
        "default_model = excluded.default_model, capabilities = excluded.capabilities, "
        "config = excluded.config",
        params,
    )
    row = yield ("one", "SELECT * FROM orchestrator_agents WHERE name = ?", (name,))
    return _row(OrchestratorAgent, row, "orchestrator agent", name)


def get_orchestrator_agent(id_or_name: str) -> Op[OrchestratorAgent]:
    where, params = _by_id_or_name(id_or_name)
    row = yield ("one", f"SELECT * FROM orchestrator_agents WHERE {where}", params)
    return _row(OrchestratorAgent, row, "orchestrator agent", id_or_name)


def list_orchestrator_agents() -> Op[list[OrchestratorAgent]]:
    rows = yield ("all", "SELECT * FROM orchestrator_agents ORDER BY name", ())
    return [OrchestratorAgent.model_validate(dict(r)) for r in rows]


# -- agents -------------------------------------------------------------------------------


def start_agent(
    orchestrator_agent_id: str,
    session_id: str,
    *,
    adw_id: str | None = None,
    name: str = "",
    model: str | None = None,
    working_dir: str | None = None,
    context: dict[str, Any] | str | None = None,
) -> Op[Agent]:
    """Create a running agent instance of an orchestrator agent (by id or name)."""
    _text(orchestrator_agent_id, "orchestrator_agent_id")
    _text(session_id, "session_id")
    context_json = _json(context, "context", dict)
    now = utc_now()
    agent_id = new_id()
    where, params = _by_id_or_name(orchestrator_agent_id)
    owner = yield ("one", f"SELECT id FROM orchestrator_agents WHERE {where}", params)
    missing = f"orchestrator agent {orchestrator_agent_id!r} does not exist"
    if owner is None:
        raise NotFound(missing)
    try:
        yield (
            "exec",
            "INSERT INTO agents (id, orchestrator_agent_id, session_id, adw_id, name, status, "
            "model, working_dir, context, created_at, started_at) "
            "VALUES (?, ?, ?, ?, ?, 'running', ?, ?, ?, ?, ?)",
            (
                agent_id,
                owner["id"],
                session_id,
                adw_id,
                name,
                model,
                working_dir,
                context_json,
                now,
                now,
            ),
        )
    except IntegrityViolation as exc:  # the owner can vanish between the SELECT and here
        raise _foreign_key(exc, missing) from None
    return (yield from get_agent(agent_id))


def get_agent(agent_id: str) -> Op[Agent]:
    key = _existing_key(agent_id, "agent")
    row = yield ("one", "SELECT * FROM agents WHERE id = ?", (key,))
    return _row(Agent, row, "agent", agent_id)


def _agent_for_update(agent_id: str) -> Op[Agent]:
    """get_agent inside a write: the row stays locked until the transaction ends."""
    key = _existing_key(agent_id, "agent")
    row = yield ("one", "SELECT * FROM agents WHERE id = ? {for_update}", (key,))
    return _row(Agent, row, "agent", agent_id)


def list_agents(
    *,
    session_id: str | None = None,
    adw_id: str | None = None,
    status: AgentStatus | str | None = None,
    limit: int = 100,
) -> Op[list[Agent]]:
    clauses, params = [], []
    if session_id is not None:
        clauses.append("session_id = ?")
        params.append(session_id)
    if adw_id is not None:
        clauses.append("adw_id = ?")
        params.append(adw_id)
    if status is not None:
        clauses.append("status = ?")
        params.append(_enum(AgentStatus, status, "status").value)
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    rows = yield (
        "all",
        f"SELECT * FROM agents {where} ORDER BY created_at DESC, id LIMIT ?",
        (*params, _limit(limit)),
    )
    return [Agent.model_validate(dict(r)) for r in rows]


def set_agent_status(
    agent_id: str, status: AgentStatus | str, *, error_message: str | None = None
) -> Op[Agent]:
    """Move an agent along its lifecycle; a terminal status sets completed_at. Cost is kept."""
    new = _enum(AgentStatus, status, "status")
    current = yield from _agent_for_update(agent_id)
    if new is current.status:
        return current
    if new not in AGENT_TRANSITIONS[current.status]:
        raise InvalidInput(
            f"agent {agent_id!r} cannot go from {current.status.value} to {new.value}"
        )
    now = utc_now()
    yield (
        "exec",
        "UPDATE agents SET status = ?, error_message = coalesce(?, error_message), "
        "started_at = CASE WHEN ? = 'running' THEN coalesce(started_at, ?) ELSE started_at END, "
        "completed_at = CASE WHEN ? THEN ? ELSE completed_at END WHERE id = ?",
        (
            new.value,
            error_message,
            new.value,
            now,
            new in TERMINAL_AGENT_STATUSES,
            now,
            current.id,
        ),
    )
    return (yield from get_agent(current.id))


def set_agent_model(agent_id: str, model: str) -> Op[Agent]:
    """The model an agent actually ran on (it follows a fallback model)."""
    name = _text(model, "model")
    key = _existing_key(agent_id, "agent")
    count = yield ("exec", "UPDATE agents SET model = ? WHERE id = ?", (name, key))
    if count == 0:
        raise NotFound(f"agent {agent_id!r} does not exist")
    return (yield from get_agent(key))


_ADD_AGENT_USAGE = (
    "UPDATE agents SET total_cost_usd = total_cost_usd + ?, input_tokens = input_tokens + ?, "
    "output_tokens = output_tokens + ?, cache_creation_tokens = cache_creation_tokens + ?, "
    "cache_read_tokens = cache_read_tokens + ? WHERE id = ?"
)


def _usage_params(usage: PromptResult, key: str) -> tuple[Any, ...]:
    return (usage.cost_usd, *(getattr(usage, kind) for kind in TOKEN_KINDS), key)


def add_agent_usage(
    agent_id: str,
    *,
    cost_usd: float = 0.0,
    input_tokens: int = 0,
    output_tokens: int = 0,
    cache_creation_tokens: int = 0,
    cache_read_tokens: int = 0,
) -> Op[Agent]:
    """Add cost and tokens to an agent; they accumulate and are never reset."""
    usage = validated(
        PromptResult,
        "usage",
        cost_usd=cost_usd,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cache_creation_tokens=cache_creation_tokens,
        cache_read_tokens=cache_read_tokens,
    )
    key = _existing_key(agent_id, "agent")
    count = yield ("exec", _ADD_AGENT_USAGE, _usage_params(usage, key))
    if count == 0:
        raise NotFound(f"agent {agent_id!r} does not exist")
    return (yield from get_agent(key))


# -- prompts ------------------------------------------------------------------------------


def start_prompt(agent_id: str, prompt_text: str, *, model: str | None = None) -> Op[Prompt]:
    if not isinstance(prompt_text, str):
        raise InvalidInput(f"invalid prompt_text: must be a string (got {prompt_text!r})")
    key = _existing_key(agent_id, "agent")
    prompt_id = new_id()
    try:
        yield (
            "exec",
            "INSERT INTO prompts (id, agent_id, prompt_text, model, status, created_at) "
            "VALUES (?, ?, ?, ?, 'running', ?)",
            (prompt_id, key, prompt_text, model, utc_now()),
        )
    except IntegrityViolation as exc:
        raise _foreign_key(exc, f"agent {agent_id!r} does not exist") from None
    return (yield from get_prompt(prompt_id))


def get_prompt(prompt_id: str) -> Op[Prompt]:
    key = _existing_key(prompt_id, "prompt")
    row = yield ("one", "SELECT * FROM prompts WHERE id = ?", (key,))
    return _row(Prompt, row, "prompt", prompt_id)


def _prompt_for_update(prompt_id: str) -> Op[Prompt]:
    """get_prompt inside a write: the row stays locked until the transaction ends."""
    key = _existing_key(prompt_id, "prompt")
    row = yield ("one", "SELECT * FROM prompts WHERE id = ? {for_update}", (key,))
    return _row(Prompt, row, "prompt", prompt_id)


def list_prompts(
    *, agent_id: str | None = None, session_id: str | None = None, limit: int = 100
) -> Op[list[Prompt]]:
    clauses, params = [], []
    if agent_id is not None:
        key = uuid_key(agent_id)
        if key is None:
            return []  # no agent has that id
        clauses.append("p.agent_id = ?")
        params.append(key)
    if session_id is not None:
        clauses.append("a.session_id = ?")
        params.append(session_id)
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    rows = yield (
        "all",
        f"SELECT p.* FROM prompts p JOIN agents a ON a.id = p.agent_id {where} "
        "ORDER BY p.created_at DESC, p.id LIMIT ?",
        (*params, _limit(limit)),
    )
    return [Prompt.model_validate(dict(r)) for r in rows]


def finish_prompt(prompt_id: str, status: PromptStatus, result: PromptResult) -> Op[Prompt]:
    """Record a prompt's outcome and add its usage to its agent, in one transaction."""
    several_models = len({u.model for u in result.model_usage}) > 1
    if several_models:  # the shares must add up to the prompt's totals: rollups rely on it
        for kind in TOKEN_KINDS:
            shared = sum(getattr(u, kind) for u in result.model_usage)
            if shared != getattr(result, kind):
                raise InvalidInput(
                    f"invalid model_usage: its {kind} add up to {shared}, "
                    f"not the prompt's {getattr(result, kind)}"
                )
    prompt = yield from _prompt_for_update(prompt_id)
    if prompt.status in (PromptStatus.COMPLETED, PromptStatus.FAILED):
        raise InvalidInput(f"prompt {prompt_id!r} is already {prompt.status.value}")
    now = utc_now()
    yield (
        "exec",
        "UPDATE prompts SET status = ?, response_text = ?, model = coalesce(?, model), "
        "input_tokens = ?, output_tokens = ?, cache_creation_tokens = ?, cache_read_tokens = ?, "
        "cost_usd = ?, latency_ms = ?, error_message = ?, cli_session_id = ?, "
        "failure_kind = ?, cli_retries = ?, permission_denials = ?, completed_at = ? "
        "WHERE id = ?",
        (
            status.value,
            result.response_text,
            result.model,
            *(getattr(result, kind) for kind in TOKEN_KINDS),
            result.cost_usd,
            result.latency_ms,
            result.error_message,
            result.cli_session_id,
            result.failure_kind.value if result.failure_kind else None,
            result.cli_retries,
            to_json(result.permission_denials),
            now,
            prompt.id,
        ),
    )
    # Shares are stored only for a prompt that used several models (a subagent's, a
    # fallback): a single model's share is the prompt itself, and the rollups stay on the
    # prompts' covering index.
    if several_models:
        yield (
            "many",
            "INSERT INTO prompt_model_usage (id, prompt_id, model, input_tokens, output_tokens, "
            "cache_creation_tokens, cache_read_tokens, cost_usd, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (new_id(), prompt.id, u.model, *(getattr(u, k) for k in TOKEN_KINDS),
                 u.cost_usd, now)
                for u in result.model_usage
            ],
        )  # fmt: skip
    yield ("exec", _ADD_AGENT_USAGE, _usage_params(result, prompt.agent_id))
    return (yield from get_prompt(prompt.id))


def prompt_model_usage(prompt_id: str) -> Op[list[ModelUsage]]:
    """Each model's share of one prompt, largest cost first (a prompt that used one model:
    the prompt's own usage; none if it never reported a model)."""
    key = _existing_key(prompt_id, "prompt")
    rows = yield (
        "all",
        "SELECT model, input_tokens, output_tokens, cache_creation_tokens, cache_read_tokens, "
        "cost_usd FROM prompt_model_usage WHERE prompt_id = ? ORDER BY cost_usd DESC, model",
        (key,),
    )
    if rows:
        return [ModelUsage.model_validate(dict(r)) for r in rows]
    prompt = yield from get_prompt(key)
    if not prompt.model:
        return []
    kinds = {kind: getattr(prompt, kind) for kind in TOKEN_KINDS}
    return [ModelUsage(model=prompt.model, cost_usd=prompt.cost_usd, **kinds)]


def complete_prompt(
    prompt_id: str,
    *,
    response_text: str | None = None,
    model: str | None = None,
    input_tokens: int = 0,
    output_tokens: int = 0,
    cost_usd: float = 0.0,
    latency_ms: int | None = None,
    cache_creation_tokens: int = 0,
    cache_read_tokens: int = 0,
    cli_session_id: str | None = None,
    cli_retries: int = 0,
    permission_denials: Iterable[Mapping[str, Any]] = (),
    model_usage: Iterable[Mapping[str, Any] | ModelUsage] = (),
) -> Op[Prompt]:
    """Mark a prompt completed with its usage; the agent's totals grow by the same amounts.
    model_usage is each model's share (subagents, a fallback), as the CLI's modelUsage."""
    outcome = validated(
        PromptResult,
        "prompt result",
        response_text=response_text,
        model=model,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cost_usd=cost_usd,
        latency_ms=latency_ms,
        cache_creation_tokens=cache_creation_tokens,
        cache_read_tokens=cache_read_tokens,
        cli_session_id=cli_session_id,
        cli_retries=cli_retries,
        permission_denials=list(permission_denials),
        model_usage=list(model_usage),
    )
    return (yield from finish_prompt(prompt_id, PromptStatus.COMPLETED, outcome))


def fail_prompt(
    prompt_id: str,
    error_message: str,
    *,
    response_text: str | None = None,
    model: str | None = None,
    input_tokens: int = 0,
    output_tokens: int = 0,
    cost_usd: float = 0.0,
    latency_ms: int | None = None,
    cache_creation_tokens: int = 0,
    cache_read_tokens: int = 0,
    cli_session_id: str | None = None,
    cli_retries: int = 0,
    permission_denials: Iterable[Mapping[str, Any]] = (),
    model_usage: Iterable[Mapping[str, Any] | ModelUsage] = (),
    failure_kind: str | None = None,
) -> Op[Prompt]:
    """Mark a prompt failed; usage spent before the failure still counts."""
    outcome = validated(
        PromptResult,
        "prompt result",
        error_message=error_message,
        response_text=response_text,
        model=model,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cost_usd=cost_usd,
        latency_ms=latency_ms,
        cache_creation_tokens=cache_creation_tokens,
        cache_read_tokens=cache_read_tokens,
        cli_session_id=cli_session_id,
        cli_retries=cli_retries,
        permission_denials=list(permission_denials),
        model_usage=list(model_usage),
        failure_kind=failure_kind,
    )
    return (yield from finish_prompt(prompt_id, PromptStatus.FAILED, outcome))


# -- logs ---------------------------------------------------------------------------------

_AGENT_LOG_INSERT = (
    "INSERT INTO agent_logs (id, agent_id, log_type, log_level, message, details, created_at, "
    "tool_use_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_SYSTEM_LOG_INSERT = (
    "INSERT INTO system_logs (id, log_level, component, message, details, created_at) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)


def log_agent(
    agent_id: str,
    log_type: LogType | str,
    message: str,
    *,
    level: LogLevel | str = LogLevel.INFO,
    details: dict[str, Any] | str | None = None,
    tool_use_id: str | None = None,
) -> Op[str]:
    """One agent log line; tool_use_id pairs a tool call with its result or failure."""
    entry = validated(
        AgentLogEntry,
        "agent log",
        agent_id=agent_id,
        log_type=log_type,
        message=message,
        log_level=level,
        details={} if details is None else details,
        tool_use_id=tool_use_id,
    )
    key = _existing_key(agent_id, "agent")
    log_id = new_id()
    try:
        yield ("exec", _AGENT_LOG_INSERT, _agent_log_params(log_id, key, entry, utc_now()))
    except IntegrityViolation as exc:
        raise _foreign_key(exc, f"agent {agent_id!r} does not exist") from None
    return log_id


def _agent_log_params(
    log_id: str, agent_key: str, entry: AgentLogEntry, now: str
) -> tuple[Any, ...]:
    return (
        log_id,
        agent_key,
        entry.log_type.value,
        entry.log_level.value,
        entry.message,
        to_json(entry.details),
        now,
        entry.tool_use_id,
    )


def log_agent_batch(entries: Iterable[AgentLogEntry | Mapping[str, Any]]) -> Op[int]:
    """Insert many agent log lines in one transaction; one bad entry rejects the batch."""
    try:
        batch = _batch_validator(AgentLogEntry).validate_python(list(entries))
    except ValidationError as exc:
        raise invalid_input(exc, "agent log batch") from None
    if not batch:
        return 0
    keys = {given: uuid_key(given) for given in {entry.agent_id for entry in batch}}
    missing = {given for given, key in keys.items() if key is None}
    agent_ids = sorted({key for key in keys.values() if key is not None})
    if agent_ids:
        placeholders = ",".join("?" * len(agent_ids))
        known = yield ("all", f"SELECT id FROM agents WHERE id IN ({placeholders})", agent_ids)
        found = {row["id"] for row in known}
        missing |= {given for given, key in keys.items() if key is not None and key not in found}
    if missing:
        raise NotFound(f"agent(s) {', '.join(sorted(map(repr, missing)))} do not exist")
    now = utc_now()
    yield (
        "many",
        _AGENT_LOG_INSERT,
        [_agent_log_params(new_id(), keys[entry.agent_id] or "", entry, now) for entry in batch],
    )
    return len(batch)


def log_system(
    message: str,
    *,
    level: LogLevel | str = LogLevel.INFO,
    component: str = "system",
    details: dict[str, Any] | str | None = None,
) -> Op[str]:
    entry = validated(
        SystemLogEntry,
        "system log",
        message=message,
        log_level=level,
        component=component,
        details={} if details is None else details,
    )
    log_id = new_id()
    yield ("exec", _SYSTEM_LOG_INSERT, _system_log_params(log_id, entry, utc_now()))
    return log_id


def _system_log_params(log_id: str, entry: SystemLogEntry, now: str) -> tuple[Any, ...]:
    return (
        log_id,
        entry.log_level.value,
        entry.component,
        entry.message,
        to_json(entry.details),
        now,
    )


def log_system_batch(entries: Iterable[SystemLogEntry | Mapping[str, Any]]) -> Op[int]:
    try:
        batch = _batch_validator(SystemLogEntry).validate_python(list(entries))
    except ValidationError as exc:
        raise invalid_input(exc, "system log batch") from None
    now = utc_now()
    if batch:
        yield (
            "many",
            _SYSTEM_LOG_INSERT,
            [_system_log_params(new_id(), entry, now) for entry in batch],
        )
    return len(batch)


def recent_logs(
    *,
    agent_id: str | None = None,
    min_level: LogLevel | str | None = None,
    since: datetime | None = None,
    limit: int = 100,
    include_system: bool = True,
) -> Op[list[LogRecord]]:
    """Agent and system log lines, newest first; an agent filter leaves out system logs."""
    if agent_id is not None:
        agent_key = uuid_key(agent_id)
        if agent_key is None:
            return []  # no agent has that id
        agent_id = agent_key
    conditions, params = [], []
    if min_level is not None:
        level = _enum(LogLevel, min_level, "level")
        allowed = LEVEL_ORDER[LEVEL_ORDER.index(level.value) :]
        conditions.append(f"log_level IN ({','.join('?' * len(allowed))})")
        params.extend(allowed)
    if since is not None:
        conditions.append("created_at >= ?")
        params.append(format_timestamp(since))
    shared = " AND ".join(conditions)
    agent_where = " AND ".join(filter(None, [shared, "agent_id = ?" if agent_id else ""]))
    agent_sql = (
        "SELECT 'agent' AS source, id, agent_id, log_type, log_level, NULL AS component, "
        "message, details, created_at, {seq} AS seq FROM agent_logs"
        + (f" WHERE {agent_where}" if agent_where else "")
    )
    all_params: list[Any] = [*params, *([agent_id] if agent_id else [])]
    parts = [agent_sql]
    if include_system and agent_id is None:
        parts.append(
            "SELECT 'system', id, NULL, NULL, log_level, component, message, details, "
            "created_at, {seq} FROM system_logs" + (f" WHERE {shared}" if shared else "")
        )
        all_params.extend(params)
    # Within one millisecond, insertion order ({seq}) keeps the newest-first order exact.
    sql = " UNION ALL ".join(parts) + " ORDER BY created_at DESC, seq DESC LIMIT ?"
    rows = yield ("all", sql, (*all_params, _limit(limit)))
    return [_log_record(dict(row)) for row in rows]


def _log_record(values: dict[str, Any]) -> LogRecord:
    values.pop("seq")
    return LogRecord.model_validate(values)


# -- rollups, retention, status -----------------------------------------------------------


# The same groupings for transcript usage (session_usage rows, alias su).
USAGE_ROLLUP_KEYS: dict[str, str] = {
    "session": "su.session_id",
    "agent": "coalesce(CAST(su.agent_id AS TEXT), 'unknown')",
    "model": "su.model",
    "day": "{usage_day}",
}


def rollup(by: RollupBy, *, session_id: str | None = None) -> Op[list[RollupRow]]:
    """Cost and tokens grouped by session, agent, model or UTC day: workflow prompts, and
    the transcript usage of sessions no prompt ran (interactive ones, session_usage).

    A CLI session that belongs to a workflow prompt is counted once, from the prompt: its
    result line is complete where its transcript is not (COUNTED_USAGE)."""
    if by not in ROLLUP_KEYS:
        raise InvalidInput(f"invalid rollup: {by!r} is not one of {', '.join(ROLLUP_KEYS)}")
    where, params = ("WHERE a.session_id = ?", (session_id,)) if session_id else ("", ())
    key = "CAST(a.id AS TEXT)" if by == "agent" else ROLLUP_KEYS[by]
    # The prompts' covering index answers; a prompt is counted under its main model.
    sums = ", ".join(f"CAST(sum(p.{kind}) AS BIGINT) AS {kind}" for kind in TOKEN_KINDS)
    prompts = (
        f"SELECT {key} AS key, count(*) AS prompts, 0 AS messages, {sums}, "
        "sum(p.cost_usd) AS cost_usd, 0 AS unpriced_messages "
        f"FROM agents a JOIN prompts p ON p.agent_id = a.id {where} GROUP BY 1"
    )
    if by == "model":
        # A prompt that used several models has one prompt_model_usage row per model (they
        # sum to the prompt's totals): each share moves from the prompt's main model to its
        # own, so every model gets its own tokens and cost and the totals stay the prompts'.
        # Only such prompts have shares, so this reads few rows.
        # The few share rows lead, not the session's every prompt (each would need a table
        # lookup for its id): {ordered_join} keeps the written order.
        shares = "FROM prompt_model_usage u {ordered_join} prompts p ON p.id = u.prompt_id "
        shares += f"{{ordered_join}} agents a ON a.id = p.agent_id {where}"
        moved = ", ".join(f"CAST(sum(u.{kind}) AS BIGINT) AS {kind}" for kind in TOKEN_KINDS)
        taken = ", ".join(f"CAST(-sum(u.{kind}) AS BIGINT) AS {kind}" for kind in TOKEN_KINDS)
        prompts += (
            f" UNION ALL SELECT u.model AS key, 0, 0, {moved}, sum(u.cost_usd), 0 {shares} "
            f"GROUP BY 1 UNION ALL SELECT {key} AS key, 0, 0, {taken}, -sum(u.cost_usd), 0 "
            f"{shares} GROUP BY 1"
        )
        prompt_params = (*params, *params, *params)
    else:
        prompt_params = params
    usage_sums = ", ".join(f"CAST(sum(su.{kind}) AS BIGINT) AS {kind}" for kind in TOKEN_KINDS)
    # Every priced message has a cost > 0 (it has tokens, every rate is > 0): cost 0 means
    # its model has no price (transcripts.PRICES).
    usage = (
        f"SELECT {USAGE_ROLLUP_KEYS[by]} AS key, 0 AS prompts, count(*) AS messages, "
        f"{usage_sums}, sum(su.cost_usd) AS cost_usd, "
        "sum(CASE WHEN su.cost_usd = 0 THEN 1 ELSE 0 END) AS unpriced_messages "
        f"FROM session_usage su WHERE {COUNTED_USAGE}"
        + (" AND su.session_id = ?" if session_id else "")
        + " GROUP BY 1"
    )
    outer = ", ".join(f"CAST(sum({kind}) AS BIGINT) AS {kind}" for kind in TOKEN_KINDS)
    rows = yield (
        "all",
        "SELECT key, CAST(sum(prompts) AS BIGINT) AS prompts, "
        f"CAST(sum(messages) AS BIGINT) AS messages, {outer}, sum(cost_usd) AS cost_usd, "
        "CAST(sum(unpriced_messages) AS BIGINT) AS unpriced_messages "
        f"FROM ({prompts} UNION ALL {usage}) AS grouped "
        "GROUP BY key ORDER BY cost_usd DESC, key",
        (*prompt_params, *params),
    )
    # A model's share moved back and forth can leave a float residue of -1e-18 for 0.
    return [
        RollupRow.model_validate({**dict(r), "cost_usd": max(0.0, r["cost_usd"])}) for r in rows
    ]


def prune(older_than_days: float, *, dry_run: bool = False) -> Op[dict[str, int]]:
    """Delete log lines, and finished agents (with their prompts, logs and transcript usage),
    older than N days."""
    if not isinstance(older_than_days, (int, float)) or older_than_days < 0:
        raise InvalidInput(f"invalid older_than_days: must be >= 0 (got {older_than_days!r})")
    cutoff = format_timestamp(datetime.now(timezone.utc) - timedelta(days=older_than_days))
    finished = (
        "SELECT id FROM agents WHERE status IN ('completed', 'failed', 'cancelled') "
        "AND coalesce(completed_at, created_at) < ?"
    )
    if not dry_run:
        return (yield from _prune_counting_deletes(cutoff, finished))
    counts: dict[str, int] = {}
    row = yield ("one", f"SELECT count(*) AS n FROM ({finished}) AS f", (cutoff,))
    counts["agents"] = row["n"]
    row = yield (
        "one",
        f"SELECT count(*) AS n FROM prompts WHERE agent_id IN ({finished})",
        (cutoff,),
    )
    counts["prompts"] = row["n"]
    row = yield (
        "one",
        f"SELECT count(*) AS n FROM agent_logs WHERE created_at < ? OR agent_id IN ({finished})",
        (cutoff, cutoff),
    )
    counts["agent_logs"] = row["n"]
    row = yield ("one", "SELECT count(*) AS n FROM system_logs WHERE created_at < ?", (cutoff,))
    counts["system_logs"] = row["n"]
    row = yield (
        "one",
        f"SELECT count(*) AS n FROM session_usage WHERE agent_id IN ({finished})",
        (cutoff,),
    )
    counts["session_usage"] = row["n"]
    return counts


_PRUNE_BATCH = 500  # ids per statement: far below SQLite's 32,766 bound parameters


def _prune_counting_deletes(cutoff: str, finished: str) -> Op[dict[str, int]]:
    """Delete, counting what each DELETE itself removed (its rowcount): a count taken first
    sees another snapshot than the DELETE on PostgreSQL, where writers go on meanwhile.

    The finished agents are locked and listed first, so that the agents deleted are exactly
    those whose prompts, logs and usage were deleted (and counted) before them: nothing is
    left for ON DELETE CASCADE to remove uncounted, and a writer adding a row for one of them
    waits for the lock (then fails its foreign key, as with any deleted agent)."""
    rows = yield ("all", f"{finished} {{for_update}}", (cutoff,))
    ids = [row["id"] for row in rows]
    counts = dict.fromkeys(("agents", "prompts", "agent_logs", "system_logs", "session_usage"), 0)
    counts["agent_logs"] += yield ("exec", "DELETE FROM agent_logs WHERE created_at < ?", (cutoff,))
    counts["system_logs"] += yield (
        "exec",
        "DELETE FROM system_logs WHERE created_at < ?",
        (cutoff,),
    )
    for start in range(0, len(ids), _PRUNE_BATCH):
        batch = ids[start : start + _PRUNE_BATCH]
        marks = ", ".join("?" * len(batch))
        # session_usage.agent_id is ON DELETE SET NULL: the usage of a deleted agent goes first.
        for table, column in (
            ("session_usage", "agent_id"),
            ("agent_logs", "agent_id"),
            ("prompts", "agent_id"),
            ("agents", "id"),
        ):
            counts[table] += yield (
                "exec",
                f"DELETE FROM {table} WHERE {column} IN ({marks})",
                tuple(batch),
            )
    return counts


def run_budgets(*, session_id: str | None = None) -> Op[dict[str, float]]:
    """The budget (agentic.run_budget_usd) each workflow run was started with, by session;
    runs without one are left out."""
    where, params = ("AND session_id = ?", (session_id,)) if session_id else ("", ())
    rows = yield (
        "all",
        f"SELECT session_id, context FROM agents WHERE adw_id IS NOT NULL {where}",
        params,
    )
    budgets: dict[str, float] = {}
    for row in rows:
        context = row["context"]
        if isinstance(context, str):
            context = json.loads(context)
        budget = context.get("run_budget_usd") if isinstance(context, dict) else None
        if isinstance(budget, (int, float)) and not isinstance(budget, bool) and budget > 0:
            budgets[row["session_id"]] = float(budget)
    return budgets


def table_counts() -> Op[dict[str, int]]:
    counts = {}
    for table in TABLES:
        row = yield ("one", f"SELECT count(*) AS n FROM {table}", ())
        counts[table] = row["n"]
    return counts


def _limit(limit: int) -> int:
    if not isinstance(limit, int) or limit < 1:
        raise InvalidInput(f"invalid limit: must be a positive integer (got {limit!r})")
    return limit
