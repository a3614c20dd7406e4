"""The Python API for real, against the CLI on the same input: same files, same bytes, same
document (report.to_dict() is what --json prints), errors as TacError and never SystemExit."""

from __future__ import annotations

import errno
import json
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tac_bootstrap import api
from tac_bootstrap.application.os_errors import tac_errors
from tac_bootstrap.application.upgrade_service import Change
from tac_bootstrap.domain.errors import ConfigError, OperationError, TacError, UsageError
from tac_bootstrap.domain.manifest import MANIFEST_FILENAME

from .conftest import ProjectFactory, tree_snapshot
from .test_add_agentic import USER_SETTINGS, python_repo


def files_and_modes(root: Path) -> dict[str, tuple[bytes, bool]]:
    """Every file with its bytes and whether it is executable (git's own files aside; a
    backup's run stamp replaced, since two runs never share one)."""
    return {
        re.sub(r"^(\.tac_bootstrap/backups/)[^/]+/", r"\1STAMP/", path): (
            data,
            bool((root / path).stat().st_mode & stat.S_IXUSR),
        )
        for path, data in tree_snapshot(root).items()
        if not path.startswith(".git/")
    }


def cli_json(cli: Any, *args: str | Path) -> tuple[int, dict[str, Any]]:
    result = cli(*args, "--json")
    return result.exit_code, json.loads(result.stdout)


def cli_warnings(cli: Any, *args: str | Path) -> list[str]:
    result = cli(*args, "--json")
    return [
        line.removeprefix("warning: ") for line in result.stderr.splitlines() if "warning:" in line
    ]


def same_document(
    api_doc: dict[str, Any], cli_doc: dict[str, Any], api_root: Path, cli_root: Path
) -> None:
    """Equal once each run's own directory is written the same way."""
    stamp = r"(\.tac_bootstrap/backups/)[^/]+/"
    api_text = json.dumps(api_doc, sort_keys=False).replace(str(api_root), "<root>")
    cli_text = json.dumps(cli_doc, sort_keys=False).replace(str(cli_root), "<root>")
    assert re.sub(stamp, r"\1STAMP/", api_text) == re.sub(stamp, r"\1STAMP/", cli_text)


def test_init_writes_what_the_cli_writes(cli: Any, tmp_path: Path) -> None:
    report = api.init("shop", tmp_path / "api", language="typescript", git=False)
    code, document = cli_json(
        cli, "init", "shop", "-o", tmp_path / "cli", "-l", "typescript", "--yes", "--no-git"
    )
    assert report.ok and code == 0
    assert report.wrote_files and report.git_message is None
    assert files_and_modes(tmp_path / "api" / "shop") == files_and_modes(tmp_path / "cli" / "shop")
    same_document(report.to_dict(), document, tmp_path / "api", tmp_path / "cli")


def test_init_dry_run_writes_nothing_and_reports_every_file(cli: Any, tmp_path: Path) -> None:
    report = api.init("shop", tmp_path, dry_run=True)
    assert tree_snapshot(tmp_path) == {}
    assert report.apply.dry_run and report.ok
    assert {r.status.value for r in report.apply.results} == {"create"}
    code, document = cli_json(cli, "init", "shop", "-o", tmp_path, "--dry-run", "--yes")
    assert code == 0
    same_document(report.to_dict(), document, tmp_path, tmp_path)


def test_init_with_git_makes_the_first_commit(tmp_path: Path) -> None:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    report = api.init("shop", tmp_path)
    assert report.git_message is not None and (tmp_path / "shop" / ".git").is_dir()


def test_init_errors_are_tac_errors_never_system_exit(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="invalid project name"):
        api.init("no spaces allowed", tmp_path)
    with pytest.raises(UsageError, match="--language 'cobol' is not supported"):
        api.init("shop", tmp_path, language="cobol")
    (tmp_path / "file").write_text("")
    with pytest.raises(UsageError, match="is not a directory"):
        api.init("shop", tmp_path / "file")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_init_conflicts_are_reported_not_raised(tmp_path: Path) -> None:
    api.init("shop", tmp_path, git=False)
    readme = tmp_path / "shop" / "adws" / "schema" / "README.md"
    readme.write_text("mine\n")
    report = api.init("shop", tmp_path, git=False)
    assert not report.ok
    assert [r.path for r in report.apply.conflicts] == ["adws/schema/README.md"]
    assert readme.read_text() == "mine\n"
    forced = api.init("shop", tmp_path, git=False, force=True)
    assert forced.ok and [r.path for r in forced.apply.backups] == ["adws/schema/README.md"]


def test_render_check_and_render_agree_with_the_cli(
    cli: Any, tmp_path: Path, new_project: ProjectFactory
) -> None:
    project = new_project(tmp_path)
    assert api.render(project, check=True).ok
    (project / "adws/schema/README.md").unlink()
    (project / "adws/schema/schema_orchestrator.sql").unlink()  # required: written again
    (project / ".claude/commands/prime.md").write_text("edited\n")
    check = api.render(project, check=True)
    assert not check.ok
    assert sorted((r.path, r.status.value) for r in check.drifted) == [
        (".claude/commands/prime.md", "conflict"),
        ("adws/schema/README.md", "deleted"),
        ("adws/schema/schema_orchestrator.sql", "create"),
    ]
    code, document = cli_json(cli, "render", project, "--check")
    assert code == 1 and document == check.to_dict()
    before = tree_snapshot(project)
    assert api.render(project, dry_run=True).apply.dry_run
    assert tree_snapshot(project) == before
    written = api.render(project)
    assert not written.ok  # the edited file is a conflict, left as it is
    assert not (project / "adws/schema/README.md").exists()  # the user's deletion: kept
    assert (project / "adws/schema/schema_orchestrator.sql").exists()
    assert (project / ".claude/commands/prime.md").read_text() == "edited\n"
    restored = api.render(project, restore=["adws/schema/README.md"])
    assert [r.path for r in restored.apply.results if r.status.value == "create"] == [
        "adws/schema/README.md"
    ]
    assert (project / "adws/schema/README.md").exists()


def test_render_without_a_project_raises_the_cli_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=r"no tac_bootstrap\.yml found"):
        api.render()
    with pytest.raises(UsageError, match="--check writes nothing"):
        api.render(tmp_path, check=True, force=True)


def test_render_finds_the_project_above_the_current_directory(
    tmp_path: Path, new_project: ProjectFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = new_project(tmp_path)
    monkeypatch.chdir(project / "adws")
    report = api.render(check=True)
    assert report.ok and Path(report.apply.target).resolve() == project.resolve()


def test_add_agentic_writes_what_the_cli_writes(cli: Any, tmp_path: Path) -> None:
    api_repo = python_repo(tmp_path / "api" / "shop")
    cli_repo = python_repo(tmp_path / "cli" / "shop")
    report = api.add_agentic(api_repo)
    code, document = cli_json(cli, "add-agentic", cli_repo, "--yes")
    assert code == 0 and report.ok  # .claude/settings.json is the user's: merged into
    assert report.proposals == []
    merged = (api_repo / ".claude/settings.json").read_bytes()
    assert merged != USER_SETTINGS and b"Bash(make:*)" in merged
    assert files_and_modes(api_repo) == files_and_modes(cli_repo)
    same_document(report.to_dict(), document, api_repo, cli_repo)


def test_add_agentic_answers_replace_what_was_detected(tmp_path: Path) -> None:
    repo = python_repo(tmp_path / "shop")
    report = api.add_agentic(repo, dry_run=True, package_manager="poetry", framework="fastapi")
    assert (report.config.package_manager.value, report.config.project.framework) == (
        "poetry",
        "fastapi",
    )
    assert report.config.commands.install == "poetry install"  # poetry's defaults, not pip's
    assert (repo / MANIFEST_FILENAME).exists() is False
    with pytest.raises(UsageError, match="package_manager 'nope' is not supported"):
        api.add_agentic(repo, package_manager="nope")


def test_add_agentic_warnings_are_the_ones_the_cli_prints(cli: Any, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "Makefile").write_text("test:\n\tno-such-program-xyz\n")
    report = api.add_agentic(empty, dry_run=True)
    warnings = cli_warnings(cli, "add-agentic", empty, "--yes", "--dry-run")
    assert report.warnings == warnings
    assert report.warnings[0].startswith("no language markers found")


def test_add_agentic_refuses_a_project_that_has_the_layer(
    tmp_path: Path, new_project: ProjectFactory
) -> None:
    with pytest.raises(UsageError, match="already has the agentic layer"):
        api.add_agentic(new_project(tmp_path))
    with pytest.raises(TacError, match="does not exist"):
        api.add_agentic(tmp_path / "missing")


def _simulate_a_new_template_file(project: Path) -> None:
    """A file the templates produce that this project never had: upgrade creates it."""
    manifest_path = project / MANIFEST_FILENAME
    manifest = json.loads(manifest_path.read_text())
    del manifest["files"]["adws/schema/README.md"]
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    (project / "adws/schema/README.md").unlink()


def test_upgrade_does_what_the_cli_does(
    cli: Any, tmp_path: Path, new_project: ProjectFactory
) -> None:
    api_project = new_project(tmp_path / "api")
    cli_project = new_project(tmp_path / "cli")
    for project in (api_project, cli_project):
        _simulate_a_new_template_file(project)
        (project / ".claude/commands/prime.md").write_text("my own prime\n")  # a foreign edit
    preview = api.upgrade(api_project, dry_run=True)
    assert preview.dry_run and not (api_project / "adws/schema/README.md").exists()
    report = api.upgrade(api_project)
    code, document = cli_json(cli, "upgrade", cli_project, "--yes")
    changes = {item.path: item.change for item in report.plan.items}
    assert changes["adws/schema/README.md"] is Change.CREATE
    assert changes[".claude/commands/prime.md"] is not Change.UNCHANGED
    assert code == (0 if report.ok else 1)
    assert files_and_modes(api_project) == files_and_modes(cli_project)
    same_document(report.to_dict(), document, api_project, cli_project)


def test_doctor_reports_what_the_cli_reports(
    cli: Any, tmp_path: Path, new_project: ProjectFactory
) -> None:
    project = new_project(tmp_path)
    (project / "adws/schema/schema_orchestrator.sql").unlink()
    report = api.doctor(project)
    code, document = cli_json(cli, "doctor", project)
    assert code == (0 if report.ok else 1)
    assert document == {"command": "doctor", **report.to_dict()}
    files = next(check for check in report.checks if check.name == "files")
    assert files.status.value == "fail"
    fixed = api.doctor(project, fix=True)
    assert [item.paths for item in fixed.fixed if "missing" in item.message] == [
        ("adws/schema/schema_orchestrator.sql",)
    ]
    assert (project / "adws/schema/schema_orchestrator.sql").exists()


def test_doctor_invalid_config_raises(tmp_path: Path, new_project: ProjectFactory) -> None:
    project = new_project(tmp_path)
    (project / "tac_bootstrap.yml").write_text("project: [\n")
    with pytest.raises(ConfigError):
        api.doctor(project)


def test_an_os_error_is_a_tac_error_naming_the_users_argument(tmp_path: Path) -> None:
    """As in the CLI: exit 2 naming the argument when it is about the user's path, else 1."""
    full = OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "shop" / "x"))
    with (
        pytest.raises(UsageError, match=r"--output-dir .*No space left"),
        tac_errors({"--output-dir": tmp_path / "shop"}),
    ):
        raise full
    with (
        pytest.raises(OperationError, match="No space left") as caught,
        tac_errors({"PATH": tmp_path / "elsewhere"}),
    ):
        raise full
    assert not isinstance(caught.value, UsageError)


def test_importing_the_api_loads_no_service() -> None:
    """Like the CLI's start-up: each function imports its service when called."""
    heavy = ("jinja2", "pydantic", "rich", "tac_bootstrap.application.")
    script = (
        "import sys, tac_bootstrap.api; "
        f"print(sorted(m for m in sys.modules if m.startswith({heavy!r})))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "['tac_bootstrap.application.os_errors']"
