"""Helpers of the phase engine tests: a generated project in a git repository with a real bare
remote, its workflow scripts run as real processes against the project's fake agent CLI, and
reads of its orchestrator database, state files and git history."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

HOOK_EVENTS = {"UserPromptSubmit", "PreToolUse", "PostToolUse", "Stop"}
SCRUBBED_PREFIXES = ("TAC_", "FAKE_CLAUDE_", "GIT_", "CLAUDE_CODE_")


def git(cwd: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    done = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True, env=env
    )
    return done.stdout.strip()


def with_remote(project: Path, tmp_path: Path) -> Path:
    """Give the generated project (a repository with one commit) an identity and a bare
    origin that knows its branch; returns the bare repository."""
    git(project, "config", "user.name", "Tester")
    git(project, "config", "user.email", "tester@example.com")
    bare = tmp_path / "origin.git"
    branch = git(project, "symbolic-ref", "--short", "HEAD")
    git(tmp_path, "init", "-q", "--bare", "-b", branch, str(bare))
    git(project, "remote", "add", "origin", str(bare))
    git(project, "push", "-q", "origin", branch)
    git(project, "remote", "set-head", "origin", "--auto")
    return bare


def overrides(
    *,
    test: str = "echo 3 passed",
    lint: str = "",
    typecheck: str = "",
    **workflow: Any,
) -> dict[str, Any]:
    return {
        "workflow": {"port_base": 9300, **workflow},
        "commands": {"test": test, "lint": lint, "typecheck": typecheck},
        "issues": {"source": "local"},
    }


def engine_env(
    project: Path, tmp_path: Path, config: dict[str, Any], **extra: str
) -> dict[str, str]:
    """The environment of a workflow run: the project's fake agent, config overrides, and
    nothing of the calling session (its TAC_ and fake-agent variables)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(SCRUBBED_PREFIXES)}
    return {
        **base,
        "CLAUDE_CODE_PATH": str(project / "adws" / "tests" / "fake_claude.py"),
        "TAC_PYTHON": sys.executable,
        "FAKE_CLAUDE_STATE_DIR": str(tmp_path / "fake-state"),
        "ADW_RETRY_BASE_SECONDS": "0.01",
        "TAC_ADW_OVERRIDES": json.dumps(config),
        **extra,
    }


def run_workflow(
    project: Path, workflow: str, *args: str, env: dict[str, str], timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(project / "adws" / f"adw_{workflow}.py"), *args],
        cwd=project.parent,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def summary(run: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Traceback" not in run.stderr
    value: dict[str, Any] = json.loads(run.stdout.strip().splitlines()[-1])
    return value


def database(project: Path) -> Path:
    return project / "adws" / "schema" / "orchestrator.db"


def query(project: Path, sql: str, *params: Any) -> list[sqlite3.Row]:
    with sqlite3.connect(database(project)) as conn:
        conn.row_factory = sqlite3.Row
        return list(conn.execute(sql, params))


def run_row(project: Path, adw_id: str) -> sqlite3.Row:
    (row,) = query(project, "SELECT * FROM runs WHERE adw_id = ?", adw_id)
    return row


def checks(project: Path, adw_id: str) -> list[tuple[str, int, str, int | None, int]]:
    rows = query(project, "SELECT * FROM run_checks WHERE adw_id = ? ORDER BY rowid", adw_id)
    return [(r["phase"], r["attempt"], r["name"], r["exit_code"], r["timed_out"]) for r in rows]


def agents(project: Path, adw_id: str) -> list[sqlite3.Row]:
    return query(project, "SELECT * FROM agents WHERE session_id = ? ORDER BY rowid", adw_id)


def prompts(project: Path, adw_id: str) -> list[sqlite3.Row]:
    return query(
        project,
        "SELECT p.* FROM prompts p JOIN agents a ON a.id = p.agent_id "
        "WHERE a.session_id = ? ORDER BY p.rowid",
        adw_id,
    )


def hook_events(project: Path, agent_id: str) -> set[str]:
    rows = query(
        project,
        "SELECT details FROM agent_logs WHERE agent_id = ? AND log_type IN "
        "('hook', 'tool_call', 'tool_result')",
        agent_id,
    )
    return {json.loads(r["details"]).get("hook_event_name") for r in rows}


def state(project: Path, adw_id: str) -> dict[str, Any]:
    path = project / "logs" / "adw" / adw_id / "adw_state.json"
    value: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return value


def commit_subjects(repo: Path, revisions: str) -> list[str]:
    out = git(repo, "log", "--format=%s", revisions)
    return out.splitlines() if out else []


def write_issue(project: Path, name: str, title: str, body: str = "") -> str:
    """A local Markdown issue (issues.source local); its ref, relative to the project."""
    path = project / "issues" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"# {title}\n\n{body}\n", encoding="utf-8")
    return path.relative_to(project).as_posix()
