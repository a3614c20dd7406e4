"""The phases a workflow is made of, and the workflows: which phases, in which order.

A phase is a function of the run context that raises PhaseFailed (or PlanPaused) when it does
not succeed. The agent phases (plan, build, patch, document) are one recorded agent each; test
and review are loops (adw_loops.py); ship pushes and opens the pull request (adw_ship.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable

from .adw_agent_run import AgentSpec, PhaseFailed, run_agent
from .adw_run_context import RunContext, section
from .adw_state import ISSUE_TYPES, StateError
from .agent_stream import CliOutcome
from .orch_database_types import OrchestratorError

WORKFLOWS: dict[str, tuple[str, ...]] = {
    "plan": ("plan",),
    "build": ("build",),
    "test": ("test",),
    "review": ("review",),
    "document": ("document",),
    "ship": ("ship",),
    "patch": ("patch", "test"),
    "plan_build": ("plan", "build"),
    "plan_build_test": ("plan", "build", "test"),
    "plan_build_test_review": ("plan", "build", "test", "review"),
    "sdlc": ("plan", "build", "test", "review", "document"),
    "sdlc_ship": ("plan", "build", "test", "review", "document", "ship"),
}
STARTING_PHASES = ("plan", "patch")  # a workflow starting with one of these takes an issue

SPECS = {
    "classify": AgentSpec("classify", "custom", "default", "classify"),
    "plan": AgentSpec("plan", "planner", "default", "plan"),
    "build": AgentSpec("build", "builder", "default", "build"),
    "patch": AgentSpec("patch", "builder", "default", "patch"),
    "test_fix": AgentSpec("test_fix", "builder", "default", "test"),
    "review": AgentSpec("review", "reviewer", "heavy", "review"),
    "review_fix": AgentSpec("review_fix", "builder", "default", "review"),
    "document": AgentSpec("document", "documenter", "default", "document"),
}


class PlanPaused(OrchestratorError):
    """The planner asked questions instead of writing a plan: the run waits for answers."""

    def __init__(self, questions: list[str]) -> None:
        super().__init__("; ".join(questions))
        self.questions = questions


def json_answer(result: CliOutcome) -> object:
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


def issue_text(ctx: RunContext) -> str:
    """The issue as the agents read it: its text, then the humans' answers to the planner."""
    text = ctx.state.issue.strip()
    if ctx.state.answers:
        answers = "\n\n".join(a.strip() for a in ctx.state.answers)
        text += f"\n\n## Answers to the planner's questions\n\n{answers}"
    return text


def classify(ctx: RunContext) -> str:
    """The issue's type, from the layer's /classify_issue command (its own recorded agent)."""
    found: list[str] = []

    def check(result: CliOutcome) -> str | None:
        words = result.result_text.replace("`", " ").split()
        kinds = [w.strip("/.,").lower() for w in words if w.strip("/.,").lower() in ISSUE_TYPES]
        if not kinds:
            return f"the classifier answered {result.result_text.strip()[:80]!r}, not a type"
        found.append(kinds[-1])
        return None

    run_agent(ctx, SPECS["classify"], f"/classify_issue {issue_text(ctx)}", check=check)
    return found[0]


def plan_questions(result: CliOutcome) -> list[str]:
    """The planner's questions when it answered {"questions": [...]} instead of a path."""
    try:
        value = json_answer(result)
    except ValueError:
        return []
    if not isinstance(value, dict) or not isinstance(value.get("questions"), list):
        return []
    return [str(q).strip() for q in value["questions"] if str(q).strip()]


def run_plan(ctx: RunContext) -> None:
    state = ctx.state
    specs_dir = str(section("paths", ctx.project).get("specs_dir") or "specs")
    expected = f"{specs_dir}/{state.issue_type}-{state.adw_id}-"
    asked: list[str] = []

    def check(result: CliOutcome) -> str | None:
        """The answer names the plan file this run's planner was asked to write (in the
        run's root), or asks questions."""
        questions = plan_questions(result)
        if questions:
            asked.extend(questions)
            return None
        lines = [line.strip() for line in result.result_text.strip().splitlines() if line.strip()]
        candidate = lines[-1].strip("`'\" ") if lines else ""
        if not (candidate.startswith(expected) and candidate.endswith(".md")):
            return f"the planner answered {candidate!r}, not a plan file named {expected}<slug>.md"
        if not (ctx.root / candidate).is_file():
            return f"the planner named {candidate!r}, but no such file exists"
        state.plan_file = candidate
        return None

    prompt = f"/{state.issue_type} {state.adw_id} {issue_text(ctx)}"
    agent_id, _ = run_agent(ctx, SPECS["plan"], prompt, check=check)
    state.phase("plan").agent_id = agent_id
    if asked:
        raise PlanPaused(asked)


def require_plan(ctx: RunContext) -> str:
    if not ctx.state.plan_file:
        raise StateError(f"run {ctx.adw_id} has no plan yet; run the plan phase first")
    return ctx.state.plan_file


def run_build(ctx: RunContext) -> None:
    agent_id, _ = run_agent(ctx, SPECS["build"], f"/implement {require_plan(ctx)}")
    ctx.state.phase("build").agent_id = agent_id


def patch_prompt(ctx: RunContext) -> str:
    return (
        "Patch: make the small change the issue below asks for, directly, without writing a "
        "plan. Change only what the issue needs, follow the code's existing patterns, add or "
        "update the tests that cover it, and do not commit (the workflow commits).\n\n"
        f"## Issue\n\n{issue_text(ctx)}\n"
    )


def run_patch(ctx: RunContext) -> None:
    agent_id, _ = run_agent(ctx, SPECS["patch"], patch_prompt(ctx))
    ctx.state.phase("patch").agent_id = agent_id


def run_document(ctx: RunContext) -> None:
    """/document with the plan (or, with none, the issue) against the run's base branch."""
    subject = ctx.state.plan_file or issue_text(ctx)
    base = ctx.state.base_branch or ""
    prompt = f"/document {subject}" + (f"\n\nBase branch: {base}" if base else "")
    agent_id, _ = run_agent(ctx, SPECS["document"], prompt)
    ctx.state.phase("document").agent_id = agent_id


def phase_functions() -> dict[str, Callable[[RunContext], None]]:
    from .adw_loops import run_review, run_test
    from .adw_ship import run_ship

    return {
        "plan": run_plan,
        "build": run_build,
        "patch": run_patch,
        "test": run_test,
        "review": run_review,
        "document": run_document,
        "ship": run_ship,
    }


__all__ = ["WORKFLOWS", "PhaseFailed", "PlanPaused", "json_answer", "phase_functions"]
