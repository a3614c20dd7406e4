"""A throwaway PostgreSQL server for the tests (and the benchmark): no pytest import here.

`start_server()` runs `initdb` and `pg_ctl start` from the newest /usr/lib/postgresql/*/bin
(or TAC_TEST_PG_BINDIR, or `initdb` on PATH) in a fresh, short /tmp/tacpg-XXXX directory: unix
socket only (`-h ''`), so the fixed port only names the socket file and servers in different
directories never collide. As root, the directory is given to the `postgres` user and the
server runs as that user. `TAC_TEST_POSTGRES_URL` uses an existing server instead.
Missing binaries or user raise PostgresUnavailable; the caller decides to skip or fail.
Each directory records the pid of the process that started it, so a later start stops and
removes servers whose test run was SIGKILLed (`sweep_orphans`).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PORT = 5433
SUPERUSER = "postgres"
INSTALL_HINT = (
    "install postgresql (apt-get install postgresql), or set TAC_TEST_PG_BINDIR / "
    "TAC_TEST_POSTGRES_URL"
)


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL to test against: binaries or the postgres user are missing."""


def find_bindir() -> Path | None:
    """TAC_TEST_PG_BINDIR, then the newest /usr/lib/postgresql/*/bin, then initdb on PATH."""
    explicit = os.environ.get("TAC_TEST_PG_BINDIR")
    if explicit:
        return Path(explicit) if (Path(explicit) / "initdb").is_file() else None

    def major(path: str) -> int:
        version = Path(path).parent.parent.name
        return int(version) if version.isdigit() else 0

    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=major)
    if candidates:
        return Path(candidates[-1]).parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


@dataclass
class PgServer:
    """A running server: `dsn` is a libpq connection string without a database name."""

    dsn: str
    directory: Path | None = None
    bindir: Path | None = None
    _run_as: dict[str, Any] = field(default_factory=dict, repr=False)

    def conninfo(self, dbname: str) -> str:
        """Connection string for one database of this server."""
        from psycopg.conninfo import make_conninfo

        return make_conninfo(self.dsn, dbname=dbname)

    def url(self, dbname: str) -> str:
        """The same as a postgresql:// URL (what TAC_ORCHESTRATOR_DB takes)."""
        from urllib.parse import quote, urlencode

        from psycopg.conninfo import conninfo_to_dict

        params = {k: str(v) for k, v in conninfo_to_dict(self.dsn).items() if k != "dbname"}
        return f"postgresql:///{quote(dbname)}?{urlencode(params, safe='/')}"

    def log_tail(self, lines: int = 30) -> str:
        if self.directory is None:
            return ""
        log = self.directory / "server.log"
        if not log.exists():
            return ""
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        """Stop the server (fast, then immediate) and remove its directory."""
        if self.directory is None or self.bindir is None:
            return
        data = str(self.directory / "data")
        try:
            for mode in ("fast", "immediate"):
                result = _run(
                    [str(self.bindir / "pg_ctl"), "-D", data, "-m", mode, "-w", "stop"],
                    self._run_as,
                    self.directory,
                    check=False,
                )
                if result.returncode == 0:
                    break
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None


def _run(
    cmd: list[str], run_as: dict[str, Any], cwd: Path, *, check: bool = True
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        cmd,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        **run_as,
    )
    if check and result.returncode != 0:
        raise RuntimeError(
            f"{Path(cmd[0]).name} failed ({result.returncode}):\n{result.stdout}{result.stderr}"
        )
    return result


OWNER_FILE = "owner.pid"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_orphans(bindir: Path, run_as: dict[str, Any]) -> list[Path]:
    """Stop and remove servers left behind by a test run that was killed (SIGKILL skips every
    cleanup): a /tmp/tacpg-* directory whose owner process no longer exists."""
    swept = []
    for candidate in glob.glob("/tmp/tacpg-*"):
        directory = Path(candidate)
        try:
            owner_pid = int((directory / OWNER_FILE).read_text())
        except (OSError, ValueError):
            continue  # not ours to judge (older layout, or being created right now)
        if _alive(owner_pid):
            continue
        if (directory / "data" / "postmaster.pid").exists():
            _run(
                [str(bindir / "pg_ctl"), "-D", str(directory / "data"), "-m", "immediate", "stop"],
                run_as,
                Path("/tmp"),
                check=False,
            )
        shutil.rmtree(directory, ignore_errors=True)
        swept.append(directory)
    return swept


def start_server(*, fsync: bool = False, extra_options: str = "") -> PgServer:
    """Start a fresh server (or use TAC_TEST_POSTGRES_URL); raise PostgresUnavailable if none.

    Tests run with fsync off (`-F`); `fsync=True` keeps it on (the benchmark), and
    `extra_options` is appended to the server's command line (e.g. `-c synchronous_commit=off`).
    """
    url = os.environ.get("TAC_TEST_POSTGRES_URL")
    if url:
        return PgServer(dsn=url)
    bindir = find_bindir()
    if bindir is None:
        raise PostgresUnavailable(f"no initdb found ({INSTALL_HINT})")
    run_as: dict[str, Any] = {}
    owner: pwd.struct_passwd | None = None
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam(SUPERUSER)
        except KeyError:
            raise PostgresUnavailable(
                "running as root and there is no `postgres` user to run the server as "
                f"({INSTALL_HINT})"
            ) from None
        run_as = {"user": owner.pw_uid, "group": owner.pw_gid, "extra_groups": []}
    sweep_orphans(bindir, run_as)
    # Short (a socket path must fit in 107 bytes) and not under pytest's 0700 base directory.
    directory = Path(tempfile.mkdtemp(prefix="tacpg-", dir="/tmp"))
    (directory / OWNER_FILE).write_text(str(os.getpid()))
    if owner is not None:
        os.chown(directory, owner.pw_uid, owner.pw_gid)
    server = PgServer(
        dsn=f"host={directory} port={PORT} user={SUPERUSER}",
        directory=directory,
        bindir=bindir,
        _run_as=run_as,
    )
    data = str(directory / "data")
    options = (
        f"-k {directory} -p {PORT} -h ''{'' if fsync else ' -F'} "
        "-c client_connection_check_interval=200ms -c max_connections=200"
        + (f" {extra_options}" if extra_options else "")
    )
    try:
        _run(
            [
                str(bindir / "initdb"),
                "-D",
                data,
                "-A",
                "trust",
                "-U",
                SUPERUSER,
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
                "--no-instructions",
            ],
            run_as,
            directory,
        )
        _run(
            [
                str(bindir / "pg_ctl"),
                "-D",
                data,
                "-w",
                "-t",
                "60",
                "-l",
                str(directory / "server.log"),
                "-o",
                options,
                "start",
            ],
            run_as,
            directory,
        )
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        tail = server.log_tail()
        server.stop()
        raise RuntimeError(f"{exc}\n--- server.log (tail) ---\n{tail}") from exc
    return server
