"""The phase engine: one run, from its issue to its last phase, whatever started it.

A person (adws/adw_sdlc.py ...), the launcher, a trigger or a worker on another machine all
end up here: a run has an adw_id, a workflow, an issue (text, a GitHub issue or a local
Markdown file), a type (given, or classified by its own recorded agent), a `runs` row kept
current, and a working root (its own worktree on its own branch with its own port slot, or
the checkout). The engine runs the workflow's phases in order, commits after each one that
changed files, comments progress on the issue, pauses when the planner asks questions, and
resumes at the first phase not completed.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .adw_agent_run import PhaseFailed
from .adw_database import OrchestratorDB
from .adw_git import current_branch, is_work_tree
from .adw_phases import STARTING_PHASES, PlanPaused, classify, phase_functions
from .adw_project import current_project
from .adw_run_context import RunContext, commit_phase, section
from .adw_state import ADWState, StateError
from .orch_database_types import OrchestratorError, RunExists, utc_now

WORKER_ENV_VAR = "TAC_WORKER_ID"  # set by the queue worker that claimed the run


class Terminated(BaseException):
    """SIGTERM or SIGHUP (a worker stopping the run, a shutdown): the run ends as failed."""


@dataclass(frozen=True)
class IssueInput:
    """Where a new run's issue comes from and what it says."""

    text: str
    source: str = "text"  # text | github | local
    ref: str | None = None
    title: str = ""
    issue: Any = None  # the adw_issues.Issue (github and local sources)


def first_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[0][:200] if lines else ""


def issue_text_of(issue: Any) -> str:
    body = str(getattr(issue, "body", "") or "").strip()
    return f"{issue.title}\n\n{body}".strip()


def read_issue(ref: str, source_name: str | None = None) -> tuple[IssueInput, Any]:
    """(the issue, its source) for --issue N (or a local issue file's ref); the configured
    source, or the one a run was started with."""
    from .adw_issues import issue_source  # part C

    project = current_project()
    source = issue_source(project, source=source_name or str(section("issues", project)["source"]))
    issue = source.read(ref)
    found = IssueInput(issue_text_of(issue), issue.source, str(issue.ref), issue.title, issue)
    return found, source


def create_run(
    db: OrchestratorDB,
    workflow: str,
    phases: Sequence[str],
    given: IssueInput,
    issue_type: str | None,
    adw_id: str | None,
    argv: Sequence[str],
) -> ADWState:
    """A new run: its state file and its `runs` row (status running)."""
    state = ADWState.create(
        given.text,
        issue_type,
        adw_id,
        phases=tuple(phases),
        workflow=workflow,
        issue_source=given.source,
        issue_ref=given.ref,
        issue_title=given.title or first_line(given.text),
    )
    try:
        db.create_run(
            state.adw_id,
            workflow,
            status="running",
            issue_source=state.issue_source,
            issue_ref=state.issue_ref,
            issue_title=state.issue_title,
            issue_type=issue_type,
            details={"issue": given.text, "argv": list(argv)},
        )
    except RunExists as exc:
        state.path.unlink(missing_ok=True)  # the row decides: no half-created run
        hint = f"; resume it with --adw-id {exc.existing}" if exc.existing else ""
        raise StateError(f"{exc}{hint}") from None
    except Exception:
        state.path.unlink(missing_ok=True)
        raise
    return state


def state_from_row(db: OrchestratorDB, adw_id: str, phases: Sequence[str]) -> ADWState | None:
    """A queued run (a trigger or the launcher wrote only its `runs` row): its state file,
    from the row's details (the issue text) or its issue reference."""
    row = db.get_run(adw_id)
    if row is None:
        return None
    source = row.issue_source.value
    text = str(row.details.get("issue") or "")
    if not text.strip() and row.issue_ref and source in ("github", "local"):
        text = read_issue(str(row.issue_ref), source)[0].text
    state = ADWState.create(
        text,
        row.issue_type.value if row.issue_type else None,
        adw_id,
        phases=tuple(phases),
        workflow=row.workflow,
        issue_source=source,
        issue_ref=row.issue_ref,
        issue_title=row.issue_title or first_line(text),
        base_branch=row.base_branch,
    )
    return state


def open_context(db: OrchestratorDB, cli: str, state: ADWState) -> RunContext:
    """The run's context, rooted in the checkout until its worktree is prepared."""
    project = current_project()
    ctx = RunContext(state, db, cli, project, section("workflow", project), project.root)
    if state.issue_source in ("github", "local") and state.issue_ref:
        from .adw_issues import issue_source  # part C

        ctx.source = issue_source(project, source=state.issue_source)
        ctx.issue = ctx.source.read(state.issue_ref)
    if db.get_run(state.adw_id) is None:  # a state file older than the runs table
        db.create_run(
            state.adw_id,
            state.workflow,
            issue_source=state.issue_source,
            issue_ref=state.issue_ref,
            issue_title=state.issue_title,
            issue_type=state.issue_type,
            details={"issue": state.issue},
        )
    return ctx


def comment(ctx: RunContext, text: str, *, question: bool = False) -> None:
    """A progress comment on the issue (carrying the adw_id); never fails the run."""
    if ctx.source is None or ctx.issue is None:
        return
    try:
        ctx.source.comment(ctx.issue, ctx.adw_id, text, question=question)
    except Exception as exc:  # a comment that cannot be posted is logged, the run goes on
        ctx.log(f"could not comment on the issue: {exc}", level="WARNING")
        ctx.note(f"warning: could not comment on the issue: {exc}")


def ensure_type(ctx: RunContext) -> None:
    if ctx.state.issue_type:
        return
    ctx.note("classify: running")
    ctx.state.mark("classify", "running", attempts=ctx.state.phase("classify").attempts + 1)
    try:
        ctx.state.issue_type = classify(ctx)
    except PhaseFailed as exc:
        ctx.state.mark("classify", "failed", error=exc.reason)
        raise
    ctx.state.mark("classify", "completed", result=ctx.state.issue_type)
    ctx.update_run(issue_type=ctx.state.issue_type)
    ctx.note(f"classify: {ctx.state.issue_type}")


def prepare_root(ctx: RunContext) -> None:
    """The run's working root: its worktree (created, or reused after a crash) with its env
    files and port slot; or, with isolation none or outside git, the checkout itself."""
    state, settings, root = ctx.state, ctx.workflow, ctx.project.root
    ctx.is_git = is_work_tree(root)
    isolate = settings.get("isolation") == "worktree"
    if isolate and not ctx.is_git:
        ctx.note(f"warning: {root} is not a git repository: the run works in it directly")
        ctx.log("not a git repository: no worktree, no commits", level="WARNING")
    if not (isolate and ctx.is_git):
        if ctx.is_git:
            state.branch = state.branch or current_branch(root)
            state.base_branch = state.base_branch or _base_branch(ctx)
        ctx.env = {"TAC_ADW_ID": ctx.adw_id, "TAC_WORKTREE": str(root)}
        state.save()
        ctx.update_run(branch=state.branch, base_branch=state.base_branch)
        return
    from .adw_worktree import (
        branch_name,
        copy_env_files,
        create_worktree,
        project_in_worktree,
        run_environment,
    )

    state.base_branch = state.base_branch or _base_branch(ctx)
    number = getattr(ctx.issue, "number", None)
    ref = str(number) if number else ctx.adw_id
    state.branch = state.branch or branch_name(state.issue_type or "chore", ref, state.issue_title)
    remote = str(settings.get("remote") or "origin")
    checkout = create_worktree(
        root,
        ctx.adw_id,
        state.branch,
        state.base_branch,
        str(settings["worktrees_dir"]),
        remote=remote,
    )
    copy_env_files(root, checkout, list(settings.get("copy_files") or []))
    worktree = project_in_worktree(root, checkout)  # the project may be a part of the repo
    span = int(settings["ports_per_run"])
    # Every start asks: a run holding its slot keeps it, a reopened one (slot freed) gets one.
    state.port_base = ctx.db.assign_port(
        ctx.adw_id, int(settings["port_base"]), span, int(settings["max_port_slots"])
    )
    state.worktree = str(checkout)
    ctx.root = worktree
    ctx.env = run_environment(ctx.adw_id, worktree, state.port_base, span)
    state.save()
    from .adw_loops import run_setup

    run_setup(ctx)
    ctx.update_run(
        branch=state.branch,
        worktree=state.worktree,
        port_base=state.port_base,
        base_branch=state.base_branch,
    )
    ctx.note(f"worktree {worktree} on {state.branch} (from {state.base_branch})")


def _base_branch(ctx: RunContext) -> str:
    configured = str(ctx.workflow.get("base_branch") or "")
    if configured:
        return configured
    from .adw_worktree import default_base_branch  # part B1

    return default_base_branch(ctx.project.root, str(ctx.workflow.get("remote") or "origin"))


def answers_arrived(ctx: RunContext) -> bool:
    """For a paused run: the humans' answers to the planner's questions, if any came."""
    state = ctx.state
    from .adw_issues import answers_after  # part C

    answers: list[Any] = []
    if ctx.source is not None and ctx.issue is not None:
        answers = answers_after(ctx.issue, ctx.adw_id)  # the issue as read at this start
    if not answers:
        return False
    state.answers.extend(str(getattr(a, "body", a)) for a in answers)
    state.questions = []
    state.status = "running"
    state.mark("plan", "pending", error=None)
    ctx.update_run(status="running")
    ctx.log(f"{len(answers)} answer(s) to the planner's questions: resuming")
    return True


def pause(ctx: RunContext, questions: list[str]) -> None:
    state = ctx.state
    state.questions = questions
    state.paused_at = utc_now()
    state.status = "paused"
    state.mark("plan", "paused", error=None)
    listed = "\n".join(f"{i}. {q}" for i, q in enumerate(questions, 1))
    comment(
        ctx,
        f"The planner needs answers before it can plan this issue:\n\n{listed}\n\n"
        f"Reply in a comment; the run resumes with your answers (`--adw-id {ctx.adw_id}`).",
        question=True,
    )
    ctx.update_run(status="paused")
    ctx.log("paused: the planner asked questions", questions=questions)
    print(f"[{ctx.adw_id}] paused: the planner asked:\n{listed}", file=sys.stderr)


def run_phases(ctx: RunContext, phases: Sequence[str], *, resume: bool) -> None:
    """Each phase not completed yet, in order: run, commit, mark, comment."""
    functions = phase_functions()
    state = ctx.state
    for name in phases:
        if resume and state.phase(name).status == "completed":
            ctx.note(f"{name}: already completed, skipped")
            continue
        ctx.note(f"{name}: running")
        state.mark(name, "running", attempts=state.phase(name).attempts + 1, error=None)
        try:
            functions[name](ctx)
        except PhaseFailed as exc:
            state.mark(name, "failed", error=exc.reason)
            raise
        except PlanPaused:
            raise
        except (OrchestratorError, RuntimeError, OSError, Terminated) as exc:  # budget, git ...
            state.mark(name, "failed", error=str(exc))
            raise
        commit_phase(ctx, name)
        state.mark(name, "completed")
        ctx.note(f"{name}: completed")
        comment(ctx, f"Phase `{name}` completed.")


def reopen(ctx: RunContext) -> None:
    """A resumed run's row says running again; a finished one (a failed run resumed, the next
    single-phase script of a run) is reopened first (RunExists: its issue has another run)."""
    row = ctx.db.get_run(ctx.adw_id)
    if row is not None and not row.active:
        ctx.db.reopen_run(ctx.adw_id)
    ctx.update_run(status="running", error=None)


def finish(ctx: RunContext, status: str, error: str | None = None) -> None:
    """The run's end in its state and row. Under a queue worker (TAC_WORKER_ID) the row is
    finished only while that worker still holds it: one whose lease another worker took over
    must not end the new holder's run."""
    ctx.state.status = status
    ctx.state.save()
    worker = os.environ.get(WORKER_ENV_VAR) or None
    ctx.db.finish_run(ctx.adw_id, status, error=error, pr_url=ctx.state.pr_url, worker_id=worker)


def starts_runs(phases: Sequence[str]) -> bool:
    return phases[0] in STARTING_PHASES
