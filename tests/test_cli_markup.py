"""The file tree of render/init --dry-run prints paths literally: a directory named like
rich markup ("[b]") is text, not styling."""

from __future__ import annotations

from pathlib import Path

from .conftest import ProjectFactory, run_cli


def test_dry_run_tree_prints_a_bracketed_directory(
    new_project: ProjectFactory, tmp_path: Path
) -> None:
    project = new_project(tmp_path / "[b]home")
    result = run_cli("render", project, "--dry-run", env={"COLUMNS": "250"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == str(project)
