"""The layer must not break a Python project's own checks: the commands a workflow's test phase
runs (`python -m pytest`, `ruff check .`, `ruff format --check .`) pass on a fresh project with
the layer added, in an environment holding only the project's tools (not the layer's pydantic
and pyyaml), with a run's worktree beside it; and they still report the project's own faults."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tac_bootstrap.runtime.adw_worktree import create_worktree

BIN = Path(sys.executable).parent
PYPROJECT = """\
[project]
name = "demo-app"
version = "0.1.0"
requires-python = ">=3.10"

[project.optional-dependencies]
dev = ["pytest", "ruff", "mypy"]

[tool.ruff.lint]
select = ["ALL"]
ignore = ["D203", "D213", "COM812", "CPY001", "INP001", "PLR2004"]
"""
MODULE = '''"""Demo application."""


def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b
'''
TEST = '''"""Tests of add."""

from demo_app import add


def test_add() -> None:
    """Add adds."""
    assert add(1, 2) == 3  # noqa: S101
'''


def run(
    cwd: Path,
    *command: str | Path,
    env: dict[str, str] | None = None,
    ok: tuple[int, ...] = (0,),
) -> str:
    done = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=300,
        env=env,
    )
    assert done.returncode in ok, f"{command}: {done.stdout[-3000:]}{done.stderr[-2000:]}"
    return done.stdout


def git(cwd: Path, *args: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    run(cwd, "git", "-c", "user.name=T", "-c", "user.email=t@example.com", *args, env=env)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A src-layout package with one test, the layer added, committed, and one run's worktree."""
    root = tmp_path_factory.mktemp("checks") / "demo-app"
    (root / "src" / "demo_app").mkdir(parents=True)
    (root / "tests").mkdir()
    (root / "pyproject.toml").write_text(PYPROJECT)
    (root / "src" / "demo_app" / "__init__.py").write_text(MODULE)
    (root / "tests" / "test_add.py").write_text(TEST)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "first")
    run(root, BIN / "tac-bootstrap", "add-agentic", root, "--yes")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "agentic layer")
    create_worktree(root, "run00001", "feature/run00001-demo", "main")
    return root


@pytest.fixture(scope="module")
def project_python(tmp_path_factory: pytest.TempPathFactory, project: Path) -> Path:
    """A virtualenv with the project installed and its dev tools only, as a user's would be."""
    venv = tmp_path_factory.mktemp("venv") / "env"
    run(project, BIN / "uv", "venv", "--quiet", "--python", sys.executable, venv)
    python = venv / "bin" / "python"
    run(project, BIN / "uv", "pip", "install", "--quiet", "--python", python, "-e", ".[dev]")
    missing = subprocess.run([python, "-c", "import pydantic"], capture_output=True, check=False)
    assert missing.returncode != 0, "the project's environment must lack the layer's pydantic"
    return python


def test_pytest_at_the_root_runs_the_project_tests_only(
    project: Path, project_python: Path
) -> None:
    out = run(project, project_python, "-m", "pytest", "-q", "-p", "no:cacheprovider")
    assert out.strip().splitlines()[-1].startswith("1 passed"), out
    listed = run(project, project_python, "-m", "pytest", "--collect-only", "-q")
    assert [line for line in listed.splitlines() if "::" in line] == ["tests/test_add.py::test_add"]
    assert (project / "trees" / "conftest.py").is_file()  # the workflow put the boundary there


def test_pytest_inside_a_worktree_still_collects_its_tests(
    project: Path, project_python: Path
) -> None:
    worktree = project / "trees" / "run00001"
    listed = run(worktree, project_python, "-m", "pytest", "--collect-only", "-q")
    assert [line for line in listed.splitlines() if "::" in line] == ["tests/test_add.py::test_add"]


def test_the_layer_tests_run_when_asked_for(project: Path) -> None:
    """Pointed at adws/ (or inside it), pytest collects the layer's own tests, with the
    layer's dependencies (this suite's environment has them)."""
    for target in ("adws", "adws/tests", "adws/tests/test_adw_agent.py"):
        listed = run(project, sys.executable, "-m", "pytest", "--collect-only", "-q", target)
        tests = [line for line in listed.splitlines() if "::" in line]
        assert tests and all(line.startswith("adws/tests/") for line in tests), (target, listed)


def test_ruff_judges_the_layer_by_its_own_rules(project: Path) -> None:
    """The project selects ALL rules; the layer's files pass, the project's own still count."""
    ruff = BIN / "ruff"
    run(project, ruff, "check", ".")
    run(project, ruff, "format", "--check", ".")
    bad = project / "src" / "demo_app" / "bad.py"
    bad.write_text('"""Bad."""\n\nimport os\n')
    try:
        done = subprocess.run(
            [ruff, "check", ".", "--output-format", "concise"],
            cwd=project,
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        bad.unlink()
    assert done.returncode == 1
    flagged = {line.split(":", 1)[0] for line in done.stdout.splitlines() if ".py:" in line}
    assert flagged == {"src/demo_app/bad.py"}, done.stdout


def test_a_conftest_someone_else_wrote_in_the_worktrees_dir_is_kept(tmp_path: Path) -> None:
    from tac_bootstrap.runtime import pytest_boundary

    theirs = tmp_path / "conftest.py"
    theirs.write_text("# mine\n")
    pytest_boundary.install(tmp_path)
    assert theirs.read_text() == "# mine\n"
    older = Path(pytest_boundary.__file__).read_text().split("\n", 1)[0] + "\nold = 1\n"
    theirs.write_text(older)
    pytest_boundary.install(tmp_path)  # an older copy of ours is brought up to date
    assert theirs.read_bytes() == Path(pytest_boundary.__file__).read_bytes()
    assert not [p for p in tmp_path.iterdir() if p.name != "conftest.py"]


def doctor_row(project: Path) -> dict[str, object]:
    out = run(project, BIN / "tac-bootstrap", "doctor", project, "--json", ok=(0, 1))
    rows = [row for row in json.loads(out)["checks"] if row["name"] == "project checks"]
    assert len(rows) == 1, rows
    row: dict[str, object] = rows[0]
    return row


def test_doctor_says_how_to_keep_mypy_off_the_layer(project: Path, project_python: Path) -> None:
    """`mypy .` (what detection writes for a mypy project) also reaches adws/ and trees/:
    mypy really fails there, doctor warns, and both of its suggestions really pass."""
    mypy = project_python.parent / "mypy"
    config = project / "tac_bootstrap.yml"
    original = config.read_text()
    assert 'typecheck: "mypy ."' in original
    failed = subprocess.run([mypy, "."], cwd=project, capture_output=True, text=True, check=False)
    assert failed.returncode != 0 and "adws/" in failed.stdout, failed.stdout[-2000:]
    row = doctor_row(project)
    assert row["status"] == "warn" and "adws/ and trees/" in str(row["message"]), row
    hint = str(row["hint"])
    suggested = hint.split("set commands.typecheck to `", 1)[1].rstrip("`")
    assert suggested == "mypy . --exclude ^adws/ --exclude ^trees/"
    run(project, "sh", "-c", f"PATH={mypy.parent}:$PATH {suggested}")
    pyproject = project / "pyproject.toml"
    before = pyproject.read_text()
    try:
        pyproject.write_text(before + '\n[tool.mypy]\nexclude = ["^adws/", "^trees/"]\n')
        run(project, mypy, ".")
        assert doctor_row(project)["status"] == "ok"
        config.write_text(original.replace('typecheck: "mypy ."', 'typecheck: "mypy src tests"'))
        pyproject.write_text(before)
        assert doctor_row(project)["status"] == "ok"
    finally:
        pyproject.write_text(before)
        config.write_text(original)


@pytest.fixture(autouse=True, scope="module")
def _uv() -> None:
    if shutil.which("uv", path=str(BIN)) is None:
        pytest.fail("uv is installed with the test extra (pyproject [test]); run make test")
