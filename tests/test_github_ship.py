"""GitHub mode end to end: a generated project's workflows on an issue of the stand-in gh.

The engine (part B2) drives the GitHub source (part C) the way a real run does: ``--issue 12``
reads the issue through gh, progress comments carry the run's marker, the planner's questions
pause the run until a person answers on the issue, and ship pushes the branch to a real bare
remote before ``gh pr create`` (the stand-in refuses a head the remote does not have), links
the issue and, with auto-merge opted in and the checks passed, asks gh to merge.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tac_bootstrap.runtime.adw_issues import is_layer_comment, layer_comment_adw_id
from tests.fake_gh_state import FakeGitHub

from .conftest import ProjectFactory
from .workflow_engine_support import (
    engine_env,
    git,
    overrides,
    prompts,
    run_row,
    run_workflow,
    summary,
    with_remote,
)


@pytest.fixture
def project(new_project: ProjectFactory, tmp_path: Path) -> Path:
    return new_project(tmp_path / "work")


@pytest.fixture
def origin(project: Path, tmp_path: Path) -> Path:
    return with_remote(project, tmp_path)


@pytest.fixture
def github(tmp_path: Path, origin: Path) -> FakeGitHub:
    fake = FakeGitHub(tmp_path / "github")
    fake.update(remote=str(origin))
    fake.add_issue(
        12,
        "Add a health endpoint",
        "GET /health answers 200.",
        labels=["adw"],
        author={"login": "alice", "id": "MDQ6VXNlcjE=", "name": "Alice"},
    )
    return fake


def github_config(**workflow: Any) -> dict[str, Any]:
    config = overrides(**workflow)
    config["issues"] = {"source": "github", "label": "adw"}
    return config


def env_for(
    project: Path, tmp_path: Path, github: FakeGitHub, config: dict[str, Any], **extra: str
) -> dict[str, str]:
    return {**engine_env(project, tmp_path, config, **extra), **github.env()}


def layer_comments(github: FakeGitHub, number: int) -> list[str]:
    issue = next(i for i in github.read()["issues"] if i["number"] == number)
    return [c["body"] for c in issue["comments"]]


def test_sdlc_ship_from_a_github_issue_to_a_pull_request(
    project: Path, origin: Path, github: FakeGitHub, tmp_path: Path
) -> None:
    env = env_for(
        project,
        tmp_path,
        github,
        github_config(auto_merge=True),
        FAKE_CLAUDE_BUILD_WRITES="app/health.py",
    )
    done = summary(
        run_workflow(project, "sdlc_ship", "--issue", "12", "--adw-id", "gh0e2e01", env=env)
    )
    assert done["status"] == "completed"
    branch = done["branch"]
    assert branch.startswith("feature/12-")

    argvs = github.argvs()
    assert argvs[0][:3] == ["issue", "view", "12"]
    creates = [a for a in argvs if a[:2] == ["pr", "create"]]
    assert len(creates) == 1
    create = creates[0]
    base = git(project, "symbolic-ref", "--short", "HEAD")
    assert create[create.index("--base") + 1] == base
    assert create[create.index("--head") + 1] == branch

    (pull,) = github.read()["pulls"]
    url = f"https://github.com/acme/widgets/pull/{pull['number']}"
    assert pull["headRefName"] == branch and "Closes #12" in pull["body"]
    assert layer_comment_adw_id(pull["body"]) == "gh0e2e01"
    # the branch gh was asked about is the one the run pushed
    assert git(origin, "rev-parse", branch) == git(
        project / "trees" / "gh0e2e01", "rev-parse", "HEAD"
    )
    # checks passed and auto-merge is opted in: gh was asked to squash when required checks pass
    assert ["pr", "merge", "--auto", "--squash", url] in argvs
    assert pull["autoMergeRequest"]["mergeMethod"] == "SQUASH"

    bodies = layer_comments(github, 12)
    assert bodies and all(layer_comment_adw_id(body) == "gh0e2e01" for body in bodies)
    assert all(is_layer_comment(body) for body in bodies)  # the loop guard skips every one
    row = run_row(project, "gh0e2e01")
    assert (row["issue_source"], row["issue_ref"], row["pr_url"]) == ("github", "12", url)


def test_plan_questions_wait_for_an_answer_on_the_issue(
    project: Path, origin: Path, github: FakeGitHub, tmp_path: Path
) -> None:
    env = env_for(project, tmp_path, github, github_config(), FAKE_CLAUDE_PLAN_QUESTIONS="1")
    args = ("--issue", "12", "--type", "feature", "--adw-id", "gh0ask01")
    assert summary(run_workflow(project, "plan_build", *args, env=env))["status"] == "paused"
    question = layer_comments(github, 12)[-1]
    assert "Which page should link to it?" in question and is_layer_comment(question)

    # the layer's own comments are no answers: still paused
    waiting = run_workflow(project, "plan_build", "--adw-id", "gh0ask01", env=env)
    assert summary(waiting)["status"] == "paused"

    github.add_comment(12, "alice", "The status page. No login.", "2099-01-01T00:00:00Z")
    resumed = summary(run_workflow(project, "plan_build", "--adw-id", "gh0ask01", env=env))
    assert resumed["status"] == "completed"
    plan_prompt = prompts(project, "gh0ask01")[-2]["prompt_text"]
    assert plan_prompt.endswith(
        "## Answers to the planner's questions\n\nThe status page. No login."
    )
