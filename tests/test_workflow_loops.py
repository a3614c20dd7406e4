"""The loops that do not trust the agent, on a generated project in a real git repository: the
test phase decides from the project's own commands' exit codes (a fix prompt with the failing
output between attempts, a command that hangs killed at the timeout, attempts exhausted fail
the run with every attempt recorded), the review loop fixes blockers and re-reviews, the plan
questions pause a run and its answers resume it, and auto-merge follows only passing checks."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tac_bootstrap.runtime.adw_local_issues import LocalIssueSource, sidecar_of

from .conftest import ProjectFactory
from .workflow_engine_support import (
    agents,
    checks,
    commit_subjects,
    engine_env,
    git,
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

FIXED_TEST = (
    "test -f fixed.txt && echo fixed || { echo 'E   AssertionError: no fixed.txt'; exit 1; }"
)


@pytest.fixture
def project(new_project: ProjectFactory, tmp_path: Path) -> Path:
    repo = new_project(tmp_path / "work")
    with_remote(repo, tmp_path)
    return repo


def test_failing_checks_are_fixed_and_pass_on_attempt_2(project: Path, tmp_path: Path) -> None:
    config = overrides(test=FIXED_TEST, lint="echo lint clean")
    env = engine_env(project, tmp_path, config, FAKE_CLAUDE_FIX_CREATES="fixed.txt")
    done = summary(
        run_workflow(project, "patch", "--type", "bug", "Fix it", "--adw-id", "loop0001", env=env)
    )

    assert checks(project, "loop0001") == [
        ("test", 1, "test", 1, 0),
        ("test", 1, "lint", 0, 0),
        ("test", 2, "test", 0, 0),
        ("test", 2, "lint", 0, 0),
    ]
    assert [a["name"] for a in agents(project, "loop0001")] == ["patch", "test_fix"]
    fix = prompts(project, "loop0001")[1]["prompt_text"]
    assert fix.startswith("Fix the failing checks (test exited 1).")
    assert "E   AssertionError: no fixed.txt" in fix  # the failing command's own output
    assert "lint clean" not in fix  # passing commands are left out
    worktree = Path(done["worktree"])
    assert commit_subjects(worktree, "-1") == [
        'fix(adw): test fix 1 for "Fix it" [adw_id loop0001]'
    ]
    assert state(project, "loop0001")["checks_passed"] is True
    assert run_row(project, "loop0001")["status"] == "completed"


def test_a_hanging_command_is_killed_and_exhausted_attempts_fail_the_run(
    project: Path, tmp_path: Path
) -> None:
    hang = "echo $$ > hang.pid; echo started; sleep 300"
    config = overrides(
        test=hang, lint="echo 'x.py:1: E501'; exit 2", command_timeout_seconds=2, test_attempts=2
    )
    env = engine_env(project, tmp_path, config)
    run = run_workflow(
        project, "patch", "--type", "chore", "Tidy up", "--adw-id", "loop0002", env=env
    )
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    reason = "checks still failing after 2 attempt(s): test timed out, lint exited 2"
    assert f"error: test phase failed: {reason}" in run.stderr
    assert "resume with: adw_patch.py --adw-id loop0002" in run.stderr

    assert checks(project, "loop0002") == [
        ("test", 1, "test", None, 1),
        ("test", 1, "lint", 2, 0),
        ("test", 2, "test", None, 1),
        ("test", 2, "lint", 2, 0),
    ]
    rows = query(
        project, "SELECT output FROM run_checks WHERE adw_id = ? AND name = 'test'", "loop0002"
    )
    assert all("timed out after 2 s" in r["output"] for r in rows)
    worktree = Path(state(project, "loop0002")["worktree"])
    pid = int((worktree / "hang.pid").read_text())
    with pytest.raises(ProcessLookupError):  # the whole process group was killed
        os.kill(pid, 0)
    # One fix between the two attempts, none after the last.
    assert [a["name"] for a in agents(project, "loop0002")] == ["patch", "test_fix"]
    row = run_row(project, "loop0002")
    assert (row["status"], row["error"]) == ("failed", f"test phase failed: {reason}")
    assert state(project, "loop0002")["phases"]["test"] == {
        **state(project, "loop0002")["phases"]["test"],
        "status": "failed",
        "error": reason,
    }
    logs = query(
        project,
        "SELECT message FROM system_logs WHERE message LIKE ?",
        "adw loop0002: test attempt%",
    )
    assert [r["message"] for r in logs] == [
        "adw loop0002: test attempt 1: test timed out",
        "adw loop0002: test attempt 1: lint exited 2",
        "adw loop0002: test attempt 2: test timed out",
        "adw loop0002: test attempt 2: lint exited 2",
    ]

    # Resumed with a command that passes: the row reopens, gets a port slot again, and the
    # attempts go on from 3.
    config = overrides(test="echo ok", command_timeout_seconds=2)
    done = summary(
        run_workflow(
            project, "patch", "--adw-id", "loop0002", env=engine_env(project, tmp_path, config)
        )
    )
    assert done["status"] == "completed"
    assert checks(project, "loop0002")[4:] == [("test", 3, "test", 0, 0)]
    row = run_row(project, "loop0002")
    assert (row["status"], row["error"], row["port_base"]) == ("completed", None, 9300)


def test_a_missing_tool_fails_at_once_without_a_fix_prompt(project: Path, tmp_path: Path) -> None:
    config = overrides(test="echo ok", lint="no-such-linter-here .")
    env = engine_env(project, tmp_path, config)
    run = run_workflow(project, "patch", "--type", "chore", "Tidy", "--adw-id", "tool0001", env=env)
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert "lint: `no-such-linter-here .` exited 127 (command not found" in run.stderr
    assert "workflow.setup" in run.stderr
    assert checks(project, "tool0001") == [("test", 1, "test", 0, 0), ("test", 1, "lint", 127, 0)]
    assert [a["name"] for a in agents(project, "tool0001")] == ["patch"]  # nothing spent on it


def test_setup_runs_once_in_a_new_worktree_and_its_failure_starts_no_agent(
    project: Path, tmp_path: Path
) -> None:
    setup = "echo set up >> setup.log; test -f setup.log"
    env = engine_env(project, tmp_path, overrides(test="test -f setup.log", setup=setup))
    done = summary(
        run_workflow(project, "patch", "--type", "chore", "Tidy", "--adw-id", "setup001", env=env)
    )
    worktree = Path(done["worktree"])
    summary(run_workflow(project, "test", "--adw-id", "setup001", env=env))  # a later script
    assert (worktree / "setup.log").read_text() == "set up\n"  # once, not per script
    assert checks(project, "setup001")[0] == ("setup", 1, "setup", 0, 0)

    failing = engine_env(project, tmp_path, overrides(setup="echo 'no lock file'; exit 3"))
    run = run_workflow(
        project, "patch", "--type", "chore", "Tidy", "--adw-id", "setup002", env=failing
    )
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert (
        "error: setup failed: workflow.setup `echo 'no lock file'; exit 3` exited 3 in"
        in run.stderr
    )
    assert "setup | no lock file" in run.stderr
    assert agents(project, "setup002") == []
    assert run_row(project, "setup002")["status"] == "failed"


def test_review_blockers_are_fixed_and_re_reviewed(project: Path, tmp_path: Path) -> None:
    env = engine_env(
        project,
        tmp_path,
        overrides(),
        FAKE_CLAUDE_REVIEW_BLOCKERS="1",
        FAKE_CLAUDE_FIX_CREATES="review_fix.txt",
    )
    args = ("--type", "feature", "Add a page", "--adw-id", "rev00001")
    done = summary(run_workflow(project, "plan_build_test_review", *args, env=env))
    names = [(a["name"], a["status"]) for a in agents(project, "rev00001")]
    assert names == [
        ("plan", "completed"),
        ("build", "completed"),
        ("review", "completed"),
        ("review_fix", "completed"),
        ("review", "completed"),
    ]
    fix = prompts(project, "rev00001")[3]["prompt_text"]
    assert "- the endpoint has no test" in fix
    worktree = Path(done["worktree"])
    assert (worktree / "review_fix.txt").is_file()
    assert commit_subjects(worktree, "-1") == [
        'feat(adw): review fix 1 for "Add a page" [adw_id rev00001]'
    ]


def test_review_blockers_left_after_the_last_review_fail_it(project: Path, tmp_path: Path) -> None:
    env = engine_env(
        project, tmp_path, overrides(review_attempts=2), FAKE_CLAUDE_REVIEW_BLOCKERS="5"
    )
    args = ("--type", "feature", "Add a page", "--adw-id", "rev00002")
    run = run_workflow(project, "plan_build_test_review", *args, env=env)
    assert run.returncode == 1
    assert (
        "error: review phase failed: review found blockers: the endpoint has no test" in run.stderr
    )
    assert [a["name"] for a in agents(project, "rev00002")][2:] == [
        "review",
        "review_fix",
        "review",
    ]
    assert run_row(project, "rev00002")["status"] == "failed"


def test_plan_questions_pause_the_run_until_answered(project: Path, tmp_path: Path) -> None:
    ref = write_issue(project, "7-export.md", "Export the orders")
    env = engine_env(project, tmp_path, overrides(), FAKE_CLAUDE_PLAN_QUESTIONS="1")
    args = ("--issue", ref, "--type", "feature", "--adw-id", "ask00001")
    paused = run_workflow(project, "plan_build", *args, env=env)
    done = summary(paused)
    assert done["status"] == "paused"
    assert "paused: the planner asked:\n1. Which page should link to it?" in paused.stderr
    assert run_row(project, "ask00001")["status"] == "paused"
    assert state(project, "ask00001")["phases"]["plan"]["status"] == "paused"
    issue = LocalIssueSource(project, "issues").read(ref)
    assert "2. Is a login required?" in issue.comments[-1].body

    waiting = run_workflow(project, "plan_build", "--adw-id", "ask00001", env=env)
    assert summary(waiting)["status"] == "paused"
    assert "still waiting for answers to the planner's questions" in waiting.stderr
    assert [a["name"] for a in agents(project, "ask00001")] == ["plan"]

    sidecar = sidecar_of(project / ref)
    sidecar.write_text(sidecar.read_text() + "\nThe orders page. No login.\n")
    resumed = summary(run_workflow(project, "plan_build", "--adw-id", "ask00001", env=env))
    assert resumed["status"] == "completed"
    assert resumed["plan_file"].startswith("specs/feature-ask00001-")
    plan_prompt = prompts(project, "ask00001")[-2]["prompt_text"]
    assert plan_prompt.endswith(
        "## Answers to the planner's questions\n\nThe orders page. No login."
    )
    assert run_row(project, "ask00001")["status"] == "completed"


def test_a_text_issue_s_questions_are_answered_on_the_command_line(
    project: Path, tmp_path: Path
) -> None:
    env = engine_env(project, tmp_path, overrides(), FAKE_CLAUDE_PLAN_QUESTIONS="1")
    args = ("Export the orders", "--type", "feature", "--adw-id", "ask00002")
    assert summary(run_workflow(project, "plan_build", *args, env=env))["status"] == "paused"
    # a running process marks a run started by hand as alive (no lease to tell it by)
    assert json.loads(run_row(project, "ask00002")["details"])["pid"] > 0

    answer = ("--adw-id", "ask00002", "--answer", "The orders page.", "--answer", "No login.")
    resumed = summary(run_workflow(project, "plan_build", *answer, env=env))
    assert resumed["status"] == "completed"
    plan_prompt = prompts(project, "ask00002")[-2]["prompt_text"]
    assert plan_prompt.endswith("The orders page.\n\nNo login.")

    again = run_workflow(project, "plan_build", *answer, env=env)
    assert again.returncode == 2
    assert "is not waiting for answers" in again.stderr and "Traceback" not in again.stderr


def test_auto_merge_only_after_passing_checks(project: Path, tmp_path: Path) -> None:
    """Local mode's summary file stands in for the pull request; the log says whether the
    engine asked the source to merge (gh's own behaviour is tested with the stand-in gh)."""
    passing = engine_env(project, tmp_path, overrides(auto_merge=True))
    args = ("--type", "chore", "Tidy", "--adw-id")
    summary(run_workflow(project, "patch", *args, "merge001", env=passing))
    summary(run_workflow(project, "ship", "--adw-id", "merge001", env=passing))
    no_checks = engine_env(project, tmp_path, overrides(test="", auto_merge=True))
    summary(run_workflow(project, "patch", *args, "merge002", env=no_checks))
    summary(run_workflow(project, "ship", "--adw-id", "merge002", env=no_checks))
    for adw_id, expected in (("merge001", "auto-merge: "), ("merge002", "auto-merge not enabled")):
        logs = query(
            project,
            "SELECT message FROM system_logs WHERE message LIKE ?",
            f"adw {adw_id}: auto-merge%",
        )
        assert [r["message"].split(": ", 1)[1][: len(expected)] for r in logs] == [expected], adw_id
    assert git(project, "branch", "--list", "chore/merge00*").count("chore/") == 2
