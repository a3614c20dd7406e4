"""Progress bars on `db export` / `db backup`: shown on a terminal for large databases only."""

from __future__ import annotations

import fcntl
import json
import os
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from tac_bootstrap.runtime.adw_database import OrchestratorDB

from .conftest import run_cli

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs POSIX pseudo-terminals")

ROWS = 30_000  # above the 20,000-row threshold of db_output.PROGRESS_THRESHOLD
BAR = "━"  # the glyph rich draws progress bars with


@pytest.fixture(scope="module")
def big_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("progress")
    assert run_cli("init", "big", "-o", root, "--yes", "--no-git").returncode == 0
    project = root / "big"
    migrations = project / "adws/schema/migrations"
    with OrchestratorDB.open(
        project / "adws/schema/orchestrator.db", migrations_dir=migrations
    ) as db:
        owner = db.register_orchestrator_agent("builder", "builder")
        agent = db.start_agent(owner.id, "session")
        for start in range(0, ROWS, 1000):
            db.log_agent_batch(
                {"agent_id": agent.id, "log_type": "tool_call", "message": f"call {i}"}
                for i in range(start, start + 1000)
            )
    return project


def run_on_terminal(argv: list[str], cwd: Path) -> tuple[int, str]:
    """Run argv with a pseudo-terminal as stdin, stdout and stderr; (exit code, raw output)."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "120"}
    for key in ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        env.pop(key, None)
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=slave, stdout=slave, stderr=slave)
    os.close(slave)
    output = b""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO once the child closed the terminal
                chunk = b""
            if not chunk:
                break
            output += chunk
        elif proc.poll() is not None:
            break
    else:
        proc.kill()
    os.close(master)
    return proc.wait(timeout=10), output.decode("utf-8", "replace")


def test_export_shows_a_progress_bar_on_a_terminal(big_project: Path, tmp_path: Path) -> None:
    destination = tmp_path / "export.json"
    argv = [sys.executable, "-m", "tac_bootstrap", "db", "export", str(destination)]
    code, raw = run_on_terminal([*argv, "--project", str(big_project)], tmp_path)
    assert code == 0, raw
    assert BAR in raw and "export" in raw
    data = json.loads(destination.read_text())
    assert len(data["tables"]["agent_logs"]) == ROWS


def test_no_progress_bar_without_a_terminal(big_project: Path, tmp_path: Path) -> None:
    result = run_cli("db", "export", tmp_path / "e.json", "--project", big_project)
    assert result.returncode == 0, result.stderr
    assert BAR not in result.stdout + result.stderr
    assert f"exported {ROWS + 2:,} rows" in result.stdout


def test_small_exports_show_no_bar(tmp_path: Path) -> None:
    assert run_cli("init", "small", "-o", tmp_path, "--yes", "--no-git").returncode == 0
    project = tmp_path / "small"
    assert run_cli("db", "init", "--project", project).returncode == 0
    argv = [sys.executable, "-m", "tac_bootstrap", "db", "export", str(tmp_path / "s.json")]
    code, raw = run_on_terminal([*argv, "--project", str(project)], tmp_path)
    assert code == 0, raw
    assert "exported 0 rows" in raw and BAR not in raw
