"""The AI Developer Workflow phases (plan, build, test, review) and their command line.

Each phase is one agent instance in the orchestrator database (session_id = adw_id), one or
more prompts (one per attempt) and lifecycle logs; the state file records the outcome so that
`adw_sdlc.py --adw-id ID` resumes at the first phase that did not complete.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .adw_database import OrchestratorDB
from .adw_project import current_project
from .adw_state import ISSUE_TYPES, PHASES, ADWState, StateError
from .agent import AgentCLINotFound, PromptRequest, resolve_cli, run_prompt
from .agent_stream import CliOutcome
from .orch_database_models import FailureKind, OrchestratorError

AgentResult = CliOutcome  # what a phase's check reads


class PhaseFailed(OrchestratorError):
    """The agent ran but the phase's outcome is a failure."""


@dataclass(frozen=True)
class Phase:
    name: str
    agent_type: str
    model_role: str  # key of agentic.models in the config: default | heavy
    command: Callable[[ADWState], str]
    check: Callable[[ADWState, AgentResult], str | None]  # an error message, or None if ok


def _plan_command(state: ADWState) -> str:
    return f"/{state.issue_type} {state.adw_id} {state.issue}"


def _check_plan(state: ADWState, result: AgentResult) -> str | None:
    """The answer must name the plan file this run's planner was asked to write."""
    project = current_project()
    specs_dir = str(project.section("paths").get("specs_dir") or "specs")
    lines = [line.strip() for line in result.result_text.strip().splitlines() if line.strip()]
    candidate = lines[-1].strip("`'\" ") if lines else ""
    expected = f"{specs_dir}/{state.issue_type}-{state.adw_id}-"
    if not (candidate.startswith(expected) and candidate.endswith(".md")):
        return f"the planner answered {candidate!r}, not a plan file named {expected}<slug>.md"
    if not (project.root / candidate).is_file():
        return f"the planner named {candidate!r}, but no such file exists"
    state.plan_file = candidate
    return None


def _require_plan(state: ADWState) -> str:
    if not state.plan_file:
        raise StateError(f"run {state.adw_id} has no plan yet; run the plan phase first")
    return state.plan_file


def _json_answer(result: AgentResult) -> object:
    """The first JSON value in the answer, tolerating code fences and prose around it."""
    text = result.result_text
    decoder = json.JSONDecoder()
    for index, char in enumerate(text):
        if char in "[{":
            try:
                value, _ = decoder.raw_decode(text, index)
            except json.JSONDecodeError:
                continue
            return value
    raise ValueError("no JSON value in the answer")


def _check_tests(state: ADWState, result: AgentResult) -> str | None:
    try:
        checks = _json_answer(result)
    except ValueError as exc:
        return f"the test phase did not answer with JSON ({exc})"
    if not isinstance(checks, list):
        return "the test phase answered with JSON that is not a list of checks"
    failed = [c.get("check", "?") for c in checks if isinstance(c, dict) and not c.get("passed")]
    return f"failing checks: {', '.join(map(str, failed))}" if failed else None


def _check_review(state: ADWState, result: AgentResult) -> str | None:
    try:
        review = _json_answer(result)
    except ValueError as exc:
        return f"the review phase did not answer with JSON ({exc})"
    if not isinstance(review, dict):
        return "the review answered with JSON that is not an object"
    blockers = [
        i.get("description", "?")
        for i in review.get("issues", [])
        if isinstance(i, dict) and i.get("severity") == "blocker"
    ]
    if not review.get("success", False) or blockers:
        return f"review found blockers: {'; '.join(map(str, blockers)) or review.get('summary')}"
    return None


PHASE_DEFINITIONS: dict[str, Phase] = {
    "plan": Phase("plan", "planner", "default", _plan_command, _check_plan),
    "build": Phase(
        "build", "builder", "default", lambda s: f"/implement {_require_plan(s)}", lambda s, r: None
    ),
    "test": Phase("test", "tester", "default", lambda s: "/test", _check_tests),
    "review": Phase(
        "review", "reviewer", "heavy", lambda s: f"/review {_require_plan(s)}", _check_review
    ),
}


class BudgetSpent(OrchestratorError):
    """The run spent its configured budget (agentic.run_budget_usd): no further phase runs."""


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


def run_phase(state: ADWState, name: str, db: OrchestratorDB, cli: str) -> None:
    """Run one phase as a new agent instance; raises PhaseFailed when it does not succeed."""
    phase = PHASE_DEFINITIONS[name]
    project = current_project()
    agentic = project.section("agentic")
    models, limits = _phase_settings(agentic, name)
    model = str(models.get(phase.model_role) or models.get("default") or "sonnet")
    budget, phase_budget = _phase_budget(state, name, db, agentic, limits)
    claude_dir = str(project.section("paths").get("claude_dir") or ".claude")
    allow, deny = claude_permissions(project.root, claude_dir)
    prompt = phase.command(state)
    owner = db.register_orchestrator_agent(
        f"adw_{name}", phase.agent_type, description=f"ADW {name} phase", default_model=model
    )
    agent = db.start_agent(
        owner.id,
        state.adw_id,
        adw_id=state.adw_id,
        name=name,
        model=model,
        working_dir=str(project.root),
        context={
            "phase": name,
            "issue_type": state.issue_type,
            "plan_file": state.plan_file,
            "run_budget_usd": budget or None,
        },
    )
    attempts = state.phase(name).attempts + 1
    state.mark(name, "running", agent_id=agent.id, attempts=attempts, error=None)
    db.log_agent(agent.id, "lifecycle", f"{name} phase started (attempt {attempts})")
    db.log_system(f"adw {state.adw_id}: {name} phase started", component="adw")
    request = PromptRequest(
        prompt=prompt,
        model=model,
        fallback_model=str(models.get("fallback") or "") or None,
        working_dir=project.root,
        output_file=state.directory / name / "raw_output.jsonl",
        stderr_file=state.directory / name / "stderr.log",
        max_retries=int(_number(agentic.get("max_retries"), 1)),
        cli_max_retries=int(_number(agentic.get("cli_max_retries"), 4)),
        timeout_seconds=_number(limits.get("timeout_seconds"))
        or _number(agentic.get("phase_timeout_seconds"), 1800),
        max_turns=int(_number(limits.get("max_turns"))) or None,
        max_budget_usd=phase_budget,
        allowed_tools=allow,
        disallowed_tools=deny,
        permission_mode=str(limits.get("permission_mode") or "") or None,
        # The agent's hooks record into this database without re-reading the config.
        env={
            "TAC_AGENT_ID": agent.id,
            "TAC_ADW_ID": state.adw_id,
            "TAC_PYTHON": sys.executable,
            "TAC_ORCHESTRATOR_DB": db.location.target,
        },
    )
    result = run_prompt(db, agent.id, request, cli)
    _judge_phase(state, name, db, agent.id, result, allow, claude_dir)


def _phase_settings(agentic: dict[str, Any], name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(agentic.models, agentic.phases.<name>): each {} when missing or not a mapping."""
    configured_models = agentic.get("models")
    models: dict[str, Any] = configured_models if isinstance(configured_models, dict) else {}
    phases = agentic.get("phases")
    found = phases.get(name) if isinstance(phases, dict) else None
    limits: dict[str, Any] = found if isinstance(found, dict) else {}
    return models, limits


def _phase_budget(
    state: ADWState, name: str, db: OrchestratorDB, agentic: dict[str, Any], limits: dict[str, Any]
) -> tuple[float, float | None]:
    """(the run's budget, what this phase may spend): what is left of agentic.run_budget_usd,
    capped by the phase's own max_budget_usd. Raises BudgetSpent (the phase marked failed,
    never started) once the run has spent its budget."""
    budget = _number(agentic.get("run_budget_usd"))
    phase_budget = _number(limits.get("max_budget_usd")) or None
    if not budget:
        return budget, phase_budget
    spent = run_spent(db, state.adw_id)
    if spent >= budget:
        db.log_system(
            f"adw {state.adw_id}: budget spent (${spent:.4f} of ${budget:.4f}); {name} not started",
            level="WARNING",
            component="adw",
            details={"adw_id": state.adw_id, "budget_usd": budget, "spent_usd": spent},
        )
        state.mark(name, "failed", error=f"run budget ${budget:.4f} spent")
        raise BudgetSpent(
            f"run {state.adw_id} spent ${spent:.4f} of its ${budget:.4f} budget "
            "(agentic.run_budget_usd); raise it to go on"
        )
    return budget, min(phase_budget or budget, budget - spent)


def _judge_phase(
    state: ADWState,
    name: str,
    db: OrchestratorDB,
    agent_id: str,
    result: AgentResult,
    allow: list[str],
    claude_dir: str,
) -> None:
    """Record how a phase's run ended: completed, or failed (raising PhaseFailed) when the
    run failed or the phase's check refused its result."""
    # What the phase's hooks could not write themselves (on PostgreSQL, everything: the hook
    # path has no psycopg) is in the database before the phase is judged.
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
    error = result.error if not result.success else PHASE_DEFINITIONS[name].check(state, result)
    if error and result.success and result.permission_denials:
        denied = ", ".join(sorted({str(d.get("tool_name")) for d in result.permission_denials}))
        error += (
            f" (the agent CLI denied: {denied}; see the permissions in {claude_dir}/settings.json)"
        )
    if error:
        # Why, as the prompts' failure kinds say it: the CLI ran but denied what the phase
        # needed, or the run itself failed; otherwise the phase's own check refused it.
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
        db.log_system(f"adw {state.adw_id}: {name} failed", level="ERROR", component="adw")
        state.mark(name, "failed", error=error, result=result.result_text[:2000])
        raise PhaseFailed(f"{name} phase failed: {error}")
    db.set_agent_status(agent_id, "completed")
    db.log_agent(agent_id, "lifecycle", f"{name} phase completed")
    db.log_system(f"adw {state.adw_id}: {name} completed", component="adw")
    state.mark(name, "completed", result=result.result_text[:2000])


def configured_cli() -> str:
    """The agent CLI to run; raises AgentCLINotFound (one clear line) when it is missing."""
    return resolve_cli(str(current_project().section("agentic").get("agent_cli") or "") or None)


def run_phases(
    state: ADWState, names: Sequence[str], *, resume: bool, cli: str | None = None
) -> None:
    cli = cli or configured_cli()
    with OrchestratorDB.open() as db:
        for name in names:
            if resume and state.phase(name).status == "completed":
                print(f"[{state.adw_id}] {name}: already completed, skipped", file=sys.stderr)
                continue
            print(f"[{state.adw_id}] {name}: running", file=sys.stderr)
            run_phase(state, name, db, cli)
            print(f"[{state.adw_id}] {name}: completed", file=sys.stderr)


def _parser(script: str, phases: Sequence[str]) -> argparse.ArgumentParser:
    starts = phases[0] == "plan"
    parser = argparse.ArgumentParser(
        prog=script,
        description=f"AI Developer Workflow: {' -> '.join(phases)}. Records every agent, "
        "prompt, token and cost in the orchestrator database (see adws/README.md).",
        epilog="Environment: CLAUDE_CODE_PATH (agent CLI, default `claude`), "
        "TAC_ORCHESTRATOR_DB (database), TAC_ADW_RUNS_DIR (state files), "
        "ADW_RETRY_BASE_SECONDS (backoff base).",
    )
    if starts:
        parser.add_argument("issue", nargs="*", help="The issue text (or use --issue-file).")
        parser.add_argument("--issue-file", type=Path, help="Read the issue text from a file.")
        parser.add_argument(
            "--type",
            dest="issue_type",
            choices=ISSUE_TYPES,
            default="feature",
            help="Which planning command to use (default: feature).",
        )
    parser.add_argument(
        "--adw-id",
        required=not starts,
        help="Run id. With plan/sdlc: resume that run (or name a new one when an issue is given).",
    )
    return parser


def _load_or_create(args: argparse.Namespace, phases: Sequence[str]) -> tuple[ADWState, bool]:
    """(state, resuming): an existing --adw-id is resumed; otherwise an issue starts a run."""
    if args.adw_id and ADWState.exists(args.adw_id):
        return ADWState.load(args.adw_id), True
    issue_text = ""
    if phases[0] == "plan":
        if args.issue_file is not None:
            issue_text = args.issue_file.read_text(encoding="utf-8")
        else:
            issue_text = " ".join(args.issue)
    if issue_text.strip():
        return ADWState.create(issue_text, args.issue_type, args.adw_id), False
    if args.adw_id:
        return ADWState.load(args.adw_id), True  # raises a clear "no run with adw_id" error
    raise StateError("give an issue to start a run, or --adw-id ID to resume one")


def main(phases: Sequence[str], argv: Sequence[str] | None = None) -> int:
    script = Path(sys.argv[0]).name
    args = _parser(script, phases).parse_args(argv)
    try:
        cli = configured_cli()  # before a run is created: a missing CLI starts nothing
        state, resuming = _load_or_create(args, phases)
        print(f"[{state.adw_id}] state: {state.path}", file=sys.stderr)
        run_phases(state, phases, resume=resuming, cli=cli)
    except AgentCLINotFound as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (PhaseFailed, BudgetSpent) as exc:
        print(f"error: {exc}", file=sys.stderr)
        print(f"resume with: {script} --adw-id {state.adw_id}", file=sys.stderr)
        return 1
    except (StateError, OrchestratorError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(
        json.dumps({"adw_id": state.adw_id, "plan_file": state.plan_file, "phases": list(phases)})
    )
    return 0


def sdlc_main(argv: Sequence[str] | None = None) -> int:
    return main(PHASES, argv)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(sdlc_main())
