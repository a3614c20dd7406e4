"""`uv run adws/adw_sdlc.py --help` for real: uv (from PyPI, the dev extra) resolves the
workflow script's PEP 723 block from PyPI into its own environment and runs the script there.

A SQLite project's environment has pydantic and pyyaml but no psycopg; a project configured
for PostgreSQL gets psycopg too (its scripts' block is rendered from the config).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ProjectFactory, run_cli

UV = Path(sys.executable).parent / "uv"

pytestmark = pytest.mark.skipif(
    not UV.exists(), reason="uv is not installed (pip install -e '.[dev]')"
)


@pytest.fixture(scope="module")
def uv_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """uv with its own cache, this interpreter as the base, and no interpreter downloads."""
    cache = tmp_path_factory.mktemp("uv-cache")
    return {**os.environ, "UV_CACHE_DIR": str(cache), "UV_PYTHON_DOWNLOADS": "never"}


def _uv(project: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(UV), *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=300,
    )


def _script_environment(project: Path, env: dict[str, str]) -> Path:
    """The environment uv made for adws/adw_sdlc.py (the one `uv run` runs it in)."""
    synced = _uv(project, env, "sync", "--python", sys.executable, "--script", "adws/adw_sdlc.py")
    assert synced.returncode == 0, synced.stderr
    line = next(ln for ln in synced.stderr.splitlines() if "script environment at:" in ln)
    return Path(line.split("script environment at:", 1)[1].strip())


def _imports(environment: Path, module: str) -> bool:
    python = environment / "bin" / "python"
    check = subprocess.run([str(python), "-c", f"import {module}"], capture_output=True)
    return check.returncode == 0


def _help(project: Path, env: dict[str, str]) -> str:
    run = _uv(project, env, "run", "--python", sys.executable, "adws/adw_sdlc.py", "--help")
    assert run.returncode == 0, run.stderr
    return run.stdout


def test_uv_run_resolves_a_sqlite_projects_script(
    new_project: ProjectFactory, tmp_path: Path, uv_env: dict[str, str]
) -> None:
    project = new_project(tmp_path)
    text = _help(project, uv_env)
    assert text.startswith("usage: adw_sdlc.py")
    assert "--adw-id ADW_ID" in text and "TAC_ORCHESTRATOR_DB" in text
    environment = _script_environment(project, uv_env)
    assert _imports(environment, "pydantic") and _imports(environment, "yaml")
    assert not _imports(environment, "psycopg")


def test_uv_run_gives_a_postgresql_project_psycopg(
    new_project: ProjectFactory, tmp_path: Path, uv_env: dict[str, str]
) -> None:
    project = new_project(tmp_path)
    config = project / "tac_bootstrap.yml"
    text = config.read_text()
    assert 'database: ""' in text
    config.write_text(text.replace('database: ""', 'database: "postgresql://ci@db.example/orch"'))
    rendered = run_cli("render", project, "--force")
    assert rendered.returncode == 0, rendered.stderr
    assert _help(project, uv_env).startswith("usage: adw_sdlc.py")
    environment = _script_environment(project, uv_env)
    assert _imports(environment, "psycopg") and _imports(environment, "pydantic")
