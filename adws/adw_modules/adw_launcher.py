"""Run several issues at once: enqueue them, run K local workers until they finish, report.

Each run is claimed by a worker (adws/adw_worker.py) and works in its own worktree, on its own
branch and port slot, like any queued run: the launcher adds nothing but the waiting and the
summary. A run another machine's worker claimed is waited for too (the database is shared).
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .adw_database import OrchestratorDB
from .adw_issues import IssueError, issue_source
from .adw_project import current_project
from .adw_settings import settings
from .adw_triggers import DEFAULT_WORKFLOW, FINISHED, Enqueued, enqueue_issue, valid_workflow
from .orch_run_models import RunRecord

WORKER_SCRIPT = "adw_worker.py"
# A launcher is done with a run once it finished, or once it waits for a person (paused).
SETTLED = (*FINISHED, "paused")
WAIT_SECONDS = 0.5
MAX_POOL_RESTARTS = 3


def start_workers(
    adws_dir: Path, max_concurrent: int, *, until_empty: bool
) -> subprocess.Popen[bytes]:
    """A local worker pool (adw_worker.py) claiming queued runs, at most K at once."""
    command = [
        sys.executable,
        str(adws_dir / WORKER_SCRIPT),
        "--max-concurrent",
        str(max_concurrent),
    ]
    if until_empty:
        command.append("--until-empty")
    # The pool's and the runs' output goes to stderr: stdout is the trigger's report.
    return subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=sys.stderr.fileno())


def stop_workers(pool: subprocess.Popen[bytes] | None) -> None:
    """SIGTERM: the pool stops claiming and waits for the runs it started."""
    if pool is None or pool.poll() is not None:
        return
    pool.send_signal(signal.SIGTERM)
    pool.wait()


def wait_for_runs(
    db: OrchestratorDB, adw_ids: Sequence[str], adws_dir: Path, max_concurrent: int
) -> list[RunRecord]:
    """Run a pool until every run in `adw_ids` settled; restarts a pool that exited while one
    of them is still queued (a bounded number of times)."""
    pool = start_workers(adws_dir, max_concurrent, until_empty=True)
    restarts = 0
    try:
        while True:
            runs = [db.get_run(adw_id) for adw_id in adw_ids]
            known = [run for run in runs if run is not None]
            if all(run.status.value in SETTLED for run in known):
                return known
            if pool.poll() is not None:
                db.requeue_expired()  # a worker that died holding one of ours
                if any(run.status.value == "queued" for run in known):
                    restarts += 1
                    if restarts > MAX_POOL_RESTARTS:
                        raise RuntimeError(
                            f"the worker pool exited {restarts} times with runs still queued "
                            f"(last exit code {pool.returncode}); see its output above"
                        )
                    pool = start_workers(adws_dir, max_concurrent, until_empty=True)
            time.sleep(WAIT_SECONDS)
    finally:
        stop_workers(pool)


def run_cost(db: OrchestratorDB, adw_id: str) -> float:
    return sum(row.cost_usd for row in db.rollup("session", session_id=adw_id))


def summary(db: OrchestratorDB, runs: Sequence[RunRecord]) -> list[dict[str, Any]]:
    return [
        {
            "adw_id": run.adw_id,
            "issue": run.issue_ref,
            "issue_source": run.issue_source.value,
            "workflow": run.workflow,
            "status": run.status.value,
            "branch": run.branch,
            "worktree": run.worktree,
            "port_base": run.port_base,
            "pr_url": run.pr_url,
            "cost_usd": round(run_cost(db, run.adw_id), 6),
            "error": run.error,
        }
        for run in runs
    ]


def print_table(rows: Sequence[dict[str, Any]]) -> None:
    headers = ("adw_id", "issue", "status", "branch", "cost")
    cells = [
        (
            r["adw_id"],
            str(r["issue"] or ""),
            r["status"],
            r["branch"] or "-",
            f"${r['cost_usd']:.4f}",
        )
        for r in rows
    ]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]
    for line in (headers, *cells):
        print("  ".join(value.ljust(widths[i]) for i, value in enumerate(line)).rstrip())


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="adw_launch.py",
        description="Run several issues at once, each in its own worktree and branch: enqueue "
        "them, run a local worker pool until they finish, print a summary and one JSON line. "
        "Exit 1 when a run failed.",
    )
    parser.add_argument(
        "issues", nargs="+", help="GitHub issue numbers (or, with --local, issue files)."
    )
    parser.add_argument(
        "--max-concurrent", type=int, help="Runs at once (triggers.max_concurrent)."
    )
    parser.add_argument(
        "--workflow", default=DEFAULT_WORKFLOW, help=f"Workflow to run ({DEFAULT_WORKFLOW})."
    )
    parser.add_argument(
        "--local", action="store_true", help="Issues are Markdown files (issues.local_dir)."
    )
    return parser


def enqueue_all(
    db: OrchestratorDB, issues: Sequence[Any], workflow: str
) -> list[tuple[Any, Enqueued]]:
    queued = []
    for issue in issues:
        result = enqueue_issue(
            db,
            source=issue.source,
            ref=issue.ref,
            title=issue.title,
            workflow=workflow,
            details={"trigger": "launch", "issue_url": issue.url},
        )
        verb = "queued as" if result.created else f"already has a {result.status} run,"
        print(
            f"adw_launch: {issue.source} issue {issue.ref} {verb} {result.adw_id}", file=sys.stderr
        )
        queued.append((issue, result))
    return queued


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    project = current_project()
    adws_dir = project.root / project.adws_dir
    max_concurrent = args.max_concurrent or int(settings("triggers", project)["max_concurrent"])
    if max_concurrent < 1:
        print("adw_launch: --max-concurrent must be at least 1", file=sys.stderr)
        return 2
    if not valid_workflow(args.workflow, adws_dir):
        print(f"adw_launch: {args.workflow!r} is not a workflow of {adws_dir}", file=sys.stderr)
        return 2
    try:
        source = issue_source(project, source="local" if args.local else None)
        issues = [source.read(ref) for ref in args.issues]
    except IssueError as exc:
        print(f"adw_launch: {exc}", file=sys.stderr)
        return 2
    with OrchestratorDB.open() as db:
        queued = enqueue_all(db, issues, args.workflow)
        adw_ids = list(dict.fromkeys(result.adw_id for _, result in queued))
        interrupted = False
        try:
            runs = wait_for_runs(db, adw_ids, adws_dir, max_concurrent)
        except KeyboardInterrupt:
            interrupted = True
            runs = [run for run in map(db.get_run, adw_ids) if run is not None]
            print("adw_launch: interrupted; the runs below keep their state", file=sys.stderr)
        rows = summary(db, runs)
    print_table(rows)
    counts = {status: sum(r["status"] == status for r in rows) for status in SETTLED}
    print(json.dumps({"runs": rows, **counts}, sort_keys=True))
    if interrupted:
        return 130
    return 1 if counts["failed"] or counts["cancelled"] or len(rows) < len(adw_ids) else 0
