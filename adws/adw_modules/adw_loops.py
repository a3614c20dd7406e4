"""The test and review loops: check, hand what failed to a fixing agent, commit, check again.

The test loop decides from the project's own commands' exit codes (adw_checks.py), never from
an agent's report; every command result is a run_checks row and a log line, every fix is its
own recorded agent. The review loop re-reviews after each fix of the reviewer's blockers.
Both are bounded (workflow.test_attempts, workflow.review_attempts).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from .adw_agent_run import PhaseFailed, run_agent
from .adw_checks import (
    RECORD_BUDGET,
    CheckResult,
    configured_checks,
    failure_report,
    run_command,
    trim,
)
from .adw_phases import SPECS, json_answer, require_plan
from .adw_run_context import RunContext, commit_phase, section
from .agent_stream import CliOutcome


def next_attempt(ctx: RunContext, phase: str) -> int:
    """Attempt numbers go on across resumes, so every recorded attempt stays apart."""
    done = [c.attempt for c in ctx.db.list_checks(ctx.adw_id) if c.phase == phase]
    return max(done, default=0) + 1


def run_checks(ctx: RunContext, phase: str, attempt: int) -> list[CheckResult]:
    """Run the configured commands in the run's root, recording each result."""
    commands = section("commands", ctx.project)
    order = ctx.workflow.get("check_commands") or ["test", "lint", "typecheck"]
    timeout = float(ctx.workflow.get("command_timeout_seconds") or 900)
    results = []
    for name, command in configured_checks(commands, order):
        ctx.note(f"{phase} attempt {attempt}: {name}: {command}")
        result = run_command(name, command, ctx.root, ctx.env, timeout)
        ctx.db.record_check(
            ctx.adw_id,
            phase,
            attempt,
            name,
            command,
            result.exit_code,
            result.timed_out,
            result.duration_ms,
            trim(result.output, RECORD_BUDGET),
        )
        verdict = f"{name} passed" if result.passed else result.describe()
        ctx.note(f"{phase} attempt {attempt}: {verdict}")
        ctx.log(
            f"{phase} attempt {attempt}: {verdict}",
            level="INFO" if result.passed else "WARNING",
            check=name,
            command=command,
            exit_code=result.exit_code,
            timed_out=result.timed_out,
            duration_ms=result.duration_ms,
        )
        results.append(result)
    return results


# The shell's "not executable" and "not found": an environment problem no code fix can mend.
MISSING_TOOL_CODES = (126, 127)


def missing_tools(results: Sequence[CheckResult]) -> str | None:
    """Why the checks cannot run at all (a tool missing from the run's root), or None."""
    missing = [r for r in results if r.exit_code in MISSING_TOOL_CODES]
    if not missing:
        return None
    named = "; ".join(f"{r.name}: `{r.command}` exited {r.exit_code}" for r in missing)
    return (
        f"{named} (command not found or not executable in the run's worktree): install the "
        "tool, set workflow.setup to a command that provides it in each new worktree (e.g. "
        '"uv sync", "npm ci"), or set the command to "" in tac_bootstrap.yml'
    )


def run_setup(ctx: RunContext) -> None:
    """workflow.setup, once in a new worktree (it has no .venv, no node_modules); recorded
    like a check. A failure fails the run before any agent spends anything."""
    command = str(ctx.workflow.get("setup") or "").strip()
    if not command or ctx.state.set_up:
        return
    timeout = float(ctx.workflow.get("command_timeout_seconds") or 900)
    ctx.note(f"setup: {command}")
    result = run_command("setup", command, ctx.root, ctx.env, timeout)
    ctx.db.record_check(
        ctx.adw_id,
        "setup",
        next_attempt(ctx, "setup"),
        "setup",
        command,
        result.exit_code,
        result.timed_out,
        result.duration_ms,
        trim(result.output, RECORD_BUDGET),
    )
    if not result.passed:
        ctx.log(f"setup: {result.describe()}", level="ERROR", command=command)
        for line in trim(result.output, 2000).splitlines()[-20:]:
            ctx.note(f"setup | {line}")
        outcome = result.describe().removeprefix("setup ")
        reason = f"workflow.setup `{command}` {outcome} in {ctx.root}"
        raise PhaseFailed(f"setup failed: {reason}", reason)
    ctx.state.set_up = True
    ctx.state.save()
    ctx.log("setup passed", command=command, duration_ms=result.duration_ms)


def fix_prompt(results: Sequence[CheckResult], root: str) -> str:
    failing = ", ".join(r.describe() for r in results if not r.passed)
    return (
        f"Fix the failing checks ({failing}). The workflow ran the project's own commands in "
        f"{root} and they failed; their output follows. Fix the cause in the code or the "
        "tests the change broke; do not weaken, skip or delete checks, and do not commit "
        "(the workflow commits and runs the commands again).\n\n" + failure_report(results)
    )


def run_test(ctx: RunContext) -> None:
    """Checks, then up to test_attempts - 1 fixes; fails when the last attempt still fails."""
    attempts = max(1, int(ctx.workflow.get("test_attempts") or 1))
    first = next_attempt(ctx, "test")
    for index in range(attempts):
        attempt = first + index
        results = run_checks(ctx, "test", attempt)
        ctx.state.checks_passed = bool(results) and all(r.passed for r in results)
        ctx.state.save()
        if not results:
            ctx.note("test: no check commands configured (commands.test/lint/typecheck)")
            ctx.log("test: no check commands configured", level="WARNING")
            return
        if ctx.state.checks_passed:
            return
        unrunnable = missing_tools(results)
        if unrunnable:  # no fix prompt: an agent cannot install the project's tools
            raise PhaseFailed(f"test phase failed: {unrunnable}", unrunnable)
        failing = ", ".join(r.describe() for r in results if not r.passed)
        if index == attempts - 1:
            reason = f"checks still failing after {attempts} attempt(s): {failing}"
            raise PhaseFailed(f"test phase failed: {reason}", reason)
        agent_id, _ = run_agent(
            ctx,
            SPECS["test_fix"],
            fix_prompt(results, str(ctx.root)),
            attempt=attempt,
            context={"failing": [r.name for r in results if not r.passed]},
        )
        ctx.state.phase("test").agent_id = agent_id
        commit_phase(ctx, f"test fix {attempt}")


def blockers_of(result: CliOutcome) -> list[str]:
    """The reviewer's blockers (the review command's JSON); raises ValueError on no JSON."""
    review = json_answer(result)
    if not isinstance(review, dict):
        raise ValueError("the review answered with JSON that is not an object")
    blockers = [
        str(i.get("description", "?"))
        for i in review.get("issues", [])
        if isinstance(i, dict) and i.get("severity") == "blocker"
    ]
    if not review.get("success", False) and not blockers:
        blockers = [str(review.get("summary") or "the review did not succeed")]
    return blockers


def review_fix_prompt(blockers: Sequence[str], plan: str) -> str:
    listed = "\n".join(f"- {b}" for b in blockers)
    return (
        f"Fix the review's blockers. The change implementing {plan} was reviewed and these "
        "problems block it; fix each one in the code and its tests, change nothing else, and "
        f"do not commit (the workflow commits and reviews again).\n\n## Blockers\n\n{listed}\n"
    )


def _review_check(found: list[str]) -> Callable[[CliOutcome], str | None]:
    """The reviewer's answer must be the review JSON; its blockers go into `found`."""

    def check(result: CliOutcome) -> str | None:
        try:
            found.extend(blockers_of(result))
        except ValueError as exc:
            return f"the review phase did not answer with JSON ({exc})"
        return None

    return check


def run_review(ctx: RunContext) -> None:
    """Review, then fix the blockers and re-review, up to review_attempts reviews."""
    plan = require_plan(ctx)
    attempts = max(1, int(ctx.workflow.get("review_attempts") or 1))
    for attempt in range(1, attempts + 1):
        found: list[str] = []
        agent_id, _ = run_agent(
            ctx, SPECS["review"], f"/review {plan}", attempt=attempt, check=_review_check(found)
        )
        ctx.state.phase("review").agent_id = agent_id
        if not found:
            return
        ctx.log(f"review attempt {attempt}: {len(found)} blocker(s)", level="WARNING")
        if attempt == attempts:
            reason = f"review found blockers: {'; '.join(found)}"
            raise PhaseFailed(f"review phase failed: {reason}", reason)
        run_agent(ctx, SPECS["review_fix"], review_fix_prompt(found, plan), attempt=attempt)
        commit_phase(ctx, f"review fix {attempt}")
