"""`tac-bootstrap init`: generation, idempotence, conflicts, dry runs and bad input."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from tac_bootstrap import __version__
from tac_bootstrap.application.scaffold_service import FORMATTER_CONFIGS, WORKFLOW_SCRIPTS
from tac_bootstrap.infrastructure.config_loader import load_config
from tac_bootstrap.infrastructure.template_renderer import TEMPLATES_DIR

from .conftest import run_cli, tree_snapshot

COMMANDS = [
    "bug", "chore", "classify_issue", "commit", "document", "feature", "implement", "install",
    "prime", "pull_request", "review", "start", "test",
]  # fmt: skip
# Every runtime module is shipped (the plan globs runtime/), so the list comes from the package.
RUNTIME = sorted(path.stem for path in (TEMPLATES_DIR.parent / "runtime").glob("*.py"))
# Every migration template of both backends, found as the plan finds them (by glob), so a new
# migration needs no edit here.
MIGRATIONS = [
    f"adws/schema/{subdir}/{template.name.removesuffix('.j2')}"
    for subdir in ("migrations", "postgres/migrations")
    for template in sorted((TEMPLATES_DIR / "adws" / "schema" / subdir).glob("*.sql.j2"))
]
EXPECTED_FILES = {
    "tac_bootstrap.yml",
    "adws/schema/schema_orchestrator.sql",
    "adws/schema/README.md",
    *MIGRATIONS,
    "adws/schema/migrations/.gitkeep",
    "adws/schema/postgres/schema_orchestrator.sql",
    "adws/schema/.gitignore",
    "adws/README.md",
    "adws/conftest.py",
    "adws/ruff.toml",
    *(f"adws/{script}" for script, _ in WORKFLOW_SCRIPTS),
    *(f"adws/adw_modules/{module}.py" for module in RUNTIME),
    *(f"adws/tests/{path.name}" for path in (TEMPLATES_DIR / "adws" / "tests").glob("*.py")),
    ".claude/settings.json",
    ".claude/hooks/orchestrator_hook.py",
    ".claude/hooks/tool_guard.py",
    ".claude/hooks/tool_guard_rules.py",
    ".claude/hooks/tool_guard_shell.py",
    ".claude/hooks/status_line.py",
    ".claude/hooks/ruff.toml",
    *(f".claude/commands/{command}.md" for command in COMMANDS),
    *(f".claude/agents/{role}.md" for role in ("planner", "builder", "tester", "reviewer")),
    ".claude/agents/documenter.md",
    *(f"specs/templates/{kind}.md" for kind in ("feature", "bug", "chore")),
    "logs/.gitignore",
    "CLAUDE.md",
    *(f"{d}/{name}" for d in ("adws", ".claude", "specs") for name, _ in FORMATTER_CONFIGS),
}
EXECUTABLES = {
    ".claude/hooks/orchestrator_hook.py",
    ".claude/hooks/tool_guard.py",
    ".claude/hooks/status_line.py",
    "adws/tests/fake_claude.py",
    *(f"adws/{script}" for script, _ in WORKFLOW_SCRIPTS),
}


def layer_files(project: Path) -> set[str]:
    """Files of the generated project, without the manifest and tac-bootstrap's local state."""
    return {
        path
        for path in tree_snapshot(project)
        if not path.startswith((".tac_bootstrap/", ".git/"))
        and path != "tac_bootstrap.manifest.json"
    }


def init(cli: Any, tmp_path: Path, *args: str) -> Any:
    return cli("init", "demo", "-o", tmp_path, "--yes", *args)


def test_init_with_defaults_creates_config_and_layer(cli: Any, tmp_path: Path) -> None:
    result = init(cli, tmp_path)
    assert result.exit_code == 0, result.stderr
    project = tmp_path / "demo"
    assert layer_files(project) == EXPECTED_FILES
    manifest = json.loads((project / "tac_bootstrap.manifest.json").read_text())
    assert set(manifest["files"]) == EXPECTED_FILES - {"tac_bootstrap.yml"}
    assert (project / ".tac_bootstrap/.gitignore").read_text().endswith("*\n")
    executables = {p for p in EXPECTED_FILES if os.access(project / p, os.X_OK)}
    assert executables == EXECUTABLES
    config = load_config(project / "tac_bootstrap.yml")
    assert config.project.name == "demo"
    assert config.project.language.value == "python"
    assert config.package_manager.value == "pip"  # works without uv
    assert config.commands.test == "python -m pytest"
    schema = (project / "adws/schema/schema_orchestrator.sql").read_text()
    assert f"tac-bootstrap {__version__}" in schema
    assert "created" in result.stdout


def test_init_with_non_default_stack(cli: Any, tmp_path: Path) -> None:
    result = init(cli, tmp_path, "--language", "typescript", "-f", "express", "-p", "pnpm")
    assert result.exit_code == 0, result.stderr
    config = load_config(tmp_path / "demo" / "tac_bootstrap.yml")
    assert (config.project.language.value, config.project.framework) == ("typescript", "express")
    assert config.package_manager.value == "pnpm"
    assert config.commands.test == "pnpm test"
    assert config.commands.typecheck == "npx tsc --noEmit"


def test_missing_package_manager_is_a_warning_not_a_failure(cli: Any, tmp_path: Path) -> None:
    # No machine running this suite has a `bun` executable next to it on PATH by accident:
    # empty PATH makes the tool certainly missing.
    result = run_cli(
        "init",
        "demo",
        "-o",
        tmp_path,
        "--yes",
        "-l",
        "javascript",
        "-p",
        "bun",
        env={"PATH": ""},
    )
    assert result.returncode == 0, result.stderr
    assert "warning: bun is not installed" in result.stderr
    assert (tmp_path / "demo" / "adws/schema/schema_orchestrator.sql").exists()


def test_rerun_is_idempotent_and_touches_nothing(cli: Any, tmp_path: Path) -> None:
    assert init(cli, tmp_path).exit_code == 0
    project = tmp_path / "demo"
    before = {p: (p.stat().st_mtime_ns, p.stat().st_ino) for p in project.rglob("*")}
    result = init(cli, tmp_path, "--json")
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert document["summary"]["identical"] == len(EXPECTED_FILES)
    assert document["summary"]["create"] == 0
    after = {p: (p.stat().st_mtime_ns, p.stat().st_ino) for p in project.rglob("*")}
    assert after == before


def test_conflict_without_force_writes_the_rest_and_exits_1(cli: Any, tmp_path: Path) -> None:
    assert init(cli, tmp_path).exit_code == 0
    project = tmp_path / "demo"
    edited = project / "adws/schema/README.md"
    edited.write_text("my notes\n")
    (project / "adws/schema/migrations/001_initial.sql").unlink()

    result = init(cli, tmp_path)
    assert result.exit_code == 1
    assert edited.read_text() == "my notes\n"  # never overwritten
    assert (project / "adws/schema/migrations/001_initial.sql").exists()  # the rest written
    assert "conflict: adws/schema/README.md" in result.stdout
    assert "--force" in result.stdout


def test_force_overwrites_and_keeps_a_backup(cli: Any, tmp_path: Path) -> None:
    assert init(cli, tmp_path).exit_code == 0
    project = tmp_path / "demo"
    edited = project / "adws/schema/README.md"
    edited.write_text("my notes\n")

    result = init(cli, tmp_path, "--force", "--json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    (entry,) = [f for f in document["files"] if f["status"] == "overwrite"]
    assert entry["path"] == "adws/schema/README.md"
    backup = project / entry["backup"]
    assert backup.read_text() == "my notes\n"
    assert edited.read_text().startswith("# ")
    assert "backup of adws/schema/README.md" in result.stderr  # human summary says where
    assert (project / ".tac_bootstrap/backups/.gitignore").read_text() == "*\n"


def test_dry_run_writes_nothing_and_shows_statuses(cli: Any, tmp_path: Path) -> None:
    result = init(cli, tmp_path, "--dry-run")
    assert result.exit_code == 0
    assert not (tmp_path / "demo").exists()
    assert "schema_orchestrator.sql  create" in result.stdout
    assert re.search(
        rf"{len(EXPECTED_FILES)} files \(would\): {len(EXPECTED_FILES)} create", result.stdout
    )

    assert init(cli, tmp_path).exit_code == 0
    project = tmp_path / "demo"
    (project / "adws/schema/README.md").write_text("mine\n")
    snapshot = tree_snapshot(project)
    result = init(cli, tmp_path, "--dry-run")
    assert result.exit_code == 1  # a conflict would remain
    assert "README.md  conflict" in result.stdout
    assert "schema_orchestrator.sql  identical" in result.stdout
    assert tree_snapshot(project) == snapshot


def test_json_output_is_one_document_on_stdout(cli: Any, tmp_path: Path) -> None:
    result = init(cli, tmp_path, "--json")
    document = json.loads(result.stdout)  # raises if there is anything else on stdout
    assert document["ok"] is True
    assert document["command"] == "init"
    assert {f["path"] for f in document["files"]} == EXPECTED_FILES
    assert "Summary" in result.stderr


@pytest.mark.parametrize(
    "name", ["../escape", "a/b", "a\\b", ".hidden", "-rf", "", "sp ace", "semi;colon"]
)
def test_invalid_project_names_exit_2_and_write_nothing(
    cli: Any, tmp_path: Path, name: str
) -> None:
    result = cli("init", "-o", tmp_path, "--yes", "--", name)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: invalid project name")
    assert result.stderr.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--language", "cobol"], "--language 'cobol' is not supported"),
        (["--package-manager", "npm"], "package manager 'npm' does not fit language 'python'"),
        (["-l", "go", "-f", "django"], "framework 'django' is not known for 'go'"),
    ],
)
def test_invalid_options_exit_2_and_write_nothing(
    cli: Any, tmp_path: Path, args: list[str], message: str
) -> None:
    result = cli("init", "demo", "-o", tmp_path, "--yes", *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_target_that_is_a_file_is_refused(cli: Any, tmp_path: Path) -> None:
    (tmp_path / "demo").write_text("not a dir")
    result = init(cli, tmp_path)
    assert result.exit_code == 2
    assert "exists and is not a directory" in result.stderr


def test_real_subprocess_init_and_version(tmp_path: Path) -> None:
    result = run_cli("init", "demo", "--yes", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert layer_files(tmp_path / "demo") == EXPECTED_FILES
    assert "\x1b[" not in result.stdout  # no colour codes when stdout is not a terminal
    for args in (["--version"], ["version"]):
        version = run_cli(*args)
        assert version.stdout.strip() == f"tac-bootstrap {__version__}"


def test_errors_are_one_line_without_traceback(tmp_path: Path) -> None:
    result = run_cli("init", "../x", "--yes", cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0


def test_help_works_everywhere() -> None:
    for args in ([], ["init"], ["render"], ["version"]):
        result = run_cli(*args, "--help")
        assert result.returncode == 0, args
        assert "Usage:" in result.stdout
