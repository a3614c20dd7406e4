"""`tac-bootstrap runs` and `clean` end to end: a generated project with its real git
repository, real worktrees and the real orchestrator database, through the CLI."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import termios
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from rich.cells import cell_len

from tac_bootstrap import api
from tac_bootstrap.application.runs_service import is_stale
from tac_bootstrap.runtime.adw_database import OrchestratorDB
from tac_bootstrap.runtime.adw_git import commit_all
from tac_bootstrap.runtime.adw_worktree import branch_name, create_worktree, find_worktree

from .conftest import ProjectFactory, run_cli, tree_snapshot


def git(cwd: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(autouse=True)
def _own_database(monkeypatch: pytest.MonkeyPatch) -> None:
    """The project's own SQLite file and runs dir, whatever the environment says."""
    monkeypatch.delenv("TAC_ORCHESTRATOR_DB", raising=False)
    monkeypatch.delenv("TAC_ADW_RUNS_DIR", raising=False)


@pytest.fixture
def project(new_project: ProjectFactory, tmp_path: Path) -> Path:
    root = new_project(tmp_path)
    git(root, "config", "user.name", "Tester")
    git(root, "config", "user.email", "tester@example.com")
    return root


def open_db(root: Path) -> OrchestratorDB:
    return OrchestratorDB.open(
        root / "adws" / "schema" / "orchestrator.db",
        migrations_dir=root / "adws" / "schema" / "migrations",
    )


def start_run(
    root: Path,
    adw_id: str,
    title: str,
    *,
    cost: float = 0.0,
    issue: str | None = None,
    worktrees_dir: str = "trees",
) -> Path:
    """A run as the engine makes one: its row, its worktree on its branch, its cost."""
    base = git(root, "branch", "--show-current").strip()
    branch = branch_name("feature", issue or adw_id, title)
    worktree = create_worktree(root, adw_id, branch, base, worktrees_dir)
    with open_db(root) as db:
        source = "github" if issue else "text"
        db.create_run(adw_id, "sdlc", issue_source=source, issue_ref=issue, issue_title=title)
        db.update_run(adw_id, branch=branch, worktree=str(worktree), base_branch=base)
        if cost:
            owner = db.register_orchestrator_agent("planner", "planner")
            agent = db.start_agent(owner.id, adw_id, adw_id=adw_id)
            prompt = db.start_prompt(agent.id, "plan it", model="sonnet")
            db.complete_prompt(prompt.id, input_tokens=10, output_tokens=5, cost_usd=cost)
    return worktree


def finish(root: Path, adw_id: str, status: str = "completed") -> None:
    with open_db(root) as db:
        db.finish_run(adw_id, status)


def start_live_run(root: Path, adw_id: str, title: str) -> Path:
    """A run a live worker holds (queued, then claimed with a 10-minute lease): running, not
    stale."""
    with open_db(root) as db:
        db.create_run(adw_id, "sdlc", status="queued", issue_title=title)
        claimed = db.claim_run("worker-1", 600)
        assert claimed is not None and claimed.adw_id == adw_id
    base = git(root, "branch", "--show-current").strip()
    branch = branch_name("feature", adw_id, title)
    worktree = create_worktree(root, adw_id, branch, base)
    with open_db(root) as db:
        db.update_run(adw_id, branch=branch, worktree=str(worktree), base_branch=base)
    return worktree


def json_of(result: Any) -> dict[str, Any]:
    document = json.loads(result.stdout)  # the whole of stdout is one JSON document
    assert isinstance(document, dict)
    return document


def run_rows(root: Path) -> list[tuple[Any, ...]]:
    with open_db(root) as db:
        return [(r.adw_id, r.status.value, r.details, r.error) for r in db.list_runs()]


# -- runs -----------------------------------------------------------------------------------


def test_runs_lists_database_and_state_file_runs(
    cli: Any, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    start_run(project, "done0001", "Add login page", cost=0.25, issue="12")
    finish(project, "done0001")
    start_live_run(project, "live0001", "Live one")
    start_run(project, "dead0001", "Crashed one")  # running, no lease, no heartbeat
    old = project / "logs" / "adw" / "old00001"
    old.mkdir(parents=True)
    (old / "adw_state.json").write_text(
        json.dumps(
            {
                "adw_id": "old00001",
                "issue": "Made before the runs table",
                "created_at": "2026-01-01T00:00:00.000Z",
                "phases": {"plan": {"status": "completed"}, "build": {"status": "failed"}},
            }
        )
    )
    result = cli("runs", "--project", project, "--json")
    assert result.exit_code == 0, result.stderr
    document = json_of(result)
    runs = {run["adw_id"]: run for run in document["runs"]}
    assert set(runs) == {"done0001", "live0001", "dead0001", "old00001"}
    done = runs["done0001"]
    assert (done["status"], done["issue"], done["branch"]) == (
        "completed",
        "#12",
        "feature/12-add-login-page",
    )
    assert done["cost_usd"] == 0.25 and done["worktree_exists"] and done["source"] == "database"
    assert Path(done["worktree"]) == (project / "trees" / "done0001").resolve()
    assert runs["live0001"]["status"] == "running"
    assert (runs["dead0001"]["status"], runs["dead0001"]["recorded_status"]) == (
        "stale",
        "running",
    )
    assert (runs["old00001"]["status"], runs["old00001"]["source"]) == ("failed", "state file")
    assert list(runs)[-1] == "old00001"  # newest first

    stale = json_of(cli("runs", "--project", project, "--json", "--status", "stale"))
    assert [run["adw_id"] for run in stale["runs"]] == ["dead0001"]
    table = cli("runs", "--project", project)  # not a terminal: tab-separated lines
    assert table.exit_code == 0
    for text in ("done0001", "feature/12-add-login-page", "stale", "0.2500", "completed"):
        assert text in table.stdout
    bad = cli("runs", "--project", project, "--status", "nope")
    assert bad.exit_code == 2 and "stale" in bad.stderr


# -- runs: the table on a terminal, tab-separated lines elsewhere ---------------------------

LONG_TITLE = "Implement the new authentication flow for enterprise customers with single sign-on"
DEEP = "build/agent-work/worktrees/2026/december/nightly"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def in_terminal(root: Path, *args: str, columns: int, env: dict[str, str] | None = None) -> str:
    """`tac-bootstrap runs` as a real process on a pseudo-terminal ``columns`` wide (as a
    person sees it: rich finds the width from the terminal, or from COLUMNS in ``env``)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    ours = ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "COLUMNS", "LINES")
    full_env = {k: v for k, v in os.environ.items() if k not in ours}
    full_env.update(TERM="xterm-256color", TAC_ORCHESTRATOR_DB="", **(env or {}))
    with tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "tac_bootstrap", "runs", *args],
            cwd=root,
            env=full_env,
            stdin=slave,
            stdout=slave,
            stderr=stderr,
        )
        os.close(slave)
        chunks = []
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the process closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        os.close(master)
        assert process.wait(timeout=120) == 0, stderr.seek(0) or stderr.read()
    return b"".join(chunks).decode().replace("\r\n", "\n")


def table_runs(root: Path) -> dict[str, dict[str, Any]]:
    """Typical runs and the hard ones: a long branch, a deep worktree (then removed by hand),
    a title with a tab and markup-like text."""
    start_run(root, "done0001", "Add login page", cost=0.25, issue="12")
    finish(root, "done0001")
    start_run(root, "long0001", LONG_TITLE, cost=2.3456, worktrees_dir=DEEP)
    finish(root, "long0001", "failed")
    gone = start_run(root, "gone0001", LONG_TITLE, cost=0.0042, issue="1234")
    finish(root, "gone0001")
    shutil.rmtree(gone)
    start_run(root, "tabs0001", "Fix\tthe [red]parser[/red]")  # running, nothing alive: stale
    runs = json.loads(run_cli("runs", "--json", cwd=root, env={"TAC_ORCHESTRATOR_DB": ""}).stdout)
    return {run["adw_id"]: run for run in runs["runs"]}


def test_runs_table_fits_the_terminal(project: Path) -> None:
    runs = table_runs(project)
    cost = {
        "done0001": "$0.2500",
        "long0001": "$2.3456",
        "gone0001": "$0.0042",
        "tabs0001": "$0.0000",
    }
    for columns, env in (
        (80, {}),
        (200, {"COLUMNS": "80"}),
        (200, {"COLUMNS": "60"}),
        (200, {"COLUMNS": "120"}),
    ):
        width = int(env.get("COLUMNS", columns))
        screen = in_terminal(project, columns=columns, env=env)
        lines = ANSI.sub("", screen).rstrip("\n").split("\n")
        assert lines[0].startswith("Workflow runs: ")
        header, rows = lines[1], lines[2:]
        assert len(rows) == len(runs), screen  # one line per run: no row split across lines
        assert all(cell_len(line) <= width for line in lines[1:]), (width, screen)
        for column in ("adw_id", "status", "cost", "started UTC"):
            assert column in header, (width, header)
        for row in rows:
            adw_id = row.split()[0]
            assert adw_id in runs, row  # whole, first
            assert runs[adw_id]["status"] in row.split() and cost[adw_id] in row.split()
            assert runs[adw_id]["started"][11:16] in row  # the start, to the minute
            assert "\t" not in row
        by_id = {row.split()[0]: row for row in rows}
        if width >= 80:
            assert "feature/12-add-login-page" in by_id["done0001"]
            assert "…" in by_id["long0001"]  # the long branch cut, not folded
        if width == 120:  # room for the worktree: relative to the root, cut from its start
            assert "worktree" in header.split() and "trees/done0001" in by_id["done0001"]
            assert re.search(r" …\S*/long0001 ", by_id["long0001"]), by_id["long0001"]
            assert "(removed)" in by_id["gone0001"]
        if width == 60:
            assert header.split() == ["adw_id", "status", "branch", "cost", "started", "UTC"]
    coloured = in_terminal(project, columns=80)
    assert "\x1b[32mcompleted" in coloured  # the status in colour
    plain = in_terminal(project, columns=80, env={"NO_COLOR": "1"})
    assert not re.search(r"\x1b\[[0-9;]*(3[0-9]|9[0-7])[;m]", plain)  # no colour at all
    assert ANSI.sub("", plain) == ANSI.sub("", coloured)


def test_runs_outside_a_terminal_are_tab_separated(cli: Any, project: Path) -> None:
    runs = table_runs(project)
    result = cli("runs", "--project", project)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split("\t") == [
        "adw_id",
        "workflow",
        "status",
        "issue",
        "branch",
        "worktree",
        "cost_usd",
        "started",
    ]
    rows = {fields[0]: fields for fields in (line.split("\t") for line in lines[1:])}
    assert set(rows) == set(runs) and all(len(fields) == 8 for fields in rows.values())
    for adw_id, run in runs.items():  # nothing cut: the JSON's values
        _, workflow, status, issue, branch, worktree, cost, started = rows[adw_id]
        assert (workflow, status, issue, branch, started) == (
            run["workflow"],
            run["status"],
            run["issue"].replace("\t", " "),
            run["branch"],
            run["started"],
        )
        assert float(cost) == pytest.approx(run["cost_usd"])
        relative = Path(run["worktree"]).relative_to(project.resolve()).as_posix()
        assert worktree == relative + ("" if run["worktree_exists"] else " (removed)")
    assert rows["long0001"][5] == f"{DEEP}/long0001"
    assert rows["tabs0001"][3] == "Fix the [red]parser[/red]"  # the tab would split the field


def test_runs_of_a_project_without_runs(cli: Any, project: Path) -> None:
    result = cli("runs", "--project", project)
    assert result.exit_code == 0 and "no workflow runs" in result.stdout
    assert api.runs(project).runs == []


# -- clean ----------------------------------------------------------------------------------


def test_clean_dry_run_changes_nothing(cli: Any, project: Path) -> None:
    worktree = start_run(project, "done0001", "Done")
    finish(project, "done0001")
    before_rows = run_rows(project)
    before = tree_snapshot(project)
    result = cli("clean", "--project", project, "--dry-run", "--json")
    assert result.exit_code == 0, result.stderr
    document = json_of(result)
    assert document["dry_run"] is True
    assert [(i["adw_id"], i["action"]) for i in document["items"]] == [("done0001", "remove")]
    assert tree_snapshot(project) == before and worktree.is_dir()
    assert run_rows(project) == before_rows
    assert find_worktree(project, worktree) is not None


def test_clean_removes_finished_keeps_dirty_and_active(cli: Any, project: Path) -> None:
    done = start_run(project, "done0001", "Done")
    finish(project, "done0001")
    dirty = start_run(project, "dirty001", "Dirty")
    (dirty / "unsaved.txt").write_text("work in progress\n")
    finish(project, "dirty001", "failed")
    live = start_live_run(project, "live0001", "Live")
    stale = start_run(project, "dead0001", "Crashed")

    refused = cli("clean", "--project", project)  # no terminal, no --yes: asks nobody
    assert refused.exit_code == 2 and "--yes" in refused.stderr and done.is_dir()

    result = cli("clean", "--project", project, "--yes", "--json")
    assert result.exit_code == 1  # something was kept
    items = {i["adw_id"]: i for i in json_of(result)["items"]}
    assert items["done0001"]["action"] == "removed" and items["done0001"]["branch_deleted"]
    assert items["dirty001"]["action"] == "keep" and items["dirty001"]["dirty"]
    assert "uncommitted work" in items["dirty001"]["reason"]
    assert items["dead0001"]["action"] == "keep" and "stale" in items["dead0001"]["reason"]
    assert "live0001" not in items  # active runs are not even candidates
    assert not done.exists() and find_worktree(project, done) is None
    assert not git(project, "branch", "--list", "feature/done0001-done").strip()
    assert (dirty / "unsaved.txt").exists() and live.is_dir() and stale.is_dir()
    with open_db(project) as db:
        run = db.get_run("done0001")
        assert run is not None and run.details["cleaned"]["patch"] is None

    named = cli("clean", "live0001", "nope0001", "--project", project, "--yes", "--json")
    named_items = {i["adw_id"]: i["action"] for i in json_of(named)["items"]}
    assert named.exit_code == 1 and named_items == {"live0001": "keep", "nope0001": "unknown"}
    assert live.is_dir()


def test_clean_force_backs_dirty_work_up_first(cli: Any, project: Path) -> None:
    dirty = start_run(project, "dirty001", "Dirty")
    (dirty / "committed.txt").write_text("kept in a bundle\n")
    sha = commit_all(dirty, "feat: part of the work")
    (dirty / "unsaved.txt").write_text("work in progress\n")
    (dirty / "tac_bootstrap.yml").write_text("edited: true\n")
    finish(project, "dirty001", "failed")
    stale = start_run(project, "dead0001", "Crashed")
    (stale / "half.txt").write_text("half\n")

    result = cli("clean", "--project", project, "--force", "--yes", "--json")
    assert result.exit_code == 0, result.stderr
    document = json_of(result)
    items = {i["adw_id"]: i for i in document["items"]}
    assert {i["action"] for i in items.values()} == {"removed"}
    assert not dirty.exists() and not stale.exists()
    patch = Path(items["dirty001"]["patch"])
    assert patch.parent == project / "logs" / "adw" / "dirty001"
    assert document["backup_dir"] == str(project / "logs" / "adw")
    # the patch restores the uncommitted work on the run's last commit, the bundle the commit
    bundle = Path(items["dirty001"]["bundle"])
    git(project, "fetch", "-q", str(bundle), f"{items['dirty001']['branch']}:restored")
    assert git(project, "rev-parse", "restored").strip() == sha
    restore = project / "trees" / "restore1"
    git(project, "worktree", "add", "-q", str(restore), "restored")
    git(restore, "apply", str(patch))
    assert (restore / "unsaved.txt").read_text() == "work in progress\n"
    assert (restore / "tac_bootstrap.yml").read_text() == "edited: true\n"
    with open_db(project) as db:
        crashed = db.get_run("dead0001")
        assert crashed is not None and crashed.status.value == "failed"
        assert crashed.error and "stale" in crashed.error


def test_clean_a_worktree_deleted_by_hand(cli: Any, project: Path) -> None:
    import shutil

    worktree = start_run(project, "done0001", "Done")
    finish(project, "done0001")
    shutil.rmtree(worktree)
    listed = json_of(cli("runs", "--project", project, "--json"))["runs"]
    assert listed[0]["worktree_exists"] is False
    result = cli("clean", "done0001", "--project", project, "--yes", "--json")
    assert result.exit_code == 0, result.stderr
    assert json_of(result)["items"][0]["action"] == "removed"
    assert "prunable" not in git(project, "worktree", "list", "--porcelain")


def test_clean_through_a_real_process_and_the_api(project: Path) -> None:
    worktree = start_run(project, "done0001", "Done")
    finish(project, "done0001")
    env = {"TAC_ORCHESTRATOR_DB": ""}
    result = run_cli("clean", "--dry-run", "--json", cwd=project, env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["items"][0]["action"] == "remove"
    report = api.clean(project=project, all_finished=True)
    assert report.ok and [i.action.value for i in report.items] == ["removed"]
    assert not worktree.exists()
    nothing = run_cli("clean", "--yes", cwd=project, env=env)
    assert nothing.returncode == 0 and "nothing to clean" in nothing.stdout


def test_liveness_of_a_running_run(project: Path) -> None:
    """Stale only when nothing keeps it alive: lease, its own process, heartbeat, a process
    working in its worktree."""
    worktree = start_run(project, "dead0001", "Crashed")
    with open_db(project) as db:
        run = db.get_run("dead0001")
        assert run is not None
        assert is_stale(run, 120)
        assert not is_stale(
            run.model_copy(update={"details": {"pid": os.getpid(), "host": socket.gethostname()}}),
            120,
        )
        ended = subprocess.Popen(["true"])
        ended.wait()  # its pid is free now
        mine = {"pid": ended.pid, "host": socket.gethostname()}
        assert is_stale(run.model_copy(update={"details": mine}), 120)
        child = subprocess.Popen(["sleep", "60"], cwd=worktree)
        try:
            assert not is_stale(run, 120)  # a process works in the worktree (Linux /proc)
        finally:
            child.kill()
            child.wait()
        assert is_stale(run, 120)
        now = datetime.now(timezone.utc)
        fresh = run.model_copy(update={"heartbeat_at": now - timedelta(seconds=30)})
        assert not is_stale(fresh, 120) and is_stale(fresh, 10)
        lease = run.model_copy(update={"lease_expires_at": now + timedelta(seconds=60)})
        assert not is_stale(lease, 120)
