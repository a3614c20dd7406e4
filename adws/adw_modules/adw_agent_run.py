"""One recorded agent of a run: a phase's agent, a fixer, a reviewer's re-review, a classifier.

Each call is one agent instance in the orchestrator database (session_id = adw_id, working_dir
= the run's root), one or more prompts (the CLI's retries) and lifecycle logs. The agent runs
in the run's root with the run's environment; its hooks record into the main database against
it (TAC_AGENT_ID, TAC_ADW_ID, TAC_ORCHESTRATOR_DB), wherever the worktree is.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .adw_database import OrchestratorDB
from .adw_project import current_project
from .adw_run_context import RunContext, section
from .agent import PromptRequest, resolve_cli, run_prompt
from .agent_stream import CliOutcome
from .orch_database_types import FailureKind, OrchestratorError

AgentResult = CliOutcome


class PhaseFailed(OrchestratorError):
    """The agent ran but the phase's outcome is a failure; `reason` without the phase name."""

    def __init__(self, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason or message


class BudgetSpent(OrchestratorError):
    """The run spent its configured budget (agentic.run_budget_usd): no further agent runs."""


@dataclass(frozen=True)
class AgentSpec:
    """Who runs a prompt: its agents.name, its owner's type and which model role it uses."""

    name: str  # agents.name: the phase (plan, build ...) or a fixer (test_fix, review_fix)
    agent_type: str  # orchestrator_agents.agent_type: planner, builder, ... custom
    model_role: str  # key of agentic.models: default | heavy
    limits_of: str  # which agentic.phases.<name> limits apply


def _number(value: object, default: float = 0.0) -> float:
    return (
        float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else default
    )


def claude_permissions(root: Path, claude_dir: str) -> tuple[list[str], list[str]]:
    """(allow, deny) rules of the project's settings.json, passed to the CLI on its command
    line: a workspace the user never trusted ignores the file's rules but honours these.
    An "ask" rule is a deny here: a workflow runs the CLI in print mode, where nobody answers."""
    try:
        settings = json.loads((root / claude_dir / "settings.json").read_text(encoding="utf-8"))
        permissions = settings.get("permissions") or {}
        allow = permissions.get("allow") or []
        deny = [*(permissions.get("deny") or []), *(permissions.get("ask") or [])]
    except (OSError, ValueError, AttributeError):
        return [], []
    return [str(r) for r in allow if isinstance(r, str)], [
        str(r) for r in deny if isinstance(r, str)
    ]


def unknown_tools(rules: Sequence[str], available: Sequence[str]) -> list[str]:
    """Tool names in permission rules that this CLI does not have (its init line lists them)."""
    known = set(available) | ({"Agent"} if "Task" in available else set())
    names = {rule.split("(", 1)[0] for rule in rules}
    return sorted(n for n in names if n and not n.startswith("mcp__") and n not in known)


def run_spent(db: OrchestratorDB, adw_id: str) -> float:
    rows = db.rollup("session", session_id=adw_id)
    return sum(row.cost_usd for row in rows)


def configured_cli() -> str:
    """The agent CLI to run; raises AgentCLINotFound (one clear line) when it is missing."""
    return resolve_cli(str(current_project().section("agentic").get("agent_cli") or "") or None)


def phase_settings(agentic: dict[str, Any], name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(agentic.models, agentic.phases.<name>): each {} when missing or not a mapping."""
    configured_models = agentic.get("models")
    models: dict[str, Any] = configured_models if isinstance(configured_models, dict) else {}
    phases = agentic.get("phases")
    found = phases.get(name) if isinstance(phases, dict) else None
    limits: dict[str, Any] = found if isinstance(found, dict) else {}
    return models, limits


def _budget(
    ctx: RunContext, name: str, agentic: dict[str, Any], limits: dict[str, Any]
) -> tuple[float, float | None]:
    """(the run's budget, what this agent may spend): what is left of agentic.run_budget_usd,
    capped by the phase's own max_budget_usd. Raises BudgetSpent once the run has spent it."""
    budget = _number(agentic.get("run_budget_usd"))
    phase_budget = _number(limits.get("max_budget_usd")) or None
    if not budget:
        return budget, phase_budget
    spent = run_spent(ctx.db, ctx.adw_id)
    if spent >= budget:
        ctx.log(
            f"budget spent (${spent:.4f} of ${budget:.4f}); {name} not started",
            level="WARNING",
            budget_usd=budget,
            spent_usd=spent,
        )
        raise BudgetSpent(
            f"run {ctx.adw_id} spent ${spent:.4f} of its ${budget:.4f} budget "
            "(agentic.run_budget_usd); raise it to go on"
        )
    return budget, min(phase_budget or budget, budget - spent)


def run_agent(
    ctx: RunContext,
    spec: AgentSpec,
    prompt: str,
    *,
    attempt: int = 1,
    check: Callable[[CliOutcome], str | None] | None = None,
    context: dict[str, Any] | None = None,
) -> tuple[str, CliOutcome]:
    """(agent id, outcome) of one recorded agent run; raises PhaseFailed when the run failed
    or `check` refused its answer (the agent is then recorded as failed, with the reason)."""
    agentic = ctx.project.section("agentic")
    models, limits = phase_settings(agentic, spec.limits_of)
    model = str(models.get(spec.model_role) or models.get("default") or "sonnet")
    budget, agent_budget = _budget(ctx, spec.name, agentic, limits)
    claude_dir = str(section("paths", ctx.project).get("claude_dir") or ".claude")
    allow, deny = claude_permissions(ctx.root, claude_dir)
    owner = db_owner(ctx.db, spec, model)
    agent = ctx.db.start_agent(
        owner,
        ctx.adw_id,
        adw_id=ctx.adw_id,
        name=spec.name,
        model=model,
        working_dir=str(ctx.root),
        context={
            "phase": spec.limits_of,
            "attempt": attempt,
            "issue_type": ctx.state.issue_type,
            "plan_file": ctx.state.plan_file,
            "branch": ctx.state.branch,
            "run_budget_usd": budget or None,
            **(context or {}),
        },
    )
    ctx.db.log_agent(agent.id, "lifecycle", f"{spec.name} phase started (attempt {attempt})")
    ctx.log(f"{spec.name} phase started")
    out_dir = ctx.state.directory / spec.name
    suffix = "" if attempt == 1 else f".{attempt}"
    request = PromptRequest(
        prompt=prompt,
        model=model,
        fallback_model=str(models.get("fallback") or "") or None,
        working_dir=ctx.root,
        output_file=out_dir / f"raw_output{suffix}.jsonl",
        stderr_file=out_dir / f"stderr{suffix}.log",
        max_retries=int(_number(agentic.get("max_retries"), 1)),
        cli_max_retries=int(_number(agentic.get("cli_max_retries"), 4)),
        timeout_seconds=_number(limits.get("timeout_seconds"))
        or _number(agentic.get("phase_timeout_seconds"), 1800),
        max_turns=int(_number(limits.get("max_turns"))) or None,
        max_budget_usd=agent_budget,
        allowed_tools=allow,
        disallowed_tools=deny,
        permission_mode=str(limits.get("permission_mode") or "") or None,
        env=ctx.agent_env(agent.id),
    )
    result = run_prompt(ctx.db, agent.id, request, ctx.cli)
    _judge(ctx, spec.name, agent.id, result, check, allow, claude_dir)
    return agent.id, result


def db_owner(db: OrchestratorDB, spec: AgentSpec, model: str) -> str:
    owner = db.register_orchestrator_agent(
        f"adw_{spec.name}", spec.agent_type, description=f"ADW {spec.name}", default_model=model
    )
    return owner.id


def _judge(
    ctx: RunContext,
    name: str,
    agent_id: str,
    result: CliOutcome,
    check: Callable[[CliOutcome], str | None] | None,
    allow: list[str],
    claude_dir: str,
) -> None:
    """Record how the agent's run ended: completed, or failed (raising PhaseFailed)."""
    db = ctx.db
    # What the hooks could not write themselves (on PostgreSQL, everything: the hook path has
    # no psycopg) is in the database before the agent is judged.
    db.replay_hook_events(wait_seconds=1.0)
    unknown = unknown_tools(allow, result.available_tools) if result.available_tools else []
    if unknown:
        db.log_agent(
            agent_id,
            "error",
            f"settings.json allows tools this agent CLI does not have: {', '.join(unknown)}",
            level="WARNING",
            details={"unknown_tools": unknown, "available_tools": result.available_tools},
        )
    error = result.error if not result.success else (check(result) if check else None)
    if error and result.success and result.permission_denials:
        denied = ", ".join(sorted({str(d.get("tool_name")) for d in result.permission_denials}))
        error += (
            f" (the agent CLI denied: {denied}; see the permissions in {claude_dir}/settings.json)"
        )
    if error:
        refused = result.success and bool(result.permission_denials)
        kind = FailureKind.PERMISSION_DENIED.value if refused else result.failure_kind
        db.set_agent_status(agent_id, "failed", error_message=error)
        db.log_agent(
            agent_id,
            "lifecycle",
            f"{name} phase failed: {error}",
            level="ERROR",
            details={"failure_kind": kind, "permission_denials": result.permission_denials},
        )
        ctx.log(f"{name} failed", level="ERROR")
        raise PhaseFailed(f"{name} phase failed: {error}", error)
    db.set_agent_status(agent_id, "completed")
    db.log_agent(agent_id, "lifecycle", f"{name} phase completed")
    ctx.log(f"{name} completed")
