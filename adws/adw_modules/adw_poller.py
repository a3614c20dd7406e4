"""Poll the open issues with the trigger label and enqueue a run for each one that has none.

The poller is the trigger for a project that GitHub cannot reach (no webhook): every
triggers.poll_interval_seconds it lists the open issues labeled issues.label through the
configured issue source (gh, or the local Markdown issues), and runs at most
triggers.max_concurrent of them at once through a local worker pool, unless --enqueue-only
leaves them to workers elsewhere. One run per issue: an issue that has had a run is not run
again by the poller (a re-run is a person's decision: `adw_launch.py N` or an `/adw` comment).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .adw_database import OrchestratorDB
from .adw_issues import Issue, IssueError, IssueSource, answers_after, issue_source
from .adw_launcher import start_workers, stop_workers
from .adw_project import current_project
from .adw_settings import settings
from .adw_triggers import (
    ACTIVE,
    DEFAULT_WORKFLOW,
    RUN_LOOKUP_LIMIT,
    enqueue_issue,
    requeue_paused,
    valid_workflow,
)
from .orch_run_models import RunRecord


@dataclass
class PollReport:
    queued: list[tuple[str, str]] = field(default_factory=list)  # (issue ref, adw_id)
    requeued: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (issue ref, why)

    def as_json(self) -> str:
        return json.dumps(
            {
                "queued": [{"issue": ref, "adw_id": adw_id} for ref, adw_id in self.queued],
                "requeued": [{"issue": ref, "adw_id": adw_id} for ref, adw_id in self.requeued],
                "skipped": [{"issue": ref, "reason": why} for ref, why in self.skipped],
            },
            sort_keys=True,
        )


def _runs_by_issue(db: OrchestratorDB) -> dict[tuple[str, str], list[RunRecord]]:
    """Every run with an issue, newest first per issue (one query per poll, not per issue)."""
    found: dict[tuple[str, str], list[RunRecord]] = defaultdict(list)
    for run in db.list_runs(limit=RUN_LOOKUP_LIMIT):
        if run.issue_ref is not None:
            found[(run.issue_source.value, run.issue_ref)].append(run)
    return found


def _answered(source: IssueSource, issue: Issue, adw_id: str) -> bool:
    """A person answered the paused run's question (layer comments are never answers)."""
    return bool(answers_after(source.read(issue.ref), adw_id))


def poll_once(db: OrchestratorDB, source: IssueSource, *, label: str, workflow: str) -> PollReport:
    report = PollReport()
    runs = _runs_by_issue(db)
    for issue in source.list_open(label):
        history = runs.get((issue.source, issue.ref), [])
        active = next((run for run in history if run.status.value in ACTIVE), None)
        if active is not None:
            status = active.status.value
            answered = status == "paused" and _answered(source, issue, active.adw_id)
            if answered and requeue_paused(db, active.adw_id, {"trigger": "poll"}):
                report.requeued.append((issue.ref, active.adw_id))
                continue
            report.skipped.append((issue.ref, f"{status} run {active.adw_id}"))
            continue
        if history:
            last = history[0]
            report.skipped.append((issue.ref, f"already run: {last.status.value} {last.adw_id}"))
            continue
        details = {"trigger": "poll", "issue_url": issue.url, "labels": list(issue.labels)}
        result = enqueue_issue(
            db, source=issue.source, ref=issue.ref, title=issue.title, workflow=workflow,
            details=details,
        )  # fmt: skip
        if result.created:
            report.queued.append((issue.ref, result.adw_id))
        else:  # another poller or the webhook queued it a moment ago
            report.skipped.append((issue.ref, f"{result.status} run {result.adw_id}"))
    return report


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="adw_trigger_poll.py",
        description="Poll the open issues with the trigger label (issues.label), enqueue a run "
        "for each issue that never had one, re-queue paused runs that got an answer, and run "
        "at most triggers.max_concurrent at once (adws/README.md, 'Triggers and the webhook').",
    )
    parser.add_argument("--once", action="store_true", help="Poll once, run what is queued, exit.")
    parser.add_argument(
        "--enqueue-only", action="store_true", help="Only enqueue: workers elsewhere run them."
    )
    parser.add_argument(
        "--workflow", default=DEFAULT_WORKFLOW, help=f"Workflow ({DEFAULT_WORKFLOW})."
    )
    parser.add_argument(
        "--max-concurrent", type=int, help="Runs at once (triggers.max_concurrent)."
    )
    parser.add_argument(
        "--interval", type=int, help="Seconds between polls (poll_interval_seconds)."
    )
    return parser


def _poll_and_print(db: OrchestratorDB, source: IssueSource, label: str, workflow: str) -> bool:
    """One poll, its report as one JSON line on stdout; False when the source failed."""
    try:
        report = poll_once(db, source, label=label, workflow=workflow)
    except IssueError as exc:
        print(f"adw_trigger_poll: {exc}", file=sys.stderr, flush=True)
        return False
    print(report.as_json(), flush=True)
    return True


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    project = current_project()
    adws_dir = project.root / project.adws_dir
    triggers = settings("triggers", project)
    label = str(settings("issues", project)["label"])
    interval = args.interval or int(triggers["poll_interval_seconds"])
    max_concurrent = args.max_concurrent or int(triggers["max_concurrent"])
    if not valid_workflow(args.workflow, adws_dir):
        print(
            f"adw_trigger_poll: {args.workflow!r} is not a workflow of {adws_dir}", file=sys.stderr
        )
        return 2
    if max_concurrent < 1 or interval < 1:
        print("adw_trigger_poll: --max-concurrent and --interval must be >= 1", file=sys.stderr)
        return 2
    try:
        source = issue_source(project)
    except IssueError as exc:
        print(f"adw_trigger_poll: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    pool: Any = None
    with OrchestratorDB.open() as db:
        try:
            while True:
                polled = _poll_and_print(db, source, label, args.workflow)
                if args.once:
                    if polled and not args.enqueue_only:
                        pool = start_workers(adws_dir, max_concurrent, until_empty=True)
                        pool.wait()
                    return 0 if polled else 1
                if not args.enqueue_only and (pool is None or pool.poll() is not None):
                    pool = start_workers(adws_dir, max_concurrent, until_empty=False)
                if stop.wait(interval):
                    return 0
        finally:
            stop_workers(pool)
