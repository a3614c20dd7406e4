"""The throwaway PostgreSQL server of the tests cleans up after a test run that was killed."""

from __future__ import annotations

import os
import pwd
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .conftest import REPO_ROOT
from .pg_server import SUPERUSER, PgServer, find_bindir, sweep_orphans

START_AND_HANG = """
import sys, time
sys.path.insert(0, sys.argv[1])
from tests.pg_server import start_server
server = start_server()
print(server.directory, flush=True)
time.sleep(120)
"""


@pytest.mark.postgres
def test_a_server_left_by_a_killed_run_is_stopped_and_removed(pg_server: PgServer) -> None:
    if pg_server.directory is None:
        pytest.skip("TAC_TEST_POSTGRES_URL points at an external server")
    proc = subprocess.Popen(
        [sys.executable, "-c", START_AND_HANG, str(REPO_ROOT)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "TAC_TEST_POSTGRES_URL"},
    )
    try:
        assert proc.stdout is not None
        orphan = Path(proc.stdout.readline().strip())
        assert orphan.name.startswith("tacpg-"), proc.stderr.read() if proc.stderr else ""
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    pid_file = orphan / "data" / "postmaster.pid"
    assert pid_file.is_file()  # SIGKILL ran no cleanup: the server is still up
    server_pid = int(pid_file.read_text().split()[0])

    run_as: dict[str, Any] = {}
    if os.geteuid() == 0:
        owner = pwd.getpwnam(SUPERUSER)
        run_as = {"user": owner.pw_uid, "group": owner.pw_gid, "extra_groups": []}
    bindir = find_bindir()
    assert bindir is not None
    swept = sweep_orphans(bindir, run_as)

    assert orphan in swept
    assert not orphan.exists()
    assert pg_server.directory not in swept  # a live session's server is left alone
    assert pg_server.directory.exists()
    assert not running(server_pid)


def running(pid: int) -> bool:
    """Alive and not a zombie (a container's init may be slow to reap the server)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status
