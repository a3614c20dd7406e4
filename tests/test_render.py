"""`tac-bootstrap render`: re-rendering, --check drift detection, and this repo's BASE copy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tac_bootstrap.application.scaffold_service import WORKFLOW_SCRIPTS

from .conftest import REPO_ROOT, ProjectFactory, run_cli, tree_snapshot


@pytest.fixture
def project(new_project: ProjectFactory, tmp_path: Path) -> Path:
    return new_project(tmp_path)


def test_check_passes_on_a_fresh_project(cli: Any, project: Path) -> None:
    result = cli("render", project, "--check")
    assert result.exit_code == 0
    generated = json.loads((project / "tac_bootstrap.manifest.json").read_text())["files"]
    assert f"all {len(generated)} generated files match" in result.stdout


def test_check_lists_drifted_and_missing_files_and_writes_nothing(cli: Any, project: Path) -> None:
    (project / "adws/schema/schema_orchestrator.sql").write_text("-- drifted\n")
    (project / "adws/schema/migrations/001_initial.sql").unlink()  # required: missing
    (project / "adws/schema/migrations/.gitkeep").unlink()  # optional: deleted by the user
    snapshot = tree_snapshot(project)
    result = cli("render", project, "--check", "--json")
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert document["ok"] is False
    assert document["differs"] == [
        {"path": "adws/schema/schema_orchestrator.sql", "state": "differs"},
        {"path": "adws/schema/migrations/001_initial.sql", "state": "missing"},
        {"path": "adws/schema/migrations/.gitkeep", "state": "deleted"},
    ]
    assert "differs: adws/schema/schema_orchestrator.sql" in result.stderr
    assert tree_snapshot(project) == snapshot


def test_render_restores_missing_files_but_not_edited_ones(cli: Any, project: Path) -> None:
    (project / "adws/schema/migrations/001_initial.sql").unlink()
    (project / "adws/schema/README.md").write_text("edited\n")
    result = cli("render", project)
    assert result.exit_code == 1
    assert (project / "adws/schema/migrations/001_initial.sql").exists()
    assert (project / "adws/schema/README.md").read_text() == "edited\n"

    result = cli("render", project, "--force")
    assert result.exit_code == 0
    assert cli("render", project, "--check").exit_code == 0


def test_render_follows_config_changes(cli: Any, project: Path) -> None:
    config = project / "tac_bootstrap.yml"
    config.write_text(config.read_text().replace('name: "demo"', 'name: "renamed"'))
    assert cli("render", project, "--check").exit_code == 1
    result = cli("render", project, "--force")
    assert result.exit_code == 0
    assert "renamed" in (project / "adws/schema/schema_orchestrator.sql").read_text()


def test_render_dry_run_writes_nothing(cli: Any, project: Path) -> None:
    (project / "adws/schema/schema_orchestrator.sql").unlink()
    snapshot = tree_snapshot(project)
    result = cli("render", project, "--dry-run")
    assert result.exit_code == 0
    assert "schema_orchestrator.sql  create" in result.stdout
    assert tree_snapshot(project) == snapshot


@pytest.mark.parametrize("force", [False, True])
def test_dry_run_statuses_are_the_four_the_readme_lists(
    cli: Any, project: Path, force: bool
) -> None:
    """create, identical, conflict, overwrite, deleted (merge: tests/test_shared_files.py)."""
    (project / "adws/schema/schema_orchestrator.sql").write_text("-- edited\n")
    (project / "adws/schema/migrations/.gitkeep").unlink()
    args = ["--force"] if force else []
    result = cli("render", project, "--dry-run", "--json", *args)
    document = json.loads(result.stdout)
    edited = "overwrite" if force else "conflict"
    statuses = {f["path"]: f["status"] for f in document["files"]}
    assert statuses.pop("adws/schema/schema_orchestrator.sql") == edited
    assert statuses.pop("adws/schema/migrations/.gitkeep") == "deleted"
    assert set(statuses.values()) == {"identical"}
    assert document["summary"] == {
        "create": 0,
        "identical": len(statuses),
        "conflict": 0 if force else 1,
        "overwrite": 1 if force else 0,
        "merge": 0,
        "deleted": 1,
    }


def test_render_without_config_is_a_usage_error(cli: Any, tmp_path: Path) -> None:
    result = cli("render", tmp_path)
    assert result.exit_code == 2
    assert "no config file found" in result.stderr
    assert "tac-bootstrap init" in result.stderr


def test_check_and_force_together_are_refused(cli: Any, project: Path) -> None:
    result = cli("render", project, "--check", "--force")
    assert result.exit_code == 2


def test_base_copy_of_this_repo_matches_the_templates() -> None:
    """This repo's adws/ is what the templates render for its own tac_bootstrap.yml."""
    result = run_cli("render", REPO_ROOT, "--check")
    assert result.returncode == 0, result.stdout + result.stderr
    base = REPO_ROOT / "adws" / "schema"
    for name in ("schema_orchestrator.sql", "README.md", "migrations/001_initial.sql"):
        assert (base / name).is_file()


def test_a_postgresql_project_declares_psycopg_for_its_scripts(cli: Any, project: Path) -> None:
    """uv reads the scripts' PEP 723 lines: psycopg only where the config selects PostgreSQL."""
    scripts = sorted((project / "adws").glob("adw_*.py"))
    assert [s.name for s in scripts] == sorted(name for name, _ in WORKFLOW_SCRIPTS)
    assert not any("psycopg" in script.read_text() for script in scripts)
    config = project / "tac_bootstrap.yml"
    config.write_text(
        config.read_text().replace('database: ""', 'database: "postgresql://ci@db.example/orch"')
    )
    result = cli("render", project, "--force")
    assert result.exit_code == 0, result.stderr
    for script in scripts:
        header = script.read_text().split('"""', 1)[0]
        assert '"psycopg[binary]>=3.1"' in header, script.name
    assert cli("render", project, "--check").exit_code == 0
