"""Database operations on orchestrator agents (agent types) and agent instances.

Operations are generators of SQL steps (adw_db_ops_shared); adw_db_operations re-exports them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .adw_db_dialect import IntegrityViolation
from .adw_db_ops_shared import (
    TOKEN_KINDS,
    Op,
    _by_id_or_name,
    _enum,
    _existing_key,
    _foreign_key,
    _json,
    _limit,
    _row,
    _text,
    new_id,
)
from .orch_database_types import (
    AGENT_TRANSITIONS,
    TERMINAL_AGENT_STATUSES,
    AgentStatus,
    AgentType,
    InvalidInput,
    NotFound,
    utc_now,
)

if TYPE_CHECKING:
    from .orch_database_models import Agent, OrchestratorAgent, PromptResult

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
    from .orch_database_models import OrchestratorAgent

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
    from .orch_database_models import OrchestratorAgent

    where, params = _by_id_or_name(id_or_name)
    row = yield ("one", f"SELECT * FROM orchestrator_agents WHERE {where}", params)
    return _row(OrchestratorAgent, row, "orchestrator agent", id_or_name)


def list_orchestrator_agents() -> Op[list[OrchestratorAgent]]:
    from .orch_database_models import OrchestratorAgent

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
    from .orch_database_models import Agent

    key = _existing_key(agent_id, "agent")
    row = yield ("one", "SELECT * FROM agents WHERE id = ?", (key,))
    return _row(Agent, row, "agent", agent_id)


def _agent_for_update(agent_id: str) -> Op[Agent]:
    """get_agent inside a write: the row stays locked until the transaction ends."""
    from .orch_database_models import Agent

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
    from .orch_database_models import Agent

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
    from .orch_database_models import PromptResult, validated

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
