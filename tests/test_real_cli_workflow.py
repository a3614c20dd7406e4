"""A GitHub issue to a pull request with the real Claude Code CLI: the end-to-end run.

The CLI is real (npm @anthropic-ai/claude-code), and so are git, the bare remote, the
project's own check commands, its hooks and the orchestrator database. Only the two services
we cannot reach are stood in for: the model API (tests/fake_anthropic.py, whose scripted
"model" does what each slash command asks, through the CLI's real Write tool) and GitHub
(tests/fake_gh.py, printing what gh 2.x prints).

One `adw_sdlc_ship.py --issue 7` run is checked end to end: classified by its own agent,
planned, built in its own worktree on its own branch, the project's test command failing
until the fix prompt makes the agent correct the code, reviewed, documented, committed per
phase, pushed, and a pull request that closes the issue, every step in the database.
"""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from tests.fake_anthropic import Block, FakeAnthropic, Request, text, tool_use
from tests.fake_gh_state import FakeGitHub
from tests.real_claude import claude_env

from .conftest import ProjectFactory
from .workflow_engine_support import commit_subjects, git, with_remote

ADW_ID = "e2ecl1a7"
# Passes only once health.OK is true: the builder writes it false, the fix makes it true.
TEST_COMMAND = f"{sys.executable} -c 'import health, sys; sys.exit(0 if health.OK else 1)'"


def acting_model(worktree: Path) -> Any:
    """A scripted model that does what each command asks, in the run's worktree."""

    def respond(request: Request) -> list[Block]:
        if not request.has_tools:
            return [text("side answer")]
        prompt = request.first_user_text
        named = re.search(r"<command-name>/(\w+)</command-name>", prompt)
        command = named.group(1) if named else ""
        if command == "classify_issue":
            return [text("/feature")]
        if command == "feature":
            plan = f"specs/feature-{ADW_ID}-health-check.md"
            if request.turn == 0:
                content = "# Plan: health check\n\n- add health.py\n"
                return [tool_use("Write", {"file_path": str(worktree / plan), "content": content})]
            return [text(plan)]
        if command == "implement":
            if request.turn == 0:
                target = str(worktree / "health.py")
                return [tool_use("Write", {"file_path": target, "content": "OK = False\n"})]
            return [text("Implemented.")]
        if "Fix the failing checks" in prompt:
            if request.turn == 0:
                target = str(worktree / "health.py")
                return [tool_use("Write", {"file_path": target, "content": "OK = True\n"})]
            return [text("Fixed.")]
        if command == "review":
            return [text(json.dumps({"success": True, "summary": "ok", "issues": []}))]
        if command == "document":
            if request.turn == 0:
                target = str(worktree / "docs" / "health.md")
                return [tool_use("Write", {"file_path": target, "content": "# Health\n"})]
            return [text("Documented.")]
        return [text("Done.")]

    return respond


def configure(project: Path) -> None:
    """The project's own commands and GitHub as the issue source, committed and pushed (the
    run's worktree starts from the base branch on the remote)."""
    config_file = project / "tac_bootstrap.yml"
    config = yaml.safe_load(config_file.read_text(encoding="utf-8"))
    config["commands"].update(test=TEST_COMMAND, lint="", typecheck="")
    config["issues"] = {"source": "github", "local_dir": "issues", "label": "adw"}
    config["workflow"] = {**config.get("workflow", {}), "port_base": 9400}
    config_file.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    git(project, "commit", "-qam", "chore: configure the checks and GitHub")
    git(project, "push", "-q", "origin", "HEAD")


def query(database: Path, sql: str, *params: Any) -> list[sqlite3.Row]:
    with sqlite3.connect(database) as conn:
        conn.row_factory = sqlite3.Row
        return list(conn.execute(sql, params))


def test_a_github_issue_becomes_a_pull_request_with_the_real_cli(
    claude_cli: Path, claude_home: Path, new_project: ProjectFactory, tmp_path: Path
) -> None:
    project = new_project(tmp_path / "work")
    origin = with_remote(project, tmp_path)
    configure(project)
    base = git(project, "symbolic-ref", "--short", "HEAD")
    github = FakeGitHub(tmp_path / "github")
    github.update(remote=str(origin))
    github.add_issue(7, "Add a health check", "A health module.", labels=["adw"])
    worktree = project / "trees" / ADW_ID
    database = project / "adws" / "schema" / "orchestrator.db"

    with FakeAnthropic(acting_model(worktree)) as api:
        env = claude_env(
            api.base_url,
            claude_home,
            CLAUDE_CODE_PATH=str(claude_cli),
            TAC_PYTHON=sys.executable,
            ADW_RETRY_BASE_SECONDS="0.01",
            **github.env(),
        )
        run = subprocess.run(
            [sys.executable, str(project / "adws" / "adw_sdlc_ship.py"), "--issue", "7",
             "--adw-id", ADW_ID],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
    assert run.returncode == 0, run.stderr[-4000:]
    assert "Traceback" not in run.stderr

    # The run's own worktree and branch; the checkout itself is untouched.
    (row,) = query(database, "SELECT * FROM runs WHERE adw_id = ?", ADW_ID)
    assert row["status"] == "completed" and row["issue_type"] == "feature"
    assert (row["issue_source"], row["issue_ref"]) == ("github", "7")
    branch = row["branch"]
    assert branch.startswith("feature/7-add-a-health-check")
    assert Path(row["worktree"]) == worktree
    assert (worktree / "health.py").read_text(encoding="utf-8") == "OK = True\n"
    assert not (project / "health.py").exists()
    assert git(project, "status", "--porcelain") == ""
    assert git(project, "symbolic-ref", "--short", "HEAD") == base

    # A commit per phase that changed files, each naming the adw_id; pushed to the remote,
    # whose base branch never moved.
    subjects = commit_subjects(worktree, f"{base}..HEAD")
    assert len(subjects) >= 3 and all(ADW_ID in s for s in subjects), subjects
    assert git(origin, "rev-parse", branch) == git(worktree, "rev-parse", "HEAD")
    assert git(origin, "rev-parse", base) == git(project, "rev-parse", base)

    # The test phase ran the project's command itself: failed, fixed, passed.
    checks = query(
        database, "SELECT attempt, name, exit_code FROM run_checks WHERE adw_id = ? "
        "ORDER BY rowid", ADW_ID,
    )  # fmt: skip
    assert [(c["attempt"], c["name"], c["exit_code"]) for c in checks][-2:] == [
        (1, "test", 1),
        (2, "test", 0),
    ]

    # Every agent worked in the worktree; its hooks were recorded against it.
    agents = query(database, "SELECT * FROM agents WHERE session_id = ? ORDER BY rowid", ADW_ID)
    names = [a["name"] for a in agents]
    for phase in ("classify", "plan", "build", "review", "document"):
        assert any(n.startswith(phase) for n in names), names
    # The classifier reads only the issue, before the branch (named by its answer) exists.
    dirs = {a["name"].split()[0]: a["working_dir"] for a in agents}
    assert dirs.pop("classify") == str(project)
    assert set(dirs.values()) == {str(worktree)}, dirs
    assert all(a["status"] == "completed" for a in agents)
    hooked = query(
        database, "SELECT DISTINCT agent_id FROM agent_logs WHERE log_type = 'tool_call'"
    )
    builder = next(a["id"] for a in agents if a["name"].startswith("build"))
    assert builder in {h["agent_id"] for h in hooked}

    # The pull request: from the run's branch into the base, closing the issue.
    (pull,) = github.read()["pulls"]
    assert (pull["headRefName"], pull["baseRefName"]) == (branch, base)
    assert "Closes #7" in pull["body"]
    assert row["pr_url"].endswith(f"/pull/{pull['number']}")
    comments = next(i for i in github.read()["issues"] if i["number"] == 7)["comments"]
    assert comments and all(ADW_ID in c["body"] for c in comments)
    assert not any(a[:2] == ["pr", "merge"] for a in github.argvs())  # auto_merge is off
