"""The phase engine end to end, on a generated project in a real git repository with a bare
remote: each run in its own worktree on its own branch with its own port slot, a commit per
phase that changed files, hooks from the worktree recorded against the phase's agent, ship
pushing only the run's branch, --adw-id resuming after a kill -9, and a queued run (only its
runs row) run as a worker runs it. The agent is the project's fake CLI; issues are local
Markdown files (issues.source local)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tac_bootstrap.runtime.adw_database import OrchestratorDB
from tac_bootstrap.runtime.adw_db_connection import resolve_location
from tac_bootstrap.runtime.adw_local_issues import LocalIssueSource

from .conftest import ProjectFactory
from .workflow_engine_support import (
    HOOK_EVENTS,
    agents,
    checks,
    commit_subjects,
    database,
    engine_env,
    git,
    hook_events,
    overrides,
    prompts,
    query,
    run_row,
    run_workflow,
    state,
    summary,
    with_remote,
    write_issue,
)

QUEUED = [(f"wq00000{n}", f"Write notes {n}") for n in range(1, 5)]
WORKER_ARGS = (
    "--until-empty",
    "--max-concurrent",
    "4",
    "--worker-id",
    "w1",
    "--poll-seconds",
    "0.2",
)
TERM_ARGS = ("--type", "chore", "Tidy up", "--adw-id", "term0001")
PORT_CHECK = 'test -n "$TAC_PORT_RANGE" && echo "port $PORT in $TAC_WORKTREE"'


@pytest.fixture
def project(new_project: ProjectFactory, tmp_path: Path) -> Path:
    return new_project(tmp_path / "work")


@pytest.fixture
def origin(project: Path, tmp_path: Path) -> Path:
    return with_remote(project, tmp_path)


def test_sdlc_ship_works_in_its_own_worktree_and_ships_a_branch(
    project: Path, origin: Path, tmp_path: Path
) -> None:
    base = git(project, "symbolic-ref", "--short", "HEAD")
    base_sha = git(project, "rev-parse", "HEAD")
    ref = write_issue(project, "12-add-health-endpoint.md", "Add a health endpoint", "GET /health")
    env = engine_env(
        project, tmp_path, overrides(test=PORT_CHECK), FAKE_CLAUDE_BUILD_WRITES="app/health.py"
    )
    done = summary(
        run_workflow(project, "sdlc_ship", "--issue", ref, "--adw-id", "e2e00001", env=env)
    )

    worktree = project / "trees" / "e2e00001"
    assert done["worktree"] == str(worktree.resolve())
    assert done["branch"] == "feature/12-add-a-health-endpoint"
    assert done["status"] == "completed"
    # The checkout itself did not move: same branch, same commit, no new files tracked.
    assert git(project, "symbolic-ref", "--short", "HEAD") == base
    assert git(project, "rev-parse", "HEAD") == base_sha
    assert (worktree / "app" / "health.py").is_file()
    assert not (project / "app" / "health.py").exists()

    subjects = commit_subjects(worktree, f"{base}..HEAD")
    tag = "for issues/12-add-health-endpoint.md [adw_id e2e00001]"
    assert subjects == [f"feat(adw): build {tag}", f"feat(adw): plan {tag}"]
    # ship pushed the run's branch, never the base branch.
    remote_refs = git(origin, "for-each-ref", "--format=%(refname:short) %(objectname)")
    assert f"{done['branch']} {git(worktree, 'rev-parse', 'HEAD')}" in remote_refs.splitlines()
    assert f"{base} {base_sha}" in remote_refs.splitlines()

    row = run_row(project, "e2e00001")
    assert (row["status"], row["workflow"], row["issue_source"]) == (
        "completed",
        "sdlc_ship",
        "local",
    )
    assert (row["issue_ref"], row["issue_type"], row["branch"]) == (ref, "feature", done["branch"])
    assert (row["worktree"], row["port_base"], row["base_branch"]) == (
        str(worktree.resolve()),
        9300,
        base,
    )
    summary_file = Path(row["pr_url"])
    assert summary_file == project / "issues" / "pulls" / "e2e00001.md"
    assert done["branch"] in summary_file.read_text(encoding="utf-8")

    # The checks ran in the worktree with the run's port slot.
    assert checks(project, "e2e00001") == [("test", 1, "test", 0, 0)]
    (output,) = [r[0] for r in _outputs(project, "e2e00001")]
    assert output.strip() == f"port 9300 in {worktree.resolve()}"
    check_agents_and_hooks(project, worktree.resolve())
    check_progress_comments(project, ref)


def _outputs(project: Path, adw_id: str) -> list[tuple[str]]:
    rows = query(project, "SELECT output FROM run_checks WHERE adw_id = ?", adw_id)
    return [(r["output"],) for r in rows]


def check_agents_and_hooks(project: Path, worktree: Path) -> None:
    """Every phase agent worked in the worktree, and the hooks the fake CLI ran from the worktree's
    .claude/ recorded into the main database against that agent."""
    instances = agents(project, "e2e00001")
    assert [a["name"] for a in instances] == ["classify", "plan", "build", "review", "document"]
    # The classifier reads the issue before the worktree exists (its branch needs the type).
    assert instances[0]["working_dir"] == str(project)
    assert {a["working_dir"] for a in instances[1:]} == {str(worktree)}
    assert {a["status"] for a in instances} == {"completed"}
    for instance in instances:
        assert hook_events(project, instance["id"]) == HOOK_EVENTS, instance["name"]
    assert not (worktree / "adws" / "schema" / "orchestrator.db").exists()
    assert not (worktree / "logs" / "hooks-fallback.jsonl").exists()


def check_progress_comments(project: Path, ref: str) -> None:
    issue = LocalIssueSource(project, "issues").read(ref)
    bodies = [c.body for c in issue.comments]
    assert all("<!-- tac-bootstrap adw_id=e2e00001 -->" in b for b in bodies)
    assert bodies[0].startswith("Run started: workflow `sdlc_ship`")
    completed = [b.split("`")[1] for b in bodies if b.startswith("Phase `")]
    assert completed == ["plan", "build", "test", "review", "document", "ship"]


def test_resume_after_kill_9_reuses_the_worktree(
    project: Path, origin: Path, tmp_path: Path
) -> None:
    args = ("--type", "bug", "Login fails with an empty password", "--adw-id", "crash0001")
    process, agent_pid = start_hanging(project, tmp_path, "adw_sdlc.py", *args)
    process.kill()  # SIGKILL: no handler runs, the state says build is running
    process.communicate(timeout=30)
    os.kill(agent_pid, signal.SIGKILL)

    crashed = state(project, "crash0001")
    assert crashed["phases"]["build"]["status"] == "running"
    assert run_row(project, "crash0001")["status"] == "running"
    worktree = Path(crashed["worktree"])
    assert worktree.is_dir()

    resumed = run_workflow(
        project, "sdlc", "--adw-id", "crash0001", env=engine_env(project, tmp_path, overrides())
    )
    done = summary(resumed)
    assert "[crash0001] plan: already completed, skipped" in resumed.stderr
    assert done["worktree"] == str(worktree) and done["branch"] == crashed["branch"]
    assert done["branch"].startswith("bug/crash0001-login-fails")
    assert run_row(project, "crash0001")["status"] == "completed"
    names = [(a["name"], a["status"]) for a in agents(project, "crash0001")]
    assert names[:2] == [("plan", "completed"), ("build", "running")]  # the killed one
    assert names[2:] == [("build", "completed"), ("review", "completed"), ("document", "completed")]
    worktrees = git(project, "worktree", "list", "--porcelain")
    assert worktrees.count("worktree ") == 2  # the checkout and the one run's worktree


def test_a_queued_run_is_run_from_its_row(project: Path, origin: Path, tmp_path: Path) -> None:
    """What a worker does: the row is all there is (no state file), the script runs it."""
    env = engine_env(project, tmp_path, overrides(), FAKE_CLAUDE_BUILD_WRITES="notes.txt")
    location = resolve_location(project, adws_dir="adws", environ={})
    assert location.path == database(project)
    with OrchestratorDB.at(location) as db:
        db.create_run(
            "queue0001",
            "patch",
            status="queued",
            issue_title="Write the notes file",
            issue_type="chore",
            details={"issue": "Write the notes file"},
        )
    done = summary(run_workflow(project, "patch", "--adw-id", "queue0001", env=env))
    assert done["status"] == "completed"
    worktree = Path(done["worktree"])
    assert (worktree / "notes.txt").read_text() == "patched\n"
    assert commit_subjects(worktree, "-1") == [
        'chore(adw): patch for "Write the notes file" [adw_id queue0001]'
    ]
    assert [a["name"] for a in agents(project, "queue0001")] == ["patch"]
    assert prompts(project, "queue0001")[0]["prompt_text"].startswith("Patch: ")
    assert checks(project, "queue0001") == [("test", 1, "test", 0, 0)]
    assert run_row(project, "queue0001")["status"] == "completed"


def test_outside_git_the_run_works_in_the_checkout(project: Path, tmp_path: Path) -> None:
    subprocess.run(["rm", "-rf", str(project / ".git")], check=True)
    env = engine_env(project, tmp_path, overrides(), FAKE_CLAUDE_BUILD_WRITES="built.txt")
    run = run_workflow(
        project, "plan_build", "--type", "feature", "Add a page", "--adw-id", "nogit001", env=env
    )
    done = summary(run)
    assert "is not a git repository: the run works in it directly" in run.stderr
    assert done["worktree"] is None and done["branch"] is None
    assert (project / "built.txt").is_file()
    assert {a["working_dir"] for a in agents(project, "nogit001")} == {str(project)}


def test_the_queue_worker_runs_queued_runs_through_the_workflow_scripts(
    project: Path, origin: Path, tmp_path: Path
) -> None:
    """Part A's worker claims each queued row and runs `adw_<workflow>.py --adw-id ID`, four
    at once; the engine finishes the row it holds (worker_id checked), each run in its own
    worktree on its own branch, with its own commit."""
    location = resolve_location(project, adws_dir="adws", environ={})
    with OrchestratorDB.at(location) as db:
        for adw_id, title in QUEUED:
            db.create_run(
                adw_id, "patch", status="queued", issue_type="chore", details={"issue": title}
            )
    env = engine_env(project, tmp_path, overrides(), FAKE_CLAUDE_BUILD_WRITES="notes.txt")
    worker = subprocess.run(
        [sys.executable, str(project / "adws" / "adw_worker.py"), *WORKER_ARGS],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert worker.returncode == 0, worker.stderr[-3000:]
    rows = [run_row(project, adw_id) for adw_id, _ in QUEUED]
    assert [(r["status"], r["worker_id"], r["error"]) for r in rows] == [
        ("completed", "w1", None)
    ] * len(QUEUED)
    assert len({r["worktree"] for r in rows}) == len(QUEUED)
    assert [r["branch"] for r in rows] == [
        f"chore/{adw_id}-{title.lower().replace(' ', '-')}" for adw_id, title in QUEUED
    ]
    for row in rows:
        assert (Path(row["worktree"]) / "notes.txt").read_text() == "patched\n"
        assert commit_subjects(Path(row["worktree"]), "-1")[0].endswith(f"[adw_id {row['adw_id']}]")
        assert state(project, row["adw_id"])["status"] == "completed"


def test_ship_refuses_the_base_branch(project: Path, origin: Path, tmp_path: Path) -> None:
    """With isolation none the run works on the checkout's branch; when that is the base
    branch, ship pushes nothing and opens nothing."""
    base = git(project, "symbolic-ref", "--short", "HEAD")
    remote_sha = git(origin, "rev-parse", base)
    config = overrides(isolation="none")
    env = engine_env(project, tmp_path, config, FAKE_CLAUDE_BUILD_WRITES="built.txt")
    args = ("--type", "feature", "Add a page", "--adw-id", "base0001")
    summary(run_workflow(project, "plan_build", *args, env=env))
    assert git(project, "symbolic-ref", "--short", "HEAD") == base  # no branch was made
    shipped = run_workflow(project, "ship", "--adw-id", "base0001", env=env)
    assert shipped.returncode == 1
    assert f"error: ship phase failed: refusing to ship the base branch {base!r}" in shipped.stderr
    assert git(origin, "rev-parse", base) == remote_sha
    assert not (project / "issues" / "pulls").exists()
    assert run_row(project, "base0001")["status"] == "failed"


def test_sigterm_stops_the_agent_and_fails_the_run(
    project: Path, origin: Path, tmp_path: Path
) -> None:
    """A worker stopping a run (SIGTERM) stops the agent CLI too: it runs in a process group
    of its own and would otherwise go on editing a worktree that another holder resumes."""
    process, agent_pid = start_hanging(project, tmp_path, "adw_plan_build.py", *TERM_ARGS)
    stderr = stop_and_wait(process, agent_pid)
    assert "error: stopped by SIGTERM" in stderr
    assert "resume with: adw_plan_build.py --adw-id term0001" in stderr
    row = run_row(project, "term0001")
    assert (row["status"], row["error"]) == ("failed", "stopped by SIGTERM")
    build = state(project, "term0001")["phases"]["build"]
    assert (build["status"], build["error"]) == ("failed", "stopped by SIGTERM")


def test_under_a_worker_sigterm_leaves_the_row_to_the_queue(
    project: Path, origin: Path, tmp_path: Path
) -> None:
    """The worker died (PR_SET_PDEATHSIG sends SIGTERM): the row stays running under that
    worker, so its lease expires and the run is requeued for another worker, not failed."""
    location = resolve_location(project, adws_dir="adws", environ={})
    with OrchestratorDB.at(location) as db:
        db.create_run("term0002", "plan_build", status="queued", issue_type="chore",
                      details={"issue": "Tidy up"})  # fmt: skip
        assert db.claim_run("w9", 600) is not None
    process, agent_pid = start_hanging(
        project, tmp_path, "adw_plan_build.py", "--adw-id", "term0002", TAC_WORKER_ID="w9"
    )
    assert "the run's row is left to the queue" in stop_and_wait(process, agent_pid)
    row = run_row(project, "term0002")
    assert (row["status"], row["worker_id"], row["error"]) == ("running", "w9", None)


def alive(pid: int) -> bool:
    """Running and not a zombie waiting for whoever adopted it."""
    try:
        os.kill(pid, 0)
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (ProcessLookupError, FileNotFoundError):
        return False
    return fields[0] != "Z"


def start_hanging(
    project: Path, tmp_path: Path, script: str, *args: str, **extra: str
) -> tuple[subprocess.Popen[str], int]:
    """A workflow whose build agent hangs: (the workflow process, the agent's pid) once the
    agent is running."""
    marker = tmp_path / "hanging.pid"
    env = engine_env(
        project,
        tmp_path,
        overrides(),
        FAKE_CLAUDE_HANG_ON="/implement",
        FAKE_CLAUDE_HANG_MARKER=str(marker),
        **extra,
    )
    process = subprocess.Popen(
        [sys.executable, str(project / "adws" / script), *args],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not marker.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert marker.exists(), "the build phase's agent never started"
    deadline = time.monotonic() + 30
    while not marker.read_text().strip() and time.monotonic() < deadline:
        time.sleep(0.05)  # created, not written yet
    return process, int(marker.read_text())


def stop_and_wait(process: subprocess.Popen[str], agent_pid: int) -> str:
    """SIGTERM the workflow; its stderr once it and its agent are gone."""
    process.terminate()
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 143, stderr
    deadline = time.monotonic() + 30
    while alive(agent_pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(agent_pid)
    return stderr
