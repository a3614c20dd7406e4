"""The phase engine against GitHub through the stand-in gh (tests/fake_gh.py prints what gh 2.x
prints): `--issue N` read with gh, classified, progress comments carrying the adw_id, the pull
request opened from the pushed run branch into the base with "Closes #N", auto-merge asked for
only after the run's checks passed, and plan questions answered in an issue comment."""

from __future__ import annotations

from pathlib import Path

import pytest

from tac_bootstrap.runtime.adw_database import OrchestratorDB
from tac_bootstrap.runtime.adw_db_connection import resolve_location
from tests.fake_gh_state import FakeGitHub

from .conftest import ProjectFactory
from .workflow_engine_support import (
    agents,
    engine_env,
    git,
    overrides,
    prompts,
    run_row,
    run_workflow,
    summary,
    with_remote,
)

ISSUE_VIEW = ["issue", "view", "12", "--json", "number,title,body,labels,author,comments,url"]


@pytest.fixture
def project(new_project: ProjectFactory, tmp_path: Path) -> Path:
    return new_project(tmp_path / "work")


@pytest.fixture
def origin(project: Path, tmp_path: Path) -> Path:
    return with_remote(project, tmp_path)


@pytest.fixture
def github(tmp_path: Path, origin: Path, project: Path) -> FakeGitHub:
    fake = FakeGitHub(tmp_path / "github")
    fake.update(default_branch=git(project, "symbolic-ref", "--short", "HEAD"), remote=str(origin))
    fake.add_issue(12, "Login fails with an empty password", "Steps: submit an empty form.")
    return fake


def github_env(
    project: Path, tmp_path: Path, github: FakeGitHub, *, auto_merge: bool = False
) -> dict[str, str]:
    config = overrides(auto_merge=auto_merge)
    config["issues"] = {"source": "github"}
    return {**engine_env(project, tmp_path, config), **github.env()}


def test_an_issue_becomes_a_pull_request(
    project: Path, origin: Path, tmp_path: Path, github: FakeGitHub
) -> None:
    base = git(project, "symbolic-ref", "--short", "HEAD")
    base_sha = git(origin, "rev-parse", base)
    env = github_env(project, tmp_path, github, auto_merge=True)
    done = summary(
        run_workflow(project, "sdlc_ship", "--issue", "12", "--adw-id", "gh000001", env=env)
    )

    assert done["branch"] == "bug/12-login-fails-with-an-empty-password"
    argvs = github.argvs()
    assert argvs[0] == ISSUE_VIEW
    creates = [a for a in argvs if a[:2] == ["pr", "create"]]
    assert len(creates) == 1
    assert creates[0][creates[0].index("--base") + 1] == base
    assert creates[0][creates[0].index("--head") + 1] == done["branch"]
    (pull,) = github.read()["pulls"]
    assert (pull["baseRefName"], pull["headRefName"]) == (base, done["branch"])
    assert "Closes #12" in pull["body"]
    assert "`echo 3 passed` (test): passed, attempt 1" in pull["body"]
    assert pull["title"].startswith("fix: Login fails with an empty password")
    # The checks passed in this run: auto-merge was asked for, once, on this pull request.
    merges = [a for a in argvs if a[:2] == ["pr", "merge"]]
    assert merges == [["pr", "merge", "--auto", "--squash", done["pr_url"]]]
    assert run_row(project, "gh000001")["pr_url"] == done["pr_url"]
    # Only the run's branch went to the remote; the base branch there is as it was.
    assert git(origin, "rev-parse", base) == base_sha
    assert git(origin, "rev-parse", done["branch"]) == git(
        Path(done["worktree"]), "rev-parse", "HEAD"
    )

    (issue,) = github.read()["issues"]
    bodies = [c["body"] for c in issue["comments"]]
    assert all(b.rstrip().endswith("<!-- tac-bootstrap adw_id=gh000001 -->") for b in bodies)
    assert bodies[0].startswith("Run started: workflow `sdlc_ship`")
    assert agents(project, "gh000001")[0]["name"] == "classify"
    assert run_row(project, "gh000001")["issue_type"] == "bug"


def test_an_issue_with_an_active_run_gets_no_second_one(
    project: Path, tmp_path: Path, github: FakeGitHub
) -> None:
    env = github_env(project, tmp_path, github)
    env["FAKE_CLAUDE_PLAN_QUESTIONS"] = "1"
    args = ("--issue", "12", "--type", "bug")
    summary(run_workflow(project, "plan", *args, "--adw-id", "gh000004", env=env))  # paused
    again = run_workflow(project, "sdlc", *args, "--adw-id", "gh000005", env=env)
    assert again.returncode == 1
    assert "Traceback" not in again.stderr
    assert "github issue 12 already has an active run (gh000004)" in again.stderr
    assert "resume it with --adw-id gh000004" in again.stderr
    assert not (project / "logs" / "adw" / "gh000005" / "adw_state.json").exists()


def test_no_auto_merge_unless_configured(project: Path, tmp_path: Path, github: FakeGitHub) -> None:
    env = github_env(project, tmp_path, github)
    summary(
        run_workflow(
            project, "sdlc_ship", "--issue", "12", "--type", "bug", "--adw-id", "gh000002", env=env
        )
    )
    assert [a for a in github.argvs() if a[:2] == ["pr", "merge"]] == []
    assert len(github.read()["pulls"]) == 1


def test_plan_questions_are_answered_on_the_issue(
    project: Path, tmp_path: Path, github: FakeGitHub
) -> None:
    env = github_env(project, tmp_path, github)
    env["FAKE_CLAUDE_PLAN_QUESTIONS"] = "1"
    args = ("--issue", "12", "--type", "bug", "--adw-id", "gh000003")
    assert summary(run_workflow(project, "plan_build", *args, env=env))["status"] == "paused"
    asked = github.read()["issues"][0]["comments"][-1]["body"]
    assert "1. Which page should link to it?" in asked
    assert "<!-- tac-bootstrap question -->" in asked

    waiting = run_workflow(project, "plan_build", "--adw-id", "gh000003", env=env)
    assert summary(waiting)["status"] == "paused"
    assert "still waiting" in waiting.stderr
    # A trigger that re-queued it too early and the worker that claimed it leave it paused.
    location = resolve_location(project, adws_dir="adws", environ={})
    with OrchestratorDB.at(location) as db:
        db.update_run("gh000003", status="queued")
        assert db.claim_run("w1", 60) is not None
    waiting = run_workflow(project, "plan_build", "--adw-id", "gh000003", env=env)
    assert summary(waiting)["status"] == "paused"
    assert run_row(project, "gh000003")["status"] == "paused"

    github.add_comment(12, "octocat", "The login page. Yes.", "2026-12-01T20:00:00Z")
    done = summary(run_workflow(project, "plan_build", "--adw-id", "gh000003", env=env))
    assert done["status"] == "completed"
    plan_prompts = [
        p["prompt_text"]
        for p in prompts(project, "gh000003")
        if p["prompt_text"].startswith("/bug")
    ]
    assert len(plan_prompts) == 2
    assert plan_prompts[1].endswith("## Answers to the planner's questions\n\nThe login page. Yes.")
