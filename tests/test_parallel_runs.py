"""Four runs at once through the launcher (adws/adw_launch.py) must not interfere.

A generated project in its own git repository, four local issues, the layer's fake agent CLI,
the real worker pool and phase engine: each run in its own worktree on its own branch with its
own port slot and its own database rows. The project's `test` command is a barrier: it waits
until all four runs are in their test phase at the same moment, so the four really ran
concurrently (no timing is assumed), and it writes down what each run's command saw.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

RUNS = 4
TIMEOUT = 600
BARRIER = """\
import json, os, pathlib, sys, time
arrived = pathlib.Path(sys.argv[1])
arrived.mkdir(parents=True, exist_ok=True)
me = os.environ.get("TAC_ADW_ID") or pathlib.Path.cwd().name
seen = {key: os.environ.get(key) for key in ("TAC_ADW_ID", "TAC_PORT_BASE", "PORT", "TAC_WORKTREE")}
(arrived / me).write_text(json.dumps({"cwd": os.getcwd(), **seen}))
deadline = time.monotonic() + float(sys.argv[2])
while len(list(arrived.iterdir())) < int(sys.argv[3]):
    if time.monotonic() > deadline:
        print(f"barrier: only {len(list(arrived.iterdir()))} runs arrived")
        sys.exit(1)
    time.sleep(0.05)
print("4 passed")
"""


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True, timeout=60
    )
    return done.stdout


def launch(
    project: Path,
    tmp_path: Path,
    refs: list[str],
    *,
    test_command: str | None = None,
    workflow: str = "sdlc",
    **extra_env: str,
) -> subprocess.CompletedProcess[str]:
    if test_command is None:
        barrier = tmp_path / "barrier.py"
        barrier.write_text(BARRIER, encoding="utf-8")
        arrived = tmp_path / "arrived"
        test_command = f'"{sys.executable}" "{barrier}" "{arrived}" {TIMEOUT // 2} {RUNS}'
    overrides = {
        "commands": {"test": test_command, "lint": "", "typecheck": ""},
        "issues": {"source": "local"},
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TAC_", "FAKE_CLAUDE"))}
    env.update(
        TAC_ORCHESTRATOR_DB=str(tmp_path / "orch.db"),
        TAC_ADW_RUNS_DIR=str(tmp_path / "runs"),
        TAC_HOOK_FALLBACK_LOG=str(tmp_path / "hooks-fallback.jsonl"),
        CLAUDE_CODE_PATH=str(project / "adws" / "tests" / "fake_claude.py"),
        FAKE_CLAUDE_STATE_DIR=str(tmp_path / "fake-state"),
        ADW_RETRY_BASE_SECONDS="0.01",
        TAC_PYTHON=sys.executable,
        TAC_ADW_OVERRIDES=json.dumps(overrides),
        **extra_env,
    )
    return subprocess.run(
        [sys.executable, str(project / "adws" / "adw_launch.py"), "--local", *refs,
         "--max-concurrent", str(RUNS), "--workflow", workflow],
        cwd=project, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
        timeout=TIMEOUT,
    )  # fmt: skip


def local_issues(project: Path, count: int) -> list[str]:
    """`count` Markdown issues, committed (worktrees branch from the committed base)."""
    issues = project / "issues"
    issues.mkdir()
    refs = []
    for number in range(1, count + 1):
        name = f"{number}-add-widget-{number}.md"
        (issues / name).write_text(
            f"# Add widget {number}\n\nShow widget {number} on the home page.\n", encoding="utf-8"
        )
        refs.append(f"issues/{name}")
    git(project, "add", "issues")
    git(project, "commit", "-q", "-m", f"{count} issues")
    return refs


def rows(database: Path, sql: str, *params: Any) -> list[sqlite3.Row]:
    with sqlite3.connect(database) as conn:
        conn.row_factory = sqlite3.Row
        return list(conn.execute(sql, params))


def test_four_concurrent_runs_do_not_interfere(
    tmp_path: Path, new_project: Callable[..., Path]
) -> None:
    project = new_project(tmp_path)
    refs = local_issues(project, RUNS)
    base = git(project, "rev-parse", "--abbrev-ref", "HEAD").strip()

    result = launch(project, tmp_path, refs)
    assert result.returncode == 0, result.stderr[-4000:]
    lines = result.stdout.strip().splitlines()
    assert lines[0].split() == ["adw_id", "issue", "status", "branch", "cost"]
    summary = json.loads(lines[-1])
    runs = summary["runs"]
    assert (summary["completed"], summary["failed"], len(runs)) == (RUNS, 0, RUNS)
    assert sorted(run["issue"] for run in runs) == sorted(refs)
    ids = [run["adw_id"] for run in runs]

    # Distinct branches and worktrees, each worktree on its own branch, under trees/.
    branches = [run["branch"] for run in runs]
    worktrees = [Path(run["worktree"]) for run in runs]
    assert len(set(ids)) == len(set(branches)) == len(set(worktrees)) == RUNS
    listed = git(project, "worktree", "list", "--porcelain")
    for run, worktree in zip(runs, worktrees, strict=True):
        assert worktree.parent.resolve() == (project / "trees").resolve()
        assert f"worktree {worktree}" in listed
        assert git(worktree, "rev-parse", "--abbrev-ref", "HEAD").strip() == run["branch"]

    # Only its own files: each worktree holds its own plan, none of the others'; the
    # project's own tree holds none and stays clean (the worktrees dir is ignored).
    for run, worktree in zip(runs, worktrees, strict=True):
        plans = {p.name for p in (worktree / "specs").glob("*.md")}
        assert any(f"-{run['adw_id']}-" in name for name in plans), plans
        others = [i for i in ids if i != run["adw_id"]]
        assert not [name for name in plans if any(f"-{o}-" in name for o in others)]
        # Its branch's commits name its own adw_id, never another run's.
        subjects = git(worktree, "log", "--format=%s%n%b", f"{base}..{run['branch']}")
        assert run["adw_id"] in subjects
        assert not [o for o in others if o in subjects]
    assert not [p for p in (project / "specs").glob("*.md") if any(i in p.name for i in ids)]
    # The project's tree changed only by the local issues' comment files (local mode's
    # progress comments live beside the issue): no run's work leaked into it.
    changed = git(project, "status", "--porcelain", "--untracked-files=all").splitlines()
    assert sorted(changed) == sorted(f"?? {ref.removesuffix('.md')}.comments.md" for ref in refs)

    # Distinct port slots, held at the same time; each run's command saw its own
    # environment and ran in its own worktree.
    ports = sorted(int(run["port_base"]) for run in runs)
    assert len(set(ports)) == RUNS
    arrived = {p.name: json.loads(p.read_text()) for p in (tmp_path / "arrived").iterdir()}
    assert sorted(arrived) == sorted(ids)
    for run, worktree in zip(runs, worktrees, strict=True):
        seen = arrived[run["adw_id"]]
        assert Path(seen["cwd"]).resolve() == worktree.resolve()
        assert seen["TAC_PORT_BASE"] == str(run["port_base"])

    # Distinct database rows: every agent and prompt of a run is its own, in its worktree.
    database = tmp_path / "orch.db"
    for run, worktree in zip(runs, worktrees, strict=True):
        agents = rows(database, "SELECT * FROM agents WHERE session_id = ?", run["adw_id"])
        assert agents, run
        # Classifying picks the branch's type, so it runs before the worktree exists.
        places = {a["name"]: Path(a["working_dir"]).resolve() for a in agents}
        assert places.pop("classify", project.resolve()) == project.resolve()
        assert set(places.values()) == {worktree.resolve()}, places
        prompts = rows(
            database,
            "SELECT p.* FROM prompts p JOIN agents a ON a.id = p.agent_id WHERE a.session_id = ?",
            run["adw_id"],
        )
        assert prompts
    sessions = {r["session_id"] for r in rows(database, "SELECT session_id FROM agents")}
    assert sessions == set(ids)


def test_one_failed_run_fails_the_launch_and_not_the_other_runs(
    tmp_path: Path, new_project: Callable[..., Path]
) -> None:
    project = new_project(tmp_path)
    refs = local_issues(project, 2)
    passing = f'"{sys.executable}" -c "print(1)"'
    result = launch(
        project, tmp_path, refs, test_command=passing, workflow="patch",
        FAKE_CLAUDE_FAIL_ON="widget 2",
    )  # fmt: skip
    assert result.returncode == 1, result.stderr[-4000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    outcome = {run["issue"]: run["status"] for run in summary["runs"]}
    assert outcome == {refs[0]: "completed", refs[1]: "failed"}
    assert (summary["completed"], summary["failed"]) == (1, 1)
    failed = next(run for run in summary["runs"] if run["status"] == "failed")
    assert failed["error"]


def test_an_unknown_issue_queues_nothing(tmp_path: Path, new_project: Callable[..., Path]) -> None:
    project = new_project(tmp_path)
    refs = local_issues(project, 1)
    result = launch(project, tmp_path, [*refs, "issues/99-missing.md"], test_command="")
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not (tmp_path / "orch.db").exists() or not rows(
        tmp_path / "orch.db", "SELECT * FROM runs"
    )
