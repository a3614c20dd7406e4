"""The command line every workflow script shares: `adw_<workflow>.py [ISSUE] [options]`.

Start a run from issue text, `--issue-file` or `--issue N` (the configured issue source),
resume one with `--adw-id ID` (at the first phase not completed; a paused run once the
planner's questions are answered), or run a run a trigger queued (its `runs` row, no state
file yet), as the worker does. Exit codes: 0 done (or paused), 1 failed, 2 no agent CLI; the
last stdout line is a JSON summary.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from .adw_agent_run import BudgetSpent, PhaseFailed, configured_cli
from .adw_database import OrchestratorDB
from .adw_db_connection import default_location
from .adw_engine import (
    WORKER_ENV_VAR,
    IssueInput,
    Terminated,
    answers_arrived,
    comment,
    create_run,
    ensure_type,
    finish,
    open_context,
    pause,
    prepare_root,
    read_issue,
    reopen,
    run_phases,
    starts_runs,
    state_from_row,
)
from .adw_issues import IssueError
from .adw_phases import WORKFLOWS, PlanPaused
from .adw_run_context import OVERRIDES_ENV_VAR, RunContext
from .adw_state import ISSUE_TYPES, ADWState, StateError, check_adw_id
from .agent import AgentCLINotFound
from .orch_database_types import OrchestratorError


def parser(script: str, workflow: str) -> argparse.ArgumentParser:
    phases = WORKFLOWS[workflow]
    starts = starts_runs(phases)
    parser = argparse.ArgumentParser(
        prog=script,
        description=f"AI Developer Workflow {workflow}: {' -> '.join(phases)}. Records every "
        "agent, prompt, check, token and cost in the orchestrator database (adws/README.md).",
        epilog="Environment: CLAUDE_CODE_PATH (agent CLI, default `claude`), "
        "TAC_ORCHESTRATOR_DB (database), TAC_ADW_RUNS_DIR (state files), "
        f"{OVERRIDES_ENV_VAR} (JSON config overrides), ADW_RETRY_BASE_SECONDS (backoff base).",
    )
    if starts:
        parser.add_argument("issue", nargs="*", help="The issue text (or --issue-file, --issue).")
        parser.add_argument("--issue-file", type=Path, help="Read the issue text from a file.")
        parser.add_argument(
            "--issue",
            dest="issue_ref",
            metavar="N",
            help="Work on issue N of the configured source (GitHub number, or local file).",
        )
        parser.add_argument(
            "--type",
            dest="issue_type",
            choices=ISSUE_TYPES,
            help="The issue's type (default: classified with /classify_issue).",
        )
    parser.add_argument(
        "--adw-id",
        required=not starts,
        help="Run id: resume that run (or a queued one); with an issue, the new run's id.",
    )
    parser.add_argument(
        "--answer",
        action="append",
        default=[],
        metavar="TEXT",
        help="With --adw-id of a paused run: an answer to the planner's questions (repeatable; "
        "for runs whose issue has no comments to answer in, such as issue text).",
    )
    return parser


def give_answers(state: ADWState, answers: Sequence[str]) -> None:
    """--answer: the person's answers to a paused run's questions, as if posted on its issue."""
    given = [a.strip() for a in answers if a.strip()]
    if not given:
        return
    state.answers.extend(given)
    state.questions = []
    state.status = "running"
    state.mark("plan", "pending", error=None)


def _given_issue(args: argparse.Namespace) -> tuple[IssueInput | None, object]:
    if getattr(args, "issue_ref", None):
        return read_issue(str(args.issue_ref))
    text = ""
    if getattr(args, "issue_file", None) is not None:
        text = args.issue_file.read_text(encoding="utf-8")
    elif getattr(args, "issue", None):
        text = " ".join(args.issue)
    return (IssueInput(text) if text.strip() else None), None


def _no_database() -> bool:
    """True when the default SQLite database does not exist (so no run can be in it)."""
    location, _ = default_location(need_timeout=False)
    return location.path is not None and not location.path.exists()


def load_state(
    db_factory: type[OrchestratorDB], args: argparse.Namespace, workflow: str, argv: Sequence[str]
) -> tuple[OrchestratorDB, ADWState, bool]:
    """(database, state, resuming): a state file or a queued row is resumed; else a new run."""
    phases = WORKFLOWS[workflow]
    if args.adw_id and ADWState.exists(args.adw_id):
        return db_factory.open(), ADWState.load(args.adw_id), True
    given, _ = _given_issue(args) if starts_runs(phases) else (None, None)
    if given is None and not args.adw_id:
        raise StateError("give an issue to start a run, or --adw-id ID to resume one")
    if given is None and _no_database():
        ADWState.load(check_adw_id(args.adw_id))  # raises the clear "no run" error
    db = db_factory.open()
    try:
        if given is None:
            state = state_from_row(db, check_adw_id(args.adw_id), phases)
            if state is None:
                ADWState.load(args.adw_id)  # raises
                raise AssertionError("unreachable")
            return db, state, True
        issue_type = getattr(args, "issue_type", None)
        return db, create_run(db, workflow, phases, given, issue_type, args.adw_id, argv), False
    except BaseException:
        db.close()
        raise


def execute(ctx: RunContext, workflow: str, resuming: bool) -> str:
    """Run the workflow's phases; the run's final status (completed or paused)."""
    state = ctx.state
    if not os.environ.get(WORKER_ENV_VAR):
        # A run started by hand has no lease: `tac-bootstrap runs` tells it alive by this.
        ctx.update_run(details={"pid": os.getpid(), "host": socket.gethostname()})
    if state.status == "paused" and not answers_arrived(ctx):
        row = ctx.db.get_run(ctx.adw_id)
        if row is not None and row.status.value in ("queued", "running"):
            ctx.update_run(status="paused")  # claimed by a worker too early: waiting again
        ctx.note("still waiting for answers to the planner's questions")
        for question in state.questions:
            ctx.note(f"  - {question}")
        return "paused"
    state.status = "running"
    reopen(ctx)
    phases = WORKFLOWS[workflow]
    ensure_type(ctx)
    prepare_root(ctx)
    where = f" on branch `{state.branch}`" if state.branch else ""
    started = "resumed" if resuming else "started"
    comment(ctx, f"Run {started}: workflow `{workflow}` ({' -> '.join(phases)}){where}.")
    try:
        run_phases(ctx, phases, resume=resuming)
    except PlanPaused as exc:
        pause(ctx, exc.questions)
        return "paused"
    finish(ctx, "completed")
    return "completed"


def summary(state: ADWState, workflow: str, status: str) -> str:
    return json.dumps(
        {
            "adw_id": state.adw_id,
            "plan_file": state.plan_file,
            "phases": list(WORKFLOWS[workflow]),
            "workflow": workflow,
            "status": status,
            "branch": state.branch,
            "worktree": state.worktree,
            "pr_url": state.pr_url,
        }
    )


def child_processes() -> list[int]:
    """This process's children (Linux /proc; [] elsewhere): the agent CLI and check commands,
    each the leader of its own process group."""
    me = str(os.getpid())
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if len(fields) > 1 and fields[1] == me:
            found.append(int(stat.parent.name))
    return found


def _terminate(signum: int, frame: FrameType | None) -> None:
    """Stop what the run started (their own process groups outlive this process otherwise:
    an agent still editing a worktree another holder resumed), then end the run."""
    for pid in child_processes():
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGTERM)
    raise Terminated(f"stopped by {signal.Signals(signum).name}")


def run(ctx: RunContext, script: str, workflow: str, resuming: bool) -> int:
    """Execute the run, record how it ended; the script's exit code."""
    try:
        status = execute(ctx, workflow, resuming)
    except (PhaseFailed, BudgetSpent, OrchestratorError, IssueError, OSError) as exc:
        _failed(ctx, script, exc)
        return 1
    except Terminated as exc:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # record the end undisturbed
        if os.environ.get(WORKER_ENV_VAR):
            # The queue decides: a worker that stops its run finishes the row itself, and
            # the run of a worker that died is requeued once its lease expires.
            print(f"error: {exc}; the run's row is left to the queue", file=sys.stderr)
        else:
            _failed(ctx, script, exc)
        return 128 + signal.SIGTERM
    print(summary(ctx.state, workflow, status))
    return 0


def main(workflow: str, argv: Sequence[str] | None = None) -> int:
    script = Path(sys.argv[0]).name
    arguments = list(sys.argv[1:] if argv is None else argv)
    args = parser(script, workflow).parse_args(arguments)
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _terminate)
    try:
        cli = configured_cli()  # before a run is created: a missing CLI starts nothing
        db, state, resuming = load_state(OrchestratorDB, args, workflow, arguments)
        with db:
            if args.answer and state.status != "paused":
                print(
                    f"error: run {state.adw_id} is not waiting for answers; --answer is only "
                    "for a paused run",
                    file=sys.stderr,
                )
                return 2
            give_answers(state, args.answer)
            print(f"[{state.adw_id}] state: {state.path}", file=sys.stderr)
            return run(open_context(db, cli, state), script, workflow, resuming)
    except AgentCLINotFound as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (StateError, OrchestratorError, IssueError, OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except Terminated as exc:  # before the run existed: nothing to record
        print(f"error: {exc}", file=sys.stderr)
        return 128 + signal.SIGTERM


def _failed(ctx: RunContext, script: str, exc: BaseException) -> None:
    """Record the failure (state, runs row, a comment) and say how to resume."""
    message = str(exc)
    print(f"error: {message}", file=sys.stderr)
    print(f"resume with: {script} --adw-id {ctx.adw_id}", file=sys.stderr)
    try:
        finish(ctx, "failed", message)
        comment(ctx, f"Run failed: {message}\n\nResume with `{script} --adw-id {ctx.adw_id}`.")
    except (OrchestratorError, OSError) as again:
        print(f"error: could not record the failure: {again}", file=sys.stderr)
