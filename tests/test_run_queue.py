"""The run queue with real worker processes (adws/adw_worker.py) on SQLite and PostgreSQL.

Eight workers drain fifty queued runs of a stand-in agent command: every run is claimed exactly
once and completed. A worker killed with SIGKILL in the middle of a run: its process stops with
it, the run goes back to the queue when its lease expires (3 s, heartbeat 1 s) and another
worker finishes it. Nothing is timed: the tests wait for conditions with generous timeouts
(the wall time of the fifty runs is printed, for specs/workflows-that-deliver/queue.md).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tac_bootstrap.runtime.adw_database import OrchestratorDB
from tac_bootstrap.runtime.orch_run_models import RunRecord, RunStatus
from tac_bootstrap.runtime.run_worker import Worker, WorkerOptions, child_argv

from .conftest import REPO_ROOT

WORKER = REPO_ROOT / "adws" / "adw_worker.py"
WORKERS = 8
RUNS = 50
TIMEOUT = 300.0  # seconds to wait for any condition: only a broken queue takes that long

# The stand-in agent: records (by a file named <adw_id>.<pid>) which worker started it, then
# exits 0. A run with a hold-<adw_id> file blocks on its first start (its worker gets killed);
# one with a gate-<adw_id> file waits until the test removes it.
FAKE_AGENT = """\
import os, sys, time
adw_id, out = sys.argv[1], sys.argv[2]
first = not any(name.startswith(adw_id + ".") for name in os.listdir(out))
path = os.path.join(out, "%s.%d" % (adw_id, os.getpid()))
with open(path + ".tmp", "w") as handle:
    handle.write(os.environ["TAC_WORKER_ID"])
os.replace(path + ".tmp", path)
while os.path.exists(os.path.join(out, "gate-" + adw_id)):
    time.sleep(0.05)
if first and os.path.exists(os.path.join(out, "hold-" + adw_id)):
    time.sleep(600)
time.sleep(float(os.environ.get("FAKE_RUN_SECONDS", "0.05")))
sys.exit(int(os.environ.get("FAKE_EXIT_CODE", "0")))
"""


@dataclass
class Queue:
    database: str
    migrations: Path
    out: Path
    logs: Path
    agent: Path

    def db(self) -> OrchestratorDB:
        return OrchestratorDB.open(self.database, migrations_dir=self.migrations)

    def enqueue(self, count: int) -> list[str]:
        ids = [f"run{i:03d}" for i in range(count)]
        with self.db() as db:
            for adw_id in ids:
                db.create_run(adw_id, "sdlc", status="queued")
        return ids

    def worker(self, name: str, *options: str, **env: str) -> subprocess.Popen[bytes]:
        command = f"{sys.executable} {self.agent} {{adw_id}} {self.out}"
        log = (self.logs / f"{name}.log").open("wb")
        return subprocess.Popen(
            [sys.executable, str(WORKER), "--worker-id", name, "--command", command,
             "--lease-seconds", "3", "--heartbeat-seconds", "1", "--poll-seconds", "0.2",
             *options],
            env={**os.environ, "TAC_ORCHESTRATOR_DB": self.database, **env},
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip

    def starts(self) -> dict[str, list[str]]:
        """adw_id -> the workers that started it, from the agent's files."""
        found: dict[str, list[str]] = {}
        for path in self.out.iterdir():
            if path.suffix != ".tmp" and not path.name.startswith(("hold-", "gate-")):
                found.setdefault(path.name.split(".")[0], []).append(path.read_text())
        return found

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")


@pytest.fixture
def queue(db_target: tuple[str, Path], tmp_path: Path) -> Iterator[Queue]:
    database, migrations = db_target
    (tmp_path / "out").mkdir()
    (tmp_path / "logs").mkdir()
    agent = tmp_path / "fake_agent.py"
    agent.write_text(FAKE_AGENT)
    made = Queue(database, migrations, tmp_path / "out", tmp_path / "logs", agent)
    with made.db():  # migrated before any worker starts
        pass
    yield made


def wait_for(condition: Callable[[], bool], what: str, timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {timeout:g} s waiting for {what}")
        time.sleep(0.1)


def finish_all(workers: dict[str, subprocess.Popen[bytes]], queue: Queue) -> None:
    """Every worker exits by itself (--until-empty) with 0; kill leftovers on failure."""
    try:
        for name, process in workers.items():
            code = process.wait(timeout=TIMEOUT)
            assert code == 0, f"{name} exited {code}:\n{queue.log(name)}"
    finally:
        for process in workers.values():
            if process.poll() is None:
                process.kill()
                process.wait()


def test_eight_workers_drain_fifty_runs_each_claimed_exactly_once(
    queue: Queue, backend: str
) -> None:
    ids = queue.enqueue(RUNS)
    started = time.monotonic()
    workers = {
        f"w{i}": queue.worker(f"w{i}", "--until-empty", "--max-concurrent", "2")
        for i in range(WORKERS)
    }
    finish_all(workers, queue)
    elapsed = time.monotonic() - started
    print(f"\n{backend}: {RUNS} runs, {WORKERS} workers: {elapsed:.1f} s wall")
    with queue.db() as db:
        runs = {run.adw_id: run for run in db.list_runs(limit=1000)}
    assert sorted(runs) == ids
    assert {run.status for run in runs.values()} == {RunStatus.COMPLETED}
    assert {run.claims for run in runs.values()} == {1}
    starts = queue.starts()
    assert sorted(starts) == ids
    assert all(len(who) == 1 for who in starts.values()), starts
    # The row names the worker that ran it, and the work was shared.
    assert all(starts[adw_id] == [run.worker_id] for adw_id, run in runs.items())
    assert len({run.worker_id for run in runs.values()}) > 1


def test_a_run_of_a_killed_worker_is_requeued_and_finished_by_another(
    queue: Queue, backend: str
) -> None:
    ids = queue.enqueue(RUNS)
    held = ids[5]
    (queue.out / f"hold-{held}").write_text("")
    workers = {
        f"w{i}": queue.worker(f"w{i}", "--until-empty", "--max-concurrent", "2")
        for i in range(WORKERS)
    }
    wait_for(lambda: held in queue.starts(), f"a worker to start {held}")
    victim = queue.starts()[held][0]
    victim_child = next(int(p.name.split(".")[1]) for p in queue.out.glob(f"{held}.*"))
    workers[victim].send_signal(signal.SIGKILL)
    assert workers.pop(victim).wait(timeout=TIMEOUT) == -signal.SIGKILL
    # Its process stops with it (the run must not run twice at once).
    wait_for(lambda: not process_alive(victim_child), "the killed worker's child to stop")
    finish_all(workers, queue)
    with queue.db() as db:
        runs = {run.adw_id: run for run in db.list_runs(limit=1000)}
    assert {run.status for run in runs.values()} == {RunStatus.COMPLETED}
    again = runs[held]
    assert again.claims == 2 and again.worker_id not in (None, victim)
    # Runs the victim held when it died (the held one, and perhaps the other of its two
    # slots, claimed but maybe not started yet) were claimed twice, and finished by another
    # worker that started them once. Every other run was claimed and started exactly once.
    starts = queue.starts()
    twice = {adw_id for adw_id, run in runs.items() if run.claims != 1}
    assert held in twice and sorted(starts[held]) == sorted([victim, str(again.worker_id)])
    for adw_id in ids:
        run, who = runs[adw_id], starts[adw_id]
        if adw_id in twice:
            assert run.claims == 2 and run.worker_id != victim
            assert who.count(str(run.worker_id)) == 1 and set(who) <= {victim, run.worker_id}
        else:
            assert who == [run.worker_id]
    assert any(f"requeued {held}" in queue.log(name) for name in workers)


def freeze_between_writes(process: subprocess.Popen[bytes], queue: Queue) -> None:
    """SIGSTOP the worker at a moment it holds no SQLite write lock. Frozen inside its
    heartbeat's short transaction it would block every writer until resumed: that is SQLite's
    single-writer nature, not the lost lease this test is about (a CI run once hit it)."""
    for _ in range(200):
        process.send_signal(signal.SIGSTOP)
        if queue.database.startswith("postgres"):
            return
        probe = sqlite3.connect(queue.database, timeout=0.2)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.rollback()
            return
        except sqlite3.OperationalError:
            process.send_signal(signal.SIGCONT)
            time.sleep(0.05)
        finally:
            probe.close()
    raise AssertionError("the worker never let go of the write lock")


def test_a_frozen_worker_that_lost_its_lease_stops_its_run(queue: Queue) -> None:
    """A worker stopped (SIGSTOP) longer than its lease: another worker takes the run over and
    finishes it; the first, resumed, finds the lease gone and stops its own process of the
    run instead of finishing it a second time."""
    (adw_id,) = queue.enqueue(1)
    (queue.out / f"hold-{adw_id}").write_text("")
    frozen = queue.worker("w0", "--until-empty")
    workers = {"w0": frozen}
    try:
        wait_for(lambda: adw_id in queue.starts(), "w0 to start the run")
        child = next(int(p.name.split(".")[1]) for p in queue.out.glob(f"{adw_id}.*"))
        freeze_between_writes(frozen, queue)
        workers["w1"] = queue.worker("w1", "--until-empty")
        assert workers["w1"].wait(timeout=TIMEOUT) == 0, queue.log("w1")
        with queue.db() as db:
            run = db.get_run(adw_id)
        assert run is not None and (run.status, run.worker_id, run.claims) == (
            RunStatus.COMPLETED, "w1", 2,
        )  # fmt: skip
        assert process_alive(child)  # w0's process of the run still works on it
        frozen.send_signal(signal.SIGCONT)
        wait_for(lambda: not process_alive(child), "w0 to stop its process of the run")
        finish_all({"w0": frozen}, queue)
    finally:
        for process in workers.values():
            if process.poll() is None:
                process.send_signal(signal.SIGCONT)
                process.kill()
                process.wait()
    assert f"lost the lease of {adw_id}" in queue.log("w0")
    assert f"finished {adw_id}" not in queue.log("w0")
    with queue.db() as db:
        after = db.get_run(adw_id)
    assert after is not None and (after.status, after.worker_id) == (RunStatus.COMPLETED, "w1")


def test_heartbeats_keep_a_run_longer_than_its_lease_with_its_worker(queue: Queue) -> None:
    """A run that lasts many leases (2 s each here) stays with the worker that renews it,
    while another worker looks for expired leases all along."""
    (adw_id,) = queue.enqueue(1)
    (queue.out / f"gate-{adw_id}").write_text("")
    first = queue.worker(
        "w0", "--until-empty", "--lease-seconds", "2", "--heartbeat-seconds", "0.5"
    )
    workers = {"w0": first}
    try:
        wait_for(lambda: adw_id in queue.starts(), "w0 to start the run")
        workers["w1"] = queue.worker("w1", "--until-empty", "--lease-seconds", "2")

        def renewed_for_three_leases() -> bool:
            with queue.db() as db:
                run = db.get_run(adw_id)
            assert run is not None and run.started_at is not None
            assert run.heartbeat_at is not None and run.claims == 1
            return (run.heartbeat_at - run.started_at).total_seconds() >= 6

        wait_for(renewed_for_three_leases, "three leases' worth of heartbeats")
        (queue.out / f"gate-{adw_id}").unlink()
        finish_all(workers, queue)
    finally:
        for process in workers.values():
            if process.poll() is None:
                process.kill()
    with queue.db() as db:
        run = db.get_run(adw_id)
    assert run is not None and (run.status, run.claims, run.worker_id) == (
        RunStatus.COMPLETED, 1, "w0",
    )  # fmt: skip
    assert queue.starts() == {adw_id: ["w0"]}


def test_sigterm_stops_claiming_and_lets_the_running_run_finish(queue: Queue) -> None:
    ids = queue.enqueue(3)
    worker = queue.worker("w0", "--max-concurrent", "1", FAKE_RUN_SECONDS="2")
    try:
        wait_for(lambda: ids[0] in queue.starts(), "the first run to start")
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=TIMEOUT) == 0, queue.log("w0")
    finally:
        if worker.poll() is None:
            worker.kill()
    with queue.db() as db:
        first, *rest = (db.get_run(adw_id) for adw_id in ids)
    assert first is not None and first.status is RunStatus.COMPLETED
    assert [(r.status, r.claims) for r in rest if r] == [(RunStatus.QUEUED, 0)] * 2
    assert "SIGTERM: claiming nothing more" in queue.log("w0")


def test_a_run_its_process_left_running_is_finished_as_failed_with_the_exit_code(
    queue: Queue,
) -> None:
    (adw_id,) = queue.enqueue(1)
    worker = queue.worker("w0", "--until-empty", FAKE_EXIT_CODE="3")
    finish_all({"w0": worker}, queue)
    with queue.db() as db:
        run = db.get_run(adw_id)
    assert run is not None and run.status is RunStatus.FAILED
    assert run.error == "the workflow process exited with code 3"


def test_a_locked_database_is_waited_out_and_the_end_of_the_run_still_recorded(
    tmp_path: Path,
) -> None:
    """Another connection holds SQLite's write lock past the worker's busy timeout just as a
    run's process ends: the worker retries instead of dying, and records the end once the
    lock is gone (the run is not left to be requeued and run again)."""
    database = tmp_path / "orch.db"
    out = tmp_path / "out"
    out.mkdir()
    agent = tmp_path / "fake_agent.py"
    agent.write_text(FAKE_AGENT)
    migrations = REPO_ROOT / "adws" / "schema" / "migrations"
    with OrchestratorDB.open(database, migrations_dir=migrations, busy_timeout_ms=100) as db:
        db.create_run("run000", "sdlc", status="queued")
        (out / "gate-run000").write_text("")
        worker = Worker(
            db,
            WorkerOptions(
                worker_id="w0", root=tmp_path, until_empty=True, lease_seconds=60,
                heartbeat_seconds=1, poll_seconds=0.1, log=False,
                command=f"{sys.executable} {agent} {{adw_id}} {out}",
            ),
        )  # fmt: skip
        locker = sqlite3.connect(database, isolation_level=None, check_same_thread=False)

        def hold_the_lock_while_the_run_ends() -> None:
            try:
                wait_for(lambda: any(out.glob("run000.*")), "the run to start")
                locker.execute("BEGIN IMMEDIATE")
            finally:
                (out / "gate-run000").unlink()  # the run's process ends now
            try:
                wait_for(lambda: worker.database_failures > 0, "the worker to meet the lock")
            finally:
                locker.execute("COMMIT")

        holder = threading.Thread(target=hold_the_lock_while_the_run_ends)
        holder.start()
        try:
            assert worker.run() == 0
        finally:
            holder.join(timeout=TIMEOUT)
            locker.close()
        run = db.get_run("run000")
    assert run is not None and (run.status, run.claims) == (RunStatus.COMPLETED, 1)
    assert worker.database_failures > 0


def test_the_command_template_gets_each_value_as_one_argument(tmp_path: Path) -> None:
    run = RunRecord.model_validate(
        {"adw_id": "a b'c", "workflow": "sdlc", "status": "running",
         "created_at": "2026-12-01T10:00:00.000Z", "updated_at": "2026-12-01T10:00:00.000Z"}
    )  # fmt: skip
    options = WorkerOptions(worker_id="w", root=tmp_path, command="agent --id {adw_id} {workflow}")
    assert child_argv(options, run) == ["agent", "--id", "a b'c", "sdlc"]
    default = child_argv(WorkerOptions(worker_id="w", root=tmp_path, adws_dir="ops"), run)
    assert default == [sys.executable, str(tmp_path / "ops" / "adw_sdlc.py"), "--adw-id", "a b'c"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--max-concurrent", "0"], "--max-concurrent: '0' must be greater than 0"),
        (["--lease-seconds", "5", "--heartbeat-seconds", "5"], "must be shorter than the lease"),
        (["--command", "run {id}"], "only {adw_id} and {workflow}"),
        (["--no-such-option"], "unrecognized arguments"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(options: list[str], message: str) -> None:
    result = subprocess.run(
        [sys.executable, str(WORKER), *options], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1 and message in result.stderr


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (not yet reaped by init) counts as stopped.
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):  # gone between the open and the read
        return False
