"""The runtime's two homes: a project's <adws_dir>/adw_modules, and the tac-bootstrap package.

Only the first is a project. From the package, anything that would default to the project
(a database, its migrations, the runs dir) refuses in one line instead of writing into the
package's own directory (site-packages, once installed).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from tac_bootstrap.runtime import adw_project
from tac_bootstrap.runtime.adw_project import CONFIG_FILENAME, project_of

from .conftest import ProjectFactory

PACKAGE_DIR = Path(adw_project.__file__).resolve().parent.parent


def _python(code: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=60,
    )


def _files_under(directory: Path) -> set[Path]:
    return {p for p in directory.rglob("*") if "__pycache__" not in p.parts}


def test_a_plain_open_from_the_package_refuses_and_writes_nothing(tmp_path: Path) -> None:
    before = _files_under(PACKAGE_DIR)
    for env in ({}, {"TAC_ORCHESTRATOR_DB": str(tmp_path / "env.db")}):
        run = _python(
            """
            from tac_bootstrap.runtime.adw_database import OrchestratorDB
            OrchestratorDB.open()
            """,
            tmp_path,
            **env,
        )
        assert run.returncode == 1
        last = run.stderr.strip().splitlines()[-1]
        assert last.startswith("tac_bootstrap.runtime.adw_project.NotInProject: no project: ")
        assert "<adws_dir>/adw_modules" in last and "TAC_ORCHESTRATOR_DB" in last, last
        assert "migrations_dir explicitly" in last
    assert _files_under(PACKAGE_DIR) == before
    assert list(tmp_path.iterdir()) == []


def test_the_runs_dir_refuses_from_the_package(tmp_path: Path) -> None:
    run = _python(
        "from tac_bootstrap.runtime.adw_state import runs_dir; runs_dir()",
        tmp_path,
    )
    assert run.returncode == 1
    assert "NotInProject: no project" in run.stderr


def test_an_explicit_location_works_from_the_package(
    new_project: ProjectFactory, tmp_path: Path
) -> None:
    project = new_project(tmp_path)
    database = tmp_path / "elsewhere" / "orchestrator.db"
    run = _python(
        f"""
        from tac_bootstrap.runtime.adw_database import OrchestratorDB
        with OrchestratorDB.open({str(database)!r},
                                 migrations_dir={str(project / "adws/schema/migrations")!r}) as db:
            db.log_system("hello", component="test")
        """,
        tmp_path,
    )
    assert run.returncode == 0, run.stderr
    assert database.is_file()


def test_a_projects_copy_finds_its_project_from_anywhere(
    new_project: ProjectFactory, tmp_path: Path
) -> None:
    project = new_project(tmp_path)
    run = _python(
        f"""
        import sys
        sys.path.insert(0, {str(project / "adws")!r})
        from adw_modules.adw_project import current_project
        print(current_project().root, current_project().adws_dir)
        """,
        Path("/"),
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == [str(project.resolve()), "adws"]


def test_project_of_needs_an_adw_modules_dir(tmp_path: Path) -> None:
    root = tmp_path / "configured"
    root.mkdir()
    (root / CONFIG_FILENAME).write_text("version: 1\n")
    project = project_of(root / "tools" / "adws" / "adw_modules")
    assert project is not None
    assert (project.root, project.adws_dir) == (root, "tools/adws")
    assert project_of(root / "tools" / "adws" / "runtime") is None
    assert project_of(PACKAGE_DIR / "runtime") is None
    # Without a config file, the adws dir's parent is the root (a project whose config went).
    bare = project_of(tmp_path / "bare" / "adws" / "adw_modules")
    assert bare is not None
    assert (bare.root, bare.adws_dir) == (tmp_path / "bare", "adws")
