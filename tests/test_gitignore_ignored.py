"""No generated file ends up git-ignored: add-agentic -> commit -> clone -> render --check green.

A generated file that git ignores is in no commit, so every clone lacks it and fails
`render --check` and `doctor` ("missing logs/.gitignore"). These tests use real git on
repositories whose own rules would hide the layer's files, commit everything as a user would
(`git add -A`), clone, and check the clone.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tac_bootstrap.application.gitignore import generated_paths, required_lines
from tac_bootstrap.application.ignored_files import git_ignored, negations
from tac_bootstrap.application.scaffold_service import ScaffoldService
from tac_bootstrap.domain.config import new_config

from .conftest import run_cli

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")

GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.com",
    "GIT_CONFIG_GLOBAL": "/dev/null",  # no user's global excludes file
    "GIT_CONFIG_NOSYSTEM": "1",
}
PYPROJECT = '[project]\nname = "shop"\nversion = "0.1.0"\n'


def _git(root: Path, *args: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        ["git", *args],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        env={**os.environ, **(env or GIT_ENV)},
    )
    return result.stdout


def _repo(root: Path, gitignore: str) -> Path:
    root.mkdir(parents=True)
    (root / "pyproject.toml").write_text(PYPROJECT)
    (root / ".gitignore").write_text(gitignore)
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "the user's repository")
    return root


def _commit_and_clone(root: Path, clone: Path) -> Path:
    _git(root, "add", "-A")  # what a user does: everything git does not ignore
    _git(root, "commit", "-qm", "agentic layer")
    _git(root.parent, "clone", "-q", str(root), str(clone))
    return clone


def _doctor_rows(project: Path) -> dict[str, list[dict[str, Any]]]:
    result = run_cli("doctor", project, "--json", env=GIT_ENV)
    rows: dict[str, list[dict[str, Any]]] = {}
    for check in json.loads(result.stdout)["checks"]:
        rows.setdefault(check["name"], []).append(check)
    return rows


def _assert_clone_is_green(clone: Path) -> None:
    check = run_cli("render", clone, "--check", env=GIT_ENV)
    assert check.returncode == 0, check.stdout + check.stderr
    assert (clone / "logs" / ".gitignore").is_file()
    rows = _doctor_rows(clone)
    for name in ("files", "gitignore"):
        assert [row["status"] for row in rows[name]] == ["ok"], rows[name]


# The user's rule, and the lines add-agentic must append after ours to undo it.
RULES = [
    ("logs\n", ["!/logs/", "/logs/*", "!/logs/.gitignore"]),
    ("logs/\n", ["!/logs/", "/logs/*", "!/logs/.gitignore"]),
    ("/logs\n", ["!/logs/", "/logs/*", "!/logs/.gitignore"]),
    ("*.log\n", []),  # matches no generated file: nothing to undo
    ("/.claude/\n", ["!/.claude/", "/.claude/*", "!/.claude/commands/", "!/.claude/hooks/"]),
    ("*.md\n", ["!/adws/README.md", "!/.claude/commands/bug.md"]),
]


@pytest.mark.parametrize(("rules", "negated"), RULES, ids=[r for r, _ in RULES])
def test_add_agentic_then_clone_is_green(tmp_path: Path, rules: str, negated: list[str]) -> None:
    root = _repo(tmp_path / "shop", rules)
    result = run_cli("add-agentic", root, "--yes", env=GIT_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    appended = (root / ".gitignore").read_text()[len(rules) :].splitlines()
    assert appended[:2] == ["", "# tac-bootstrap agentic layer"]
    assert "logs/" not in appended  # our own lines ignore no generated file
    for line in negated:
        assert line in appended, appended
    if not negated:
        assert appended[2:] == required_lines(new_config("shop"))
    assert "ignores generated" not in result.stderr  # nothing left that we could not undo
    # What the user wanted ignored stays ignored.
    (root / "logs" / "run.log").write_text("x")
    (root / ".claude").mkdir(exist_ok=True)
    (root / ".claude" / "settings.local.json").write_text("{}")
    clone = _commit_and_clone(root, tmp_path / "clone")
    committed = set(_git(clone, "ls-files").splitlines())
    assert "logs/run.log" not in committed
    if rules == "/.claude/\n":
        assert ".claude/settings.local.json" not in committed
    _assert_clone_is_green(clone)


def test_our_own_lines_ignore_no_generated_file(tmp_path: Path) -> None:
    """Only the layer's lines in .gitignore: git keeps every generated file (config changed)."""
    config = new_config("shop")
    config.paths.logs_dir = "var/logs"
    root = tmp_path / "p"
    root.mkdir()
    _git(root, "init", "-q")
    (root / ".gitignore").write_text("\n".join(required_lines(config)) + "\n")
    plan = ScaffoldService().build_plan(config, include_config=True)
    found = git_ignored(root, generated_paths(plan))
    assert found is not None
    assert "var/logs/.gitignore" in generated_paths(plan)
    assert negations(found, generated_paths(plan)).ignored == []


def test_proposals_are_ignored(tmp_path: Path) -> None:
    root = tmp_path / "p"
    root.mkdir()
    _git(root, "init", "-q")
    (root / ".gitignore").write_text("\n".join(required_lines(new_config("p"))) + "\n")
    found = git_ignored(root, [".claude/settings.json.tac-bootstrap", "CLAUDE.md.tac-bootstrap"])
    assert found is not None
    assert set(found.rules) >= {".claude/settings.json.tac-bootstrap", "CLAUDE.md.tac-bootstrap"}
    assert all(rule.pattern == "*.tac-bootstrap" for rule in found.rules.values())


def test_a_rule_below_the_root_is_reported_in_one_line(tmp_path: Path) -> None:
    """A .gitignore inside the project wins over the root one: warn, naming file:line: rule."""
    root = _repo(tmp_path / "shop", "")
    (root / "adws").mkdir()
    (root / "adws" / ".gitignore").write_text("# generated code is not ours\n*.py\n")
    result = run_cli("add-agentic", root, "--yes", env=GIT_ENV)
    warnings = [line for line in result.stderr.splitlines() if "adws/.gitignore:2: *.py" in line]
    assert len(warnings) == 1, result.stderr
    assert "git ignores generated files adws/adw_build.py" in warnings[0]
    assert "which no line in the project's .gitignore can override" in warnings[0]
    assert "adw_build.py" not in (root / ".gitignore").read_text()  # no useless negation
    rows = _doctor_rows(root)
    assert any("adws/.gitignore:2: *.py" in row["message"] for row in rows["gitignore"])


def test_doctor_fix_repairs_a_clone_of_a_layer_whose_logs_gitignore_was_ignored(
    tmp_path: Path,
) -> None:
    """The repositories set up before this fix: their root `logs/` line hid logs/.gitignore."""
    root = _repo(tmp_path / "shop", "")
    assert run_cli("add-agentic", root, "--yes", env=GIT_ENV).returncode == 0
    with (root / ".gitignore").open("a") as gitignore:
        gitignore.write("logs/\n")  # what add-agentic used to append
    clone = _commit_and_clone(root, tmp_path / "clone")
    assert not (clone / "logs" / ".gitignore").exists()

    check = run_cli("render", clone, "--check", env=GIT_ENV)
    assert check.returncode == 1
    said = [line for line in check.stderr.splitlines() if "git ignores generated file" in line]
    assert len(said) == 1, check.stdout + check.stderr
    assert said[0].startswith("warning: git ignores generated file logs/.gitignore (.gitignore:")
    assert "a clone lacks it" in said[0] and "commit .gitignore and it" in said[0]
    rows = _doctor_rows(clone)
    (ignored,) = [row for row in rows["gitignore"] if row["status"] == "fail"]
    assert ignored["message"].startswith("git ignores 1 generated file: logs/.gitignore")
    assert ".gitignore:" in ignored["message"] and ": logs/)" in ignored["message"]
    assert ignored["hint"] == (
        "`tac-bootstrap doctor --fix` re-includes it in .gitignore (and creates it if missing); "
        "then commit .gitignore and it"
    )
    assert ignored["fixable"] is True

    fixed = run_cli("doctor", clone, "--fix", env=GIT_ENV)
    assert "!/logs/.gitignore" in (clone / ".gitignore").read_text(), fixed.stderr
    assert (clone / "logs" / ".gitignore").is_file()
    second = _commit_and_clone(clone, tmp_path / "second")
    _assert_clone_is_green(second)


def test_adws_directory_rule(tmp_path: Path) -> None:
    root = _repo(tmp_path / "shop", "adws/\n")
    assert run_cli("add-agentic", root, "--yes", env=GIT_ENV).returncode == 0
    text = (root / ".gitignore").read_text()
    assert "!/adws/\n/adws/*\n" in text
    (root / "adws" / "scratch.txt").write_text("mine, ignored as before")
    clone = _commit_and_clone(root, tmp_path / "clone")
    assert not (clone / "adws" / "scratch.txt").exists()
    _assert_clone_is_green(clone)


def test_render_check_fails_and_render_re_includes(tmp_path: Path) -> None:
    """A rule added after add-agentic: --check catches it before a commit loses the files."""
    root = _repo(tmp_path / "shop", "")
    assert run_cli("add-agentic", root, "--yes", env=GIT_ENV).returncode == 0
    assert run_cli("render", root, "--check", env=GIT_ENV).returncode == 0
    with (root / ".gitignore").open("a") as gitignore:
        gitignore.write("# notes are local\n*.md\n")
    check = run_cli("render", root, "--check", "--json", env=GIT_ENV)
    assert check.returncode == 1
    document = json.loads(check.stdout)
    assert document["differs"] == []
    assert "adws/README.md (.gitignore:" in " ".join(document["gitignore"]["ignored"])
    before = (root / ".gitignore").read_text()

    render = run_cli("render", root, env=GIT_ENV)
    assert render.returncode == 0, render.stderr
    assert "appended" in render.stderr and "commit .gitignore" in render.stderr
    added = (root / ".gitignore").read_text()[len(before) :]
    assert "!/adws/README.md\n" in added
    assert run_cli("render", root, "--check", env=GIT_ENV).returncode == 0
    clone = _commit_and_clone(root, tmp_path / "clone")
    _assert_clone_is_green(clone)


def test_nothing_ignored_means_no_gitignore_written(tmp_path: Path) -> None:
    """render and doctor --fix in a project with no .gitignore (init makes none) leave it so."""
    project = tmp_path / "demo"
    assert run_cli("init", "demo", "-o", tmp_path, "--yes", env=GIT_ENV).returncode == 0
    assert run_cli("render", project, env=GIT_ENV).returncode == 0
    run_cli("doctor", project, "--fix", env=GIT_ENV)
    assert not (project / ".gitignore").exists()


def test_init_notices_a_global_excludes_file(tmp_path: Path) -> None:
    """A user's global ignore rules (`core.excludesFile`) apply to every repository: init
    re-includes the layer's files in a new .gitignore and says to commit them."""
    excludes = tmp_path / "global-ignore"
    excludes.write_text(".claude/\n*.md\n")
    config = tmp_path / "gitconfig"
    config.write_text(f"[core]\n\texcludesFile = {excludes}\n")
    env = {**GIT_ENV, "GIT_CONFIG_GLOBAL": str(config)}
    result = run_cli("init", "demo", "-o", tmp_path, "--yes", env=env)
    assert result.returncode == 0, result.stderr
    project = tmp_path / "demo"
    lines = (project / ".gitignore").read_text().splitlines()
    assert lines[:3] == ["# tac-bootstrap agentic layer", "!/.claude/", "/.claude/*"]
    assert "!/adws/README.md" in lines
    said = [line for line in result.stderr.splitlines() if "so that git keeps" in line]
    assert len(said) == 1 and "commit .gitignore" in said[0], result.stderr
    _git(project, "add", "-A", env=env)
    _git(
        project, "commit", "-qm", "the .gitignore init wrote, and the files it re-includes", env=env
    )
    _git(tmp_path, "clone", "-q", str(project), "clone", env=env)
    check = run_cli("render", tmp_path / "clone", "--check", env=env)
    assert check.returncode == 0, check.stdout + check.stderr


def test_project_in_a_subdirectory_of_the_repository(tmp_path: Path) -> None:
    """add-agentic in backend/ of a monorepo: the top .gitignore's `logs` rule is undone by
    backend/.gitignore, and a rule is shown from the project (../.gitignore)."""
    top = _repo(tmp_path / "mono", "logs\n")
    project = top / "backend"
    project.mkdir()
    (project / "pyproject.toml").write_text(PYPROJECT)
    result = run_cli("add-agentic", project, "--yes", env=GIT_ENV)
    assert result.returncode == 0, result.stderr
    lines = (project / ".gitignore").read_text().splitlines()
    assert lines[-3:] == ["!/logs/", "/logs/*", "!/logs/.gitignore"]
    _git(top, "add", "-A")
    assert "backend/logs/.gitignore" in _git(top, "ls-files").splitlines()

    # The top .gitignore now ignores the whole project: nothing ours can help, one line says so.
    with (top / ".gitignore").open("a") as gitignore:
        gitignore.write("backend/\n")
    check = run_cli("render", project, "--check", env=GIT_ENV)
    assert check.returncode == 1
    said = [line for line in check.stderr.splitlines() if "git ignores" in line]
    assert len(said) == 1, check.stderr
    assert "(../.gitignore:2: backend/), which no line in the project's .gitignore" in said[0]
    before = (project / ".gitignore").read_bytes()
    render = run_cli("render", project, env=GIT_ENV)
    assert (project / ".gitignore").read_bytes() == before  # no useless negation
    assert len([line for line in render.stderr.splitlines() if "git ignores" in line]) == 1
