"""The test suite on each supported Python: `nox -s tests-3.10`, ... `tests-3.13`.

`make test` runs the newest (the whole suite) and the oldest (the suite minus the PostgreSQL,
real Claude Code CLI and browser groups, which exercise a server, a node program and chromium,
not the Python version; see specs/architecture-round-2/test-speed.md). Interpreters are
looked up in pyenv's versions directory first: pyenv's shims answer `python3.10` only when
that version is selected, so nox's own lookup on PATH would find a shim that refuses to run.

A missing interpreter skips its session under a banner, unless TAC_REQUIRE_PYTHONS names it
(a comma-separated list of versions, or `all`; .ci/run sets it): then the session fails.
Each session's virtualenv is kept and reinstalled only when pyproject's [project] changes.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import re
import shutil
import sys
from pathlib import Path

import nox

if sys.version_info >= (3, 11):
    import tomllib as toml
else:  # Python 3.10: the dev extra installs tomli
    import tomli as toml

VERSIONS = ("3.10", "3.11", "3.12", "3.13")
REQUIRE_ENV_VAR = "TAC_REQUIRE_PYTHONS"
ROOT = Path(__file__).resolve().parent
INSTALL_STAMP = ".tac-installed"

nox.options.reuse_venv = "yes"
nox.options.sessions = [f"tests-{VERSIONS[-1]}"]


def _patch_level(path: str) -> tuple[int, ...]:
    match = re.search(r"versions/(\d+)\.(\d+)\.(\d+)", path)
    return tuple(int(part) for part in match.groups()) if match else (0,)


def find_interpreter(version: str) -> str | None:
    """The newest pyenv install of `version`, else a `python<version>` on PATH that is not a
    pyenv shim (the system one, uv's, a distribution's)."""
    pyenv_root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    pattern = str(pyenv_root / "versions" / f"{version}.*" / "bin" / f"python{version}")
    installed = [path for path in glob.glob(pattern) if os.access(path, os.X_OK)]
    if installed:
        return max(installed, key=_patch_level)
    directories = os.environ.get("PATH", "").split(os.pathsep)
    plain_path = os.pathsep.join(d for d in directories if "shims" not in Path(d).parts)
    return shutil.which(f"python{version}", path=plain_path)


def _required(version: str) -> bool:
    wanted = {v.strip() for v in os.environ.get(REQUIRE_ENV_VAR, "").split(",")}
    return "all" in wanted or version in wanted


def _missing(session: nox.Session, version: str) -> None:
    reason = f"no Python {version} found (pyenv install {version}, or put python{version} on PATH)"
    if _required(version):
        session.error(f"{REQUIRE_ENV_VAR} requires Python {version}, but {reason}")
    line = "!" * 88
    session.warn(f"\n{line}\n!!! tests-{version} SKIPPED: {reason}\n{line}")
    session.skip(reason)


def _install_once(session: nox.Session) -> None:
    """`pip install -e .[test]` when the venv is new or pyproject's [project] changed since."""
    with (ROOT / "pyproject.toml").open("rb") as file:
        project = toml.load(file)["project"]  # what pip installs; not the tools' sections
    digest = hashlib.sha256(json.dumps(project, sort_keys=True).encode()).hexdigest()
    location = getattr(session.virtualenv, "location", None)
    stamp = Path(location) / INSTALL_STAMP if location else None
    if stamp is not None and stamp.is_file() and stamp.read_text() == digest:
        return
    session.install("--quiet", "--upgrade", "pip")
    session.install("--quiet", "-e", ".[test]")
    if stamp is not None:
        stamp.write_text(digest)


def _define(version: str) -> None:
    interpreter = find_interpreter(version)

    @nox.session(name=f"tests-{version}", python=interpreter or False)
    def tests(session: nox.Session) -> None:
        """The pytest suite on this Python; extra arguments go to pytest."""
        if interpreter is None:
            _missing(session, version)
            return
        _install_once(session)
        session.run("python", "-m", "pytest", *session.posargs)


for _version in VERSIONS:
    _define(_version)
