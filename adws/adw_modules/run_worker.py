"""Queue worker: claims queued runs from the orchestrator database and runs their workflows.

    python adws/adw_worker.py                       # K at a time (triggers.max_concurrent)
    python adws/adw_worker.py --until-empty         # drain the queue, then exit

Each claimed run becomes a child process `python <adws_dir>/adw_<workflow>.py --adw-id <id>`
(or the `--command` template) with TAC_WORKER_ID set. A thread extends the lease of every run
the worker holds each `queue.heartbeat_seconds`; a worker that dies stops heartbeating and its
runs go back to the queue once their lease (`queue.lease_seconds`) expires: every worker calls
requeue_expired() before it claims. On PostgreSQL workers on many machines share one queue
(claims lock rows with FOR UPDATE SKIP LOCKED); on SQLite, processes of one machine.

A child that exits while its row still says running (it crashed, or never recorded its end) is
finished by the worker: completed for exit code 0, else failed with the code. On Linux a child
gets SIGTERM when its worker dies (PR_SET_PDEATHSIG), so a requeued run never runs twice; a
run whose lease another worker took is stopped the same way. SIGTERM or SIGINT: stop
claiming, let the running children finish; a second one forwards SIGTERM to them.

Library use (the launcher): `Worker(db, WorkerOptions(...)).run()`.
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from .adw_database import OrchestratorDB
from .orch_database_types import OrchestratorError, RunStatus
from .orch_run_models import RunRecord

WORKER_ID_ENV_VAR = "TAC_WORKER_ID"
CHILD_POLL_SECONDS = 0.1
# A run whose lease expired this many times (its worker died each time) is failed, not
# requeued again.
DEFAULT_MAX_CLAIMS = 3
# Run in a tiny interpreter between fork and the workflow's exec: ask Linux to send SIGTERM
# when the worker (argv[1] is its pid) dies, then become the workflow process.
_PDEATHSIG_EXEC = (
    "import ctypes,os,signal,sys\n"
    "ctypes.CDLL(None,use_errno=True).prctl(1,signal.SIGTERM)\n"  # 1 = PR_SET_PDEATHSIG
    "os.getppid()==int(sys.argv[1]) or sys.exit(143)\n"  # the worker died before prctl
    "os.execvp(sys.argv[2],sys.argv[2:])\n"
)


@dataclass(frozen=True)
class WorkerOptions:
    """How a worker runs. `command`: a template with {adw_id} and {workflow} (tests, custom
    runners); None runs `<python> <adws_dir>/adw_<workflow>.py --adw-id <id>` in `root`."""

    worker_id: str
    root: Path
    adws_dir: str = "adws"
    max_concurrent: int = 4
    until_empty: bool = False
    command: str | None = None
    lease_seconds: float = 120.0
    heartbeat_seconds: float = 20.0
    poll_seconds: float = 2.0
    max_claims: int = DEFAULT_MAX_CLAIMS
    log: bool = True


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def child_argv(options: WorkerOptions, run: RunRecord) -> list[str]:
    """The command line of a claimed run's process."""
    if options.command is not None:  # values quoted: an id is one argument, whatever it holds
        quoted = {"adw_id": shlex.quote(run.adw_id), "workflow": shlex.quote(run.workflow)}
        return shlex.split(options.command.format(**quoted))
    script = options.root / options.adws_dir / f"adw_{run.workflow}.py"
    return [sys.executable, str(script), "--adw-id", run.adw_id]


def spawn(argv: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
    """Start a run's process; on Linux it is told to stop when this worker dies."""
    if sys.platform.startswith("linux"):
        argv = [sys.executable, "-S", "-c", _PDEATHSIG_EXEC, str(os.getpid()), *argv]
    return subprocess.Popen(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL)


@dataclass
class _Child:
    run: RunRecord
    process: subprocess.Popen[bytes]
    lost: bool = False  # another worker holds the run now: never finish it from here


@dataclass
class Heartbeats:
    """Extends the leases of the worker's runs from a thread; reports the runs it lost."""

    db: OrchestratorDB
    options: WorkerOptions
    held: set[str] = field(default_factory=set)
    lost: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="heartbeats", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def hold(self, adw_id: str) -> None:
        with self._lock:
            self.held.add(adw_id)

    def release(self, adw_id: str) -> None:
        with self._lock:
            self.held.discard(adw_id)
            self.lost.discard(adw_id)

    def take_lost(self) -> set[str]:
        with self._lock:
            lost, self.lost = self.lost, set()
            return lost

    def _loop(self) -> None:
        while not self._stop.wait(self.options.heartbeat_seconds):
            with self._lock:
                held = sorted(self.held)
            for adw_id in held:
                self._beat(adw_id)

    def _beat(self, adw_id: str) -> None:
        worker = self.options.worker_id
        try:
            if self.db.heartbeat_run(adw_id, worker, self.options.lease_seconds):
                return
            run = self.db.get_run(adw_id)
        except (OrchestratorError, OSError) as exc:  # the database may come back
            _say(self.options, f"heartbeat of {adw_id} failed: {exc}")
            return
        # Not ours any more: requeued after a lapse (perhaps claimed by another worker).
        if run is not None and (run.status is RunStatus.QUEUED or run.worker_id != worker):
            with self._lock:
                self.lost.add(adw_id)


class Worker:
    """Claims runs until told to stop (or, with until_empty, until nothing is left to do)."""

    def __init__(self, db: OrchestratorDB, options: WorkerOptions) -> None:
        self.db = db
        self.options = options
        self.children: dict[str, _Child] = {}
        # Runs whose process ended, with its exit code, until their end is recorded.
        self.unfinished: dict[str, int] = {}
        self.heartbeats = Heartbeats(db, options)
        self.stopping = False
        self.finished: list[RunRecord] = []
        self.database_failures = 0
        self._failing_since: float | None = None

    def stop(self, *, forward: bool = False) -> None:
        """Claim nothing more; with `forward`, also ask the running children to stop."""
        self.stopping = True
        if forward:
            for child in self.children.values():
                if child.process.poll() is None:
                    child.process.terminate()

    def run(self) -> int:
        """The worker's loop; 0 when it stopped cleanly. A database error is waited out (the
        children go on, their leases are renewed when it is back) for as long as a lease;
        then it is raised: by then other workers may take the runs over."""
        self.heartbeats.start()
        transient: tuple[type[BaseException], ...] = (OrchestratorError, *self.db.dialect.errors)
        try:
            while True:
                try:
                    outcome = self._step()
                    self._failing_since = None
                except transient as exc:
                    self._database_failed(exc)
                    outcome = "wait"
                if outcome == "done":
                    return 0
                if outcome == "wait":
                    busy = self.children or self.unfinished
                    time.sleep(CHILD_POLL_SECONDS if busy else self.options.poll_seconds)
        finally:
            self.heartbeats.stop()

    def _step(self) -> str:
        """One look at the children and the queue: "again" (claim more now), "wait", "done"."""
        self._reap()
        self._record_ends()
        self._stop_lost()
        busy = bool(self.children or self.unfinished)
        if self.stopping:
            return "wait" if busy else "done"
        if len(self.children) < self.options.max_concurrent:
            if self._claim_one():
                return "again"  # fill the other free slots at once
            if self.options.until_empty and not busy and self._drained():
                return "done"
        return "wait"

    def _database_failed(self, exc: BaseException) -> None:
        self.database_failures += 1
        now = time.monotonic()
        if self._failing_since is None:
            self._failing_since = now
        _say(self.options, f"database error (retrying): {exc}")
        if now - self._failing_since > self.options.lease_seconds:
            raise exc

    def _claim_one(self) -> bool:
        for adw_id in self.db.requeue_expired(max_claims=self.options.max_claims):
            _say(self.options, f"requeued {adw_id}: its worker's lease expired")
        run = self.db.claim_run(self.options.worker_id, self.options.lease_seconds)
        if run is None:
            return False
        env = {**os.environ, WORKER_ID_ENV_VAR: self.options.worker_id}
        try:
            process = spawn(child_argv(self.options, run), env, self.options.root)
        except OSError as exc:
            self.db.finish_run(
                run.adw_id, "failed", error=f"could not start: {exc}", worker_id=run.worker_id
            )
            _say(self.options, f"{run.adw_id}: could not start ({exc})")
            return True
        self.children[run.adw_id] = _Child(run, process)
        self.heartbeats.hold(run.adw_id)
        _say(self.options, f"claimed {run.adw_id} ({run.workflow}, claim {run.claims})")
        return True

    def _reap(self) -> None:
        for adw_id, child in list(self.children.items()):
            code = child.process.poll()
            if code is None:
                continue
            del self.children[adw_id]
            if child.lost:
                self.heartbeats.release(adw_id)
            else:
                self.unfinished[adw_id] = code  # its lease stays renewed until recorded

    def _record_ends(self) -> None:
        for adw_id, code in list(self.unfinished.items()):
            self._finish(adw_id, code)
            del self.unfinished[adw_id]
            self.heartbeats.release(adw_id)

    def _finish(self, adw_id: str, code: int) -> None:
        """Record the end of a run whose process ended while its row still says running."""
        if code == 0:
            status, error = "completed", None
        elif code < 0:
            status, error = "failed", f"the workflow process was killed by signal {-code}"
        else:
            status, error = "failed", f"the workflow process exited with code {code}"
        run = self.db.finish_run(adw_id, status, error=error, worker_id=self.options.worker_id)
        self.finished.append(run)
        _say(self.options, f"finished {adw_id}: {run.status.value} (exit code {code})")

    def _stop_lost(self) -> None:
        for adw_id in self.heartbeats.take_lost():
            child = self.children.get(adw_id)
            if child is not None and not child.lost:
                child.lost = True
                child.process.terminate()
                _say(self.options, f"lost the lease of {adw_id}: stopping its process")

    def _drained(self) -> bool:
        """Nothing queued and no leased run running anywhere (a dead worker's run comes back
        to the queue when its lease expires, so until_empty waits for it)."""
        if self.db.list_runs(status=RunStatus.QUEUED, limit=1):
            return False
        running = self.db.list_runs(status=RunStatus.RUNNING, limit=10_000)
        return not any(run.lease_expires_at is not None for run in running)


def _say(options: WorkerOptions, message: str) -> None:
    if options.log:
        print(f"[worker {options.worker_id}] {message}", file=sys.stderr, flush=True)


# -- the command line -------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        """One line and exit code 2, like every ADW script's usage errors."""
        print(f"{self.prog}: error: {message} (see --help)", file=sys.stderr)
        raise SystemExit(2)


def _positive(kind: Callable[[str], float]) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"{text!r} must be greater than 0")
        return value

    return parse


def parser(prog: str = "adw_worker.py") -> argparse.ArgumentParser:
    p = _Parser(
        prog=prog,
        description="Claim queued runs from the orchestrator database and run their workflow "
        "scripts, K at a time, with a lease kept alive by heartbeats (adws/README.md).",
        epilog=f"Environment: TAC_ORCHESTRATOR_DB (database; a postgresql:// URL shares the "
        f"queue between machines). Children get {WORKER_ID_ENV_VAR}.",
    )
    p.add_argument("--max-concurrent", type=_positive(int), metavar="K",
                   help="Runs at once (default: triggers.max_concurrent).")  # fmt: skip
    p.add_argument("--until-empty", action="store_true",
                   help="Exit when nothing is queued and no leased run runs anywhere.")  # fmt: skip
    p.add_argument("--worker-id", help="Name in the runs table (default: host:pid).")
    p.add_argument("--command", metavar="TEMPLATE",
                   help="Command to run per run, with {adw_id} and {workflow} "
                   "(default: python <adws_dir>/adw_<workflow>.py --adw-id {adw_id}).")  # fmt: skip
    p.add_argument("--lease-seconds", type=_positive(float),
                   help="Lease of a claimed run (default: queue.lease_seconds).")  # fmt: skip
    p.add_argument("--heartbeat-seconds", type=_positive(float),
                   help="Lease renewal interval (default: queue.heartbeat_seconds).")  # fmt: skip
    p.add_argument("--poll-seconds", type=_positive(float), default=2.0,
                   help="Wait between looks at an empty queue (default: 2).")  # fmt: skip
    p.add_argument("--max-claims", type=_positive(int), default=DEFAULT_MAX_CLAIMS,
                   help="Fail a run whose lease expired this many times instead of "
                   f"requeueing it (default: {DEFAULT_MAX_CLAIMS}).")  # fmt: skip
    return p


def options_from(args: argparse.Namespace, prog: str) -> WorkerOptions:
    """The options, the project's config filling in what the command line left out."""
    from .adw_project import current_project
    from .adw_settings import settings

    project = current_project()
    queue, triggers = settings("queue", project), settings("triggers", project)
    options = WorkerOptions(
        worker_id=args.worker_id or default_worker_id(),
        root=project.root,
        adws_dir=project.adws_dir,
        max_concurrent=args.max_concurrent or int(triggers["max_concurrent"]),
        until_empty=args.until_empty,
        command=args.command,
        lease_seconds=args.lease_seconds or float(queue["lease_seconds"]),
        heartbeat_seconds=args.heartbeat_seconds or float(queue["heartbeat_seconds"]),
        poll_seconds=args.poll_seconds,
        max_claims=int(args.max_claims),
    )
    _check(options, prog)
    return options


def _check(options: WorkerOptions, prog: str) -> None:
    if options.heartbeat_seconds >= options.lease_seconds:
        _Parser(prog=prog).error(
            f"--heartbeat-seconds ({options.heartbeat_seconds:g}) must be shorter than the "
            f"lease ({options.lease_seconds:g} s), or every lease would lapse"
        )
    if options.command is not None:
        try:
            options.command.format(adw_id="x", workflow="y")
            shlex.split(options.command)
        except (KeyError, IndexError, ValueError) as exc:
            _Parser(prog=prog).error(
                f"--command: only {{adw_id}} and {{workflow}} may be used ({exc})"
            )


def main(argv: Sequence[str] | None = None, prog: str = "adw_worker.py") -> int:
    args = parser(prog).parse_args(argv)
    options = options_from(args, prog)
    try:
        db = OrchestratorDB.open()
    except OrchestratorError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 1
    with db:
        worker = Worker(db, options)

        def on_signal(signum: int, _frame: FrameType | None) -> None:
            forward = worker.stopping  # the second signal stops the children too
            worker.stop(forward=forward)
            what = "stopping the running runs" if forward else "finishing the running runs"
            _say(options, f"{signal.Signals(signum).name}: claiming nothing more, {what}")

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        _say(options, f"started: {options.max_concurrent} at a time, lease "
             f"{options.lease_seconds:g} s, heartbeat {options.heartbeat_seconds:g} s")  # fmt: skip
        fatal: tuple[type[BaseException], ...] = (OrchestratorError, *db.dialect.errors)
        try:
            return worker.run()
        except fatal as exc:
            print(f"{prog}: error: {exc}", file=sys.stderr)
            worker.stop(forward=True)
            return 1
