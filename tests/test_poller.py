"""The poller (adws/adw_trigger_poll.py) of a generated project against the stand-in gh.

Real processes, a real SQLite database, the stand-in gh (tests/fake_gh.py, what gh 2.x prints)
and, where the queued runs are run, the layer's fake agent CLI.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tac_bootstrap.runtime.adw_database import OrchestratorDB
from tac_bootstrap.runtime.adw_issues import layer_comment_body

from .db_helpers import MIGRATIONS
from .fake_gh_state import FakeGitHub

TIMEOUT = 300


@pytest.fixture
def project(tmp_path: Path, new_project: Callable[..., Path]) -> Path:
    return new_project(tmp_path)


@pytest.fixture
def github(tmp_path: Path) -> FakeGitHub:
    fake = FakeGitHub(tmp_path / "github")
    fake.add_issue(1, "Add a login page", "A form with a password field.", labels=["adw"])
    fake.add_issue(2, "Fix the footer typo", "It says 'Contcat'.", labels=["adw", "bug"])
    fake.add_issue(3, "Not for the agents", "Needs a person.", labels=["question"])
    fake.add_issue(4, "Closed already", "", labels=["adw"], state="CLOSED")
    return fake


@pytest.fixture
def env(tmp_path: Path, project: Path, github: FakeGitHub) -> dict[str, str]:
    checks = {"test": f'"{sys.executable}" -c "print(1)"', "lint": "", "typecheck": ""}
    return github.env(
        TAC_ORCHESTRATOR_DB=str(tmp_path / "orch.db"),
        TAC_ADW_RUNS_DIR=str(tmp_path / "runs"),
        TAC_HOOK_FALLBACK_LOG=str(tmp_path / "hooks-fallback.jsonl"),
        CLAUDE_CODE_PATH=str(project / "adws" / "tests" / "fake_claude.py"),
        FAKE_CLAUDE_STATE_DIR=str(tmp_path / "fake-state"),
        ADW_RETRY_BASE_SECONDS="0.01",
        TAC_PYTHON=sys.executable,
        TAC_ADW_OVERRIDES=json.dumps({"commands": checks}),
    )


def poll(project: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("TAC_", "FAKE_"))}
    return subprocess.run(
        [sys.executable, str(project / "adws" / "adw_trigger_poll.py"), *args],
        cwd=project,
        env={**inherited, **env},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


def report(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert result.returncode == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return data


def open_db(env: dict[str, str]) -> OrchestratorDB:
    return OrchestratorDB.open(env["TAC_ORCHESTRATOR_DB"], migrations_dir=MIGRATIONS)


def runs_by_issue(env: dict[str, str]) -> dict[str, Any]:
    with open_db(env) as db:
        return {str(run.issue_ref): run for run in db.list_runs(limit=1000)}


def test_labeled_open_issues_are_queued_once(project: Path, env: dict[str, str]) -> None:
    first = report(poll(project, env, "--once", "--enqueue-only"))
    runs = runs_by_issue(env)
    assert sorted(runs) == ["1", "2"]  # not the unlabeled issue, not the closed one
    assert sorted((q["issue"], q["adw_id"]) for q in first["queued"]) == [
        ("1", runs["1"].adw_id),
        ("2", runs["2"].adw_id),
    ]
    for ref, title in (("1", "Add a login page"), ("2", "Fix the footer typo")):
        run = runs[ref]
        assert (run.status.value, run.issue_source.value, run.issue_title) == (
            "queued", "github", title,
        )  # fmt: skip
        assert (run.workflow, run.details["trigger"]) == ("sdlc_ship", "poll")
    second = report(poll(project, env, "--once", "--enqueue-only"))
    assert second["queued"] == []
    assert {s["issue"]: s["reason"] for s in second["skipped"]} == {
        "1": f"queued run {runs['1'].adw_id}",
        "2": f"queued run {runs['2'].adw_id}",
    }
    assert sorted(runs_by_issue(env)) == ["1", "2"]


def test_an_issue_that_had_a_run_is_not_run_again(project: Path, env: dict[str, str]) -> None:
    report(poll(project, env, "--once", "--enqueue-only"))
    with open_db(env) as db:
        claimed = db.claim_run("test-worker", 60)
        assert claimed is not None
        db.finish_run(claimed.adw_id, "completed")
    again = report(poll(project, env, "--once", "--enqueue-only", "--workflow", "patch"))
    assert again["queued"] == []
    reasons = {s["issue"]: s["reason"] for s in again["skipped"]}
    assert reasons[claimed.issue_ref] == f"already run: completed {claimed.adw_id}"


def test_a_paused_run_is_requeued_once_a_person_answers(
    project: Path, env: dict[str, str], github: FakeGitHub
) -> None:
    report(poll(project, env, "--once", "--enqueue-only"))
    adw_id = runs_by_issue(env)["1"].adw_id
    with open_db(env) as db:
        db.update_run(adw_id, status="paused")
    question = layer_comment_body(adw_id, "Which colour should the button be?", question=True)
    github.add_comment(1, "octocat", question, "2026-12-01T10:00:00Z")
    # The layer's own comments (its question, another run's progress) are no answers.
    progress = layer_comment_body("otherrun1", "Build finished.")
    github.add_comment(1, "octocat", progress, "2026-12-01T10:01:00Z")
    waiting = report(poll(project, env, "--once", "--enqueue-only"))
    assert {s["issue"]: s["reason"] for s in waiting["skipped"]}["1"] == f"paused run {adw_id}"
    assert runs_by_issue(env)["1"].status.value == "paused"
    github.add_comment(1, "octocat", "Blue, please.", "2026-12-01T10:05:00Z")
    answered = report(poll(project, env, "--once", "--enqueue-only"))
    assert answered["requeued"] == [{"issue": "1", "adw_id": adw_id}]
    assert runs_by_issue(env)["1"].status.value == "queued"


def test_a_gh_failure_is_one_line_and_no_runs(
    project: Path, env: dict[str, str], github: FakeGitHub
) -> None:
    github.update(logged_in=False)
    result = poll(project, env, "--once", "--enqueue-only")
    assert result.returncode == 1
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert runs_by_issue(env) == {}


def test_once_runs_what_it_queued_through_the_worker_pool(
    project: Path, env: dict[str, str]
) -> None:
    result = poll(project, env, "--once", "--max-concurrent", "2", "--workflow", "patch")
    queued = report(result)["queued"]
    assert len(queued) == 2
    runs = runs_by_issue(env)
    for ref in ("1", "2"):
        # Claimed once by the pool and finished (how the fake-agent run ends is the engine's
        # business; here what matters is that the poller ran it and nothing is left queued).
        assert runs[ref].status.value in ("completed", "failed"), result.stderr
        assert runs[ref].claims == 1
        assert runs[ref].worker_id


def test_the_poller_refuses_an_unknown_workflow(project: Path, env: dict[str, str]) -> None:
    result = poll(project, env, "--once", "--workflow", "worker")
    assert result.returncode == 2
    assert "'worker' is not a workflow" in result.stderr
    assert runs_by_issue(env) == {}


def test_the_poller_polls_until_sigterm(
    project: Path, env: dict[str, str], github: FakeGitHub
) -> None:
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("TAC_", "FAKE_"))}
    process = subprocess.Popen(
        [sys.executable, str(project / "adws" / "adw_trigger_poll.py"), "--enqueue-only",
         "--interval", "1"],
        cwd=project, env={**inherited, **env}, stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        first = json.loads(process.stdout.readline())
        assert len(first["queued"]) == 2
        github.add_issue(5, "Add dark mode", "", labels=["adw"])
        # A later poll picks up the issue labeled in the meantime.
        while not (line := json.loads(process.stdout.readline()))["queued"]:
            assert process.poll() is None
        assert [q["issue"] for q in line["queued"]] == ["5"]
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=TIMEOUT)
    assert process.returncode == 0, err
    assert sorted(runs_by_issue(env)) == ["1", "2", "5"]


def test_the_launcher_runs_github_issues_and_reports_them(
    project: Path, env: dict[str, str], github: FakeGitHub
) -> None:
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("TAC_", "FAKE_"))}
    result = subprocess.run(
        [sys.executable, str(project / "adws" / "adw_launch.py"), "1", "3",
         "--max-concurrent", "2", "--workflow", "patch"],
        cwd=project, env={**inherited, **env}, stdin=subprocess.DEVNULL,
        capture_output=True, text=True, timeout=TIMEOUT,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-4000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert sorted((r["issue"], r["issue_source"], r["status"]) for r in summary["runs"]) == [
        ("1", "github", "completed"),
        ("3", "github", "completed"),  # the launcher needs no label: a person chose the issues
    ]
    # The runs read their issues through gh and commented on them with the layer's marker.
    comments = {i["number"]: i["comments"] for i in github.read()["issues"]}
    for run in summary["runs"]:
        assert any(f"adw_id={run['adw_id']}" in c["body"] for c in comments[int(run["issue"])])
