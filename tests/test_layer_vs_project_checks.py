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
dev = ["pytest", "ruff", "mypy", "flake8", "black"]

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


def test_ruff_judges_the_layer_by_its_own_rules(project: Path, project_python: Path) -> None:
    """The project selects ALL rules; the layer's files pass, the project's own still count."""
    ruff = project_python.parent / "ruff"  # the project's own ruff, the newest release
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


def doctor_rows(project: Path) -> list[dict[str, object]]:
    out = run(project, BIN / "tac-bootstrap", "doctor", project, "--json", ok=(0, 1))
    rows = [row for row in json.loads(out)["checks"] if row["name"] == "project checks"]
    assert rows
    return rows


def tool_fails(project: Path, tool: Path, *args: str) -> str:
    done = subprocess.run([tool, *args], cwd=project, capture_output=True, text=True, check=False)
    assert done.returncode != 0, f"{tool.name} passed without the exclusion"
    return done.stdout + done.stderr


def test_doctor_says_how_to_keep_mypy_off_the_layer(project: Path, project_python: Path) -> None:
    """`mypy .` (what detection writes for a mypy project) also reaches adws/ and trees/:
    mypy really fails there, doctor warns, and both of its suggestions really pass."""
    mypy = project_python.parent / "mypy"
    config = project / "tac_bootstrap.yml"
    original = config.read_text()
    assert 'typecheck: "mypy ."' in original
    assert "adws/" in tool_fails(project, mypy, ".")
    (row,) = doctor_rows(project)
    assert row["status"] == "warn" and "adws/ and trees/" in str(row["message"]), row
    flags = str(row["hint"]).split("or add ", 1)[1].removesuffix(" to the command")
    assert flags == "--exclude ^adws/ --exclude ^trees/"
    run(project, "sh", "-c", f"PATH={mypy.parent}:$PATH mypy . {flags}")
    pyproject = project / "pyproject.toml"
    before = pyproject.read_text()
    try:
        pyproject.write_text(before + '\n[tool.mypy]\nexclude = ["^adws/", "^trees/"]\n')
        run(project, mypy, ".")
        assert [r["status"] for r in doctor_rows(project)] == ["ok"]
        config.write_text(original.replace('typecheck: "mypy ."', 'typecheck: "mypy src tests"'))
        pyproject.write_text(before)
        assert [r["status"] for r in doctor_rows(project)] == ["ok"]
    finally:
        pyproject.write_text(before)
        config.write_text(original)


def test_doctor_says_how_to_keep_flake8_and_black_off_the_layer(
    project: Path, project_python: Path
) -> None:
    """Both read one config, the project's: they really fail on the layer (line length,
    the hooks), doctor names each, and the lines it suggests really make them pass."""
    flake8, black = project_python.parent / "flake8", project_python.parent / "black"
    config = project / "tac_bootstrap.yml"
    original = config.read_text()
    pyproject = project / "pyproject.toml"
    before = pyproject.read_text()
    lint = 'lint: "flake8 && python -m black --check ."'
    try:
        config.write_text(original.replace('lint: "ruff check ."', lint))
        tool_fails(project, flake8)
        assert "would reformat" in tool_fails(project, black, "--check", ".")
        rows = {str(r["message"]).split(": ", 2)[1].split()[0]: r for r in doctor_rows(project)}
        assert set(rows) == {"flake8", "black", "mypy"}, rows
        assert "adws/ and .claude/ and trees/" in str(rows["flake8"]["message"])
        flake8_value = str(rows["flake8"]["hint"]).split("extend-exclude = ", 1)[1].split()[0]
        (project / ".flake8").write_text(f"[flake8]\nextend-exclude = {flake8_value}\n")
        black_value = str(rows["black"]["hint"]).split("extend-exclude = ", 1)[1].split()[0]
        pyproject.write_text(before + f"\n[tool.black]\nextend-exclude = {black_value}\n")
        run(project, flake8)
        run(project, black, "--check", ".")
        left = [str(r["message"]) for r in doctor_rows(project) if r["status"] == "warn"]
        assert all("mypy also checks" in message for message in left), left
    finally:
        config.write_text(original)
        pyproject.write_text(before)
        (project / ".flake8").unlink(missing_ok=True)


def test_doctor_reads_pyright_settings(project: Path) -> None:
    config = project / "tac_bootstrap.yml"
    original = config.read_text()
    settings = project / "pyrightconfig.json"
    try:
        config.write_text(original.replace('typecheck: "mypy ."', 'typecheck: "uv run pyright"'))
        (row,) = doctor_rows(project)
        assert row["status"] == "warn" and "pyright also checks adws/ and trees/" in str(
            row["message"]
        )
        settings.write_text(json.dumps({"exclude": ["adws", "trees", "**/.*"]}))
        assert [r["status"] for r in doctor_rows(project)] == ["ok"]
        settings.write_text(json.dumps({"include": ["src", "tests"]}))
        assert [r["status"] for r in doctor_rows(project)] == ["ok"]
    finally:
        config.write_text(original)
        settings.unlink(missing_ok=True)


@pytest.fixture(autouse=True, scope="module")
def _uv() -> None:
    if shutil.which("uv", path=str(BIN)) is None:
        pytest.fail("uv is installed with the test extra (pyproject [test]); run make test")
