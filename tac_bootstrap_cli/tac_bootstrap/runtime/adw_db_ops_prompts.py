"""Database operations on prompts: start, finish (with each model's share), read.

Finishing a prompt adds its usage to its agent in the same transaction. Operations are
generators of SQL steps (adw_db_ops_shared); adw_db_operations re-exports them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .adw_db_dialect import IntegrityViolation
from .adw_db_ops_agents import _ADD_AGENT_USAGE, _usage_params
from .adw_db_ops_shared import (
    TOKEN_KINDS,
    Op,
    _existing_key,
    _foreign_key,
    _limit,
    _row,
    new_id,
    uuid_key,
)
from .orch_database_types import InvalidInput, PromptStatus, to_json, utc_now

if TYPE_CHECKING:
    from .orch_database_models import ModelUsage, Prompt, PromptResult


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
    from .orch_database_models import Prompt

    key = _existing_key(prompt_id, "prompt")
    row = yield ("one", "SELECT * FROM prompts WHERE id = ?", (key,))
    return _row(Prompt, row, "prompt", prompt_id)


def _prompt_for_update(prompt_id: str) -> Op[Prompt]:
    """get_prompt inside a write: the row stays locked until the transaction ends."""
    from .orch_database_models import Prompt

    key = _existing_key(prompt_id, "prompt")
    row = yield ("one", "SELECT * FROM prompts WHERE id = ? {for_update}", (key,))
    return _row(Prompt, row, "prompt", prompt_id)


def list_prompts(
    *, agent_id: str | None = None, session_id: str | None = None, limit: int = 100
) -> Op[list[Prompt]]:
    from .orch_database_models import Prompt

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
    from .orch_database_models import ModelUsage

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
    from .orch_database_models import PromptResult, validated

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
    from .orch_database_models import PromptResult, validated

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
