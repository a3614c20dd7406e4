"""Eight workers, fifty queued workflow runs, the layer's fake agent CLI: the whole path.

tests/test_run_queue.py proves the queue's claims, leases and SIGKILL recovery with a one-line
stand-in command; here each claimed run is a real `adw_patch.py --adw-id` of a generated
project in a git repository: the phase engine, its own worktree and branch, the fake agent CLI
(adws/tests/fake_claude.py) with the project's hooks, the project's check command, a commit.
Eight `adw_worker.py` processes share the database; every run must be claimed once and end
completed on a branch of its own, with its own agent and prompt rows. One worker is killed
with SIGKILL while its run is in flight: that run's lease expires, another worker claims it and
`--adw-id` resumes it in the worktree it left.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tac_bootstrap.runtime.adw_database import OrchestratorDB

from .conftest import ProjectFactory
from .workflow_engine_support import git, query, with_remote

RUNS = 50
WORKERS = 8
TIMEOUT = 900.0
LEASE = ("--lease-seconds", "10", "--heartbeat-seconds", "1")


def worker_env(project: Path, tmp_path: Path) -> dict[str, str]:
    overrides = {
        "commands": {"test": "echo 1 passed", "lint": "", "typecheck": ""},
        "workflow": {"port_base": 9500},
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TAC_", "FAKE_CLAUDE"))}
    env.update(
        CLAUDE_CODE_PATH=str(project / "adws" / "tests" / "fake_claude.py"),
        FAKE_CLAUDE_STATE_DIR=str(tmp_path / "fake-state"),
        FAKE_CLAUDE_BUILD_WRITES="tidy.txt",  # each run's builder changes a file of its own
        ADW_RETRY_BASE_SECONDS="0.01",
        TAC_PYTHON=sys.executable,
        TAC_ADW_OVERRIDES=json.dumps(overrides),
    )
    return env


def test_eight_workers_run_fifty_queued_workflows_each_once(
    new_project: ProjectFactory, tmp_path: Path
) -> None:
    project = new_project(tmp_path / "work")
    with_remote(project, tmp_path)
    ids = [f"q{n:07d}" for n in range(RUNS)]
    database = project / "adws" / "schema" / "orchestrator.db"
    migrations = project / "adws" / "schema" / "migrations"
    with OrchestratorDB.open(database, migrations_dir=migrations) as db:
        for n, adw_id in enumerate(ids):
            db.create_run(
                adw_id,
                "patch",
                status="queued",
                issue_type="chore",
                issue_title=f"Tidy module {n}",
                details={"issue": f"Tidy module {n}"},
            )
    env = worker_env(project, tmp_path)
    workers = []
    for n in range(WORKERS):
        with open(tmp_path / f"w{n}.log", "wb") as log:  # the child keeps its own handle
            command = [sys.executable, str(project / "adws" / "adw_worker.py"), "--until-empty"]
            options = ["--worker-id", f"w{n}", "--max-concurrent", "1", "--poll-seconds", "0.2"]
            options += LEASE
            workers.append(
                subprocess.Popen(
                    [*command, *options],
                    cwd=project,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
    deadline = time.monotonic() + TIMEOUT
    victim = None
    while victim is None and time.monotonic() < deadline:
        held = query(
            project, "SELECT adw_id FROM runs WHERE worker_id = 'w0' AND status = 'running'"
        )
        if held:
            victim = held[0]["adw_id"]
            workers[0].send_signal(signal.SIGKILL)
        else:
            time.sleep(0.05)
    assert victim is not None, "worker w0 never held a run"
    for worker in workers:
        worker.wait(timeout=max(1.0, deadline - time.monotonic()))
    logs = "\n".join((tmp_path / f"w{n}.log").read_text(errors="replace") for n in range(8))
    assert workers[0].returncode == -signal.SIGKILL
    assert all(w.returncode == 0 for w in workers[1:]), logs[-4000:]

    rows = {r["adw_id"]: r for r in query(project, "SELECT * FROM runs")}
    assert sorted(rows) == ids
    assert {r["status"] for r in rows.values()} == {"completed"}, logs[-4000:]
    # The killed worker's run was claimed again and finished elsewhere; nobody ran another
    # run twice.
    assert rows[victim]["claims"] == 2 and rows[victim]["worker_id"] != "w0"
    assert {r["claims"] for k, r in rows.items() if k != victim} == {1}
    assert len({r["worker_id"] for r in rows.values()}) > 1  # the workers shared the queue
    assert len({r["branch"] for r in rows.values()}) == RUNS
    assert len({r["worktree"] for r in rows.values()}) == RUNS

    agents = query(project, "SELECT session_id, name, working_dir, status FROM agents")
    done = [a for a in agents if a["status"] == "completed"]
    assert sorted(a["session_id"] for a in done) == ids  # one completed patch agent per run
    assert {a["session_id"] for a in agents if a["status"] != "completed"} <= {victim}
    for agent in agents:
        assert agent["working_dir"] == rows[agent["session_id"]]["worktree"]
    prompts = query(
        project,
        "SELECT a.session_id FROM prompts p JOIN agents a ON a.id = p.agent_id "
        "WHERE p.status = 'completed'",
    )
    assert sorted(p["session_id"] for p in prompts) == ids
    checks = query(project, "SELECT adw_id, exit_code FROM run_checks")
    assert set(c["adw_id"] for c in checks) == set(ids) and {c["exit_code"] for c in checks} == {0}
    # each branch holds its own run's commit and nothing of the others'
    for adw_id, row in [*list(rows.items())[:: RUNS // 5], (victim, rows[victim])]:
        subjects = git(project, "log", "--format=%s", f"HEAD..{row['branch']}").splitlines()
        assert subjects and all(adw_id in s for s in subjects), subjects
        assert git(project, "show", f"{row['branch']}:tidy.txt") == "patched"
    assert git(project, "status", "--porcelain") == ""
