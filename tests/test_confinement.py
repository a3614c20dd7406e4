"""Nothing is written outside the project: not through a symlinked state directory, a `.git`
symlink, a symlinked layer directory, a symlink loop or a planned file that is a symlink.

The property: whatever symlinks sit at planned path prefixes, after init, render --force or
upgrade --yes nothing outside the project has changed, and the command exits 0 or 1 with at
most one `error:` line and never a traceback.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from tac_bootstrap.cli.app import app
from tac_bootstrap.domain.errors import UnsafePathError
from tac_bootstrap.infrastructure import filesystem
from tac_bootstrap.infrastructure.filesystem import confined_path, resolving_once

from .conftest import examples

Snapshot = dict[str, tuple[str, bytes | str, int]]


def snapshot(root: Path) -> Snapshot:
    """Every entry under root (files with content, symlinks with target, dirs), never followed."""
    seen: Snapshot = {}
    for base, dirs, files in os.walk(root, followlinks=False):
        for name in [*dirs, *files]:
            path = Path(base) / name
            rel = path.relative_to(root).as_posix()
            info = path.lstat()
            if path.is_symlink():
                seen[rel] = ("link", os.readlink(path), 0)
            elif path.is_dir():
                seen[rel] = ("dir", "", info.st_mode)
            else:
                seen[rel] = ("file", path.read_bytes(), info.st_mode)
    return seen


def run(*args: str | Path) -> tuple[int, str]:
    """The CLI in-process (a traceback fails the test: exceptions are not caught)."""
    result = CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)
    return result.exit_code, result.stderr


def assert_clean_failure(code: int, stderr: str) -> None:
    # 2 only for the config file itself (a link to a directory or nowhere is a config error)
    assert code in (0, 1) or (code == 2 and "tac_bootstrap.yml" in stderr), stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) <= 1, stderr
    assert "Traceback" not in stderr


@pytest.fixture(scope="module")
def template_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One initialised project (no git), copied for every case."""
    base = tmp_path_factory.mktemp("template")
    code, stderr = run("init", "demo", "-o", base, "--yes", "--no-git")
    assert code == 0, stderr
    return base / "demo"


@pytest.fixture
def world(tmp_path: Path) -> tuple[Path, Path]:
    """A project directory and a sibling 'outside' directory holding a dir and a file."""
    outside = tmp_path / "outside"
    (outside / "dir").mkdir(parents=True)
    (outside / "file").write_bytes(b"outside\n")
    project = tmp_path / "demo"
    return project, outside


def _prepare(project: Path, parent: Path) -> None:
    project.mkdir(exist_ok=True)
    parent.mkdir(parents=True, exist_ok=True)


def _replace_with_link(path: Path, target: str | Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(target)


# -- table ---------------------------------------------------------------------------------

Case = Callable[[Path, Path], None]


def _state_dir_out(project: Path, outside: Path) -> None:
    _replace_with_link(project / ".tac_bootstrap", outside / "dir")


def _backups_out(project: Path, outside: Path) -> None:
    _replace_with_link(project / ".tac_bootstrap/backups", outside / "dir")
    (project / ".claude").mkdir(exist_ok=True)
    (project / ".claude/settings.json").write_text("{}\n")  # render/upgrade back it up
    _pretend_generated(project, ".claude/settings.json")


def _pretend_generated(project: Path, relative: str) -> None:
    """Make the manifest say we generated the file as it is now (upgrade then replaces it)."""
    manifest = project / "tac_bootstrap.manifest.json"
    if manifest.is_file():
        data = json.loads(manifest.read_text())
        content = (project / relative).read_bytes()
        data["files"][relative]["sha256"] = hashlib.sha256(content).hexdigest()
        manifest.write_text(json.dumps(data))


def _base_out(project: Path, outside: Path) -> None:
    _replace_with_link(project / ".tac_bootstrap/bases.pack", outside / "file")


def _manifest_out(project: Path, outside: Path) -> None:
    _replace_with_link(project / "tac_bootstrap.manifest.json", outside / "file")


def _layer_dir_out(project: Path, outside: Path) -> None:
    _replace_with_link(project / "adws", outside / "dir")


def _nested_dir_out(project: Path, outside: Path) -> None:
    _replace_with_link(project / "adws/adw_modules", outside / "dir")


def _planned_file_out(project: Path, outside: Path) -> None:
    _replace_with_link(project / ".claude/settings.json", outside / "file")


def _loop(project: Path, outside: Path) -> None:
    _replace_with_link(project / ".claude", project / ".claude-loop")
    _replace_with_link(project / ".claude-loop", project / ".claude")


def _dangling_out(project: Path, outside: Path) -> None:
    _replace_with_link(project / "specs", outside / "missing")


TABLE: dict[str, Case] = {
    "state dir -> outside": _state_dir_out,
    "backups -> outside": _backups_out,
    "bases -> outside": _base_out,
    "manifest -> outside file": _manifest_out,
    "layer dir -> outside": _layer_dir_out,
    "nested dir -> outside": _nested_dir_out,
    "planned file -> outside file": _planned_file_out,
    "symlink loop": _loop,
    "dangling dir -> outside": _dangling_out,
}


@pytest.mark.parametrize("command", ["init", "render", "upgrade"])
@pytest.mark.parametrize("case", list(TABLE))
def test_symlinks_out_of_the_project_are_refused_before_any_write(
    template_project: Path, world: tuple[Path, Path], case: str, command: str
) -> None:
    project, outside = world
    if command == "init":
        project.mkdir()  # a fresh init into a directory that holds only the symlink
    else:
        shutil.copytree(template_project, project, symlinks=True)
    TABLE[case](project, outside)
    before_outside, before_project = snapshot(outside), snapshot(project)
    if command == "init":
        code, stderr = run("init", "demo", "-o", project.parent, "--yes", "--no-git")
    elif command == "render":
        code, stderr = run("render", project, "--force")
    else:
        code, stderr = run("upgrade", project, "--yes")
    assert snapshot(outside) == before_outside
    if command == "init" and case == "backups -> outside":
        return  # init never overwrites, so it takes no backup: nothing goes through the link
    assert code == 1, stderr
    assert len(stderr.strip().splitlines()) == 1 and stderr.startswith("error: "), stderr
    assert "symlink" in stderr
    assert snapshot(outside) == before_outside
    assert snapshot(project) == before_project  # refused before the first write


@pytest.mark.parametrize("kind", ["dangling", "outside dir"])
def test_init_refuses_a_git_symlink_before_writing(world: tuple[Path, Path], kind: str) -> None:
    project, outside = world
    project.mkdir()
    target = outside / ("nowhere" if kind == "dangling" else "dir")
    (project / ".git").symlink_to(target)
    before_outside, before_project = snapshot(outside), snapshot(project)
    code, stderr = run("init", "demo", "-o", project.parent, "--yes")
    assert code == 1
    assert stderr.count("\n") == 1 and stderr.startswith("error: "), stderr
    assert str(project / ".git") in stderr and str(target) in stderr
    assert snapshot(outside) == before_outside
    assert snapshot(project) == before_project
    assert not (outside / "nowhere").exists()


def test_a_git_symlink_inside_the_project_is_allowed(world: tuple[Path, Path]) -> None:
    project, _ = world
    (project / "gitdir").mkdir(parents=True)
    (project / ".git").symlink_to(project / "gitdir")
    code, stderr = run("init", "demo", "-o", project.parent, "--yes")
    assert code == 0, stderr


# -- generated layouts -----------------------------------------------------------------------

PREFIXES = [
    ".tac_bootstrap",
    ".tac_bootstrap/bases.pack",
    ".tac_bootstrap/base",  # an older project's bases, still read
    ".tac_bootstrap/backups",
    ".git",
    "tac_bootstrap.manifest.json",
    "tac_bootstrap.yml",
    "adws",
    "adws/adw_modules",
    "adws/adw_modules/agent.py",
    "adws/schema",
    "adws/schema/migrations",
    ".claude",
    ".claude/hooks",
    ".claude/settings.json",
    ".claude/commands",
    "specs",
    "specs/templates/feature.md",
    "logs",
    "logs/.gitignore",
]
KINDS = ["inside dir", "outside dir", "outside file", "dangling out", "dangling in", "loop"]


@st.composite
def layouts(draw: st.DrawFn) -> list[tuple[str, str]]:
    chosen = draw(st.lists(st.sampled_from(PREFIXES), min_size=1, max_size=4, unique=True))
    return [(prefix, draw(st.sampled_from(KINDS))) for prefix in chosen]


def _place(project: Path, outside: Path, prefix: str, kind: str) -> None:
    path = project / prefix
    for parent in Path(prefix).parents:
        ancestor = project / parent
        if ancestor != project and (ancestor.is_symlink() or ancestor.is_file()):
            return  # under an earlier symlink: setting it up would write through it
    targets: dict[str, str | Path] = {
        "inside dir": project / "inner",
        "outside dir": outside / "dir",
        "outside file": outside / "file",
        "dangling out": outside / "missing",
        "dangling in": project / "missing",
        "loop": path,
    }
    if kind == "inside dir":
        (project / "inner").mkdir(exist_ok=True)
    _replace_with_link(path, targets[kind])


def _outside_world(base: Path) -> Path:
    """What symlinks may point at outside the project: a directory and a file."""
    outside = base / "outside"
    (outside / "dir").mkdir(parents=True)
    (outside / "file").write_bytes(b"outside\n")
    return outside


@settings(max_examples=examples(60))
@given(layout=layouts(), command=st.sampled_from(["init", "render", "upgrade"]))
def test_no_symlink_layout_lets_a_write_escape(
    template_project: Path, layout: list[tuple[str, str]], command: str
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        outside, project = _outside_world(base), base / "demo"
        if command == "init":
            project.mkdir()
        else:
            shutil.copytree(template_project, project, symlinks=True)
            (project / ".claude/settings.json").write_text("{}\n")  # a backup to take
        for prefix, kind in layout:
            _place(project, outside, prefix, kind)
        before = snapshot(outside)
        if command == "init":
            code, stderr = run("init", "demo", "-o", base, "--yes")
        elif command == "render":
            code, stderr = run("render", project, "--force")
        else:
            code, stderr = run("upgrade", project, "--yes")
        assert snapshot(outside) == before, (layout, stderr)
        assert_clean_failure(code, stderr)
        assert not _git_dirs_outside(outside)


def _git_dirs_outside(outside: Path) -> list[Path]:
    return [p for p in outside.rglob("HEAD") if not p.is_symlink()]


def test_snapshot_sees_a_write_outside(tmp_path: Path) -> None:
    """The property's instrument: a file written through a symlink changes the snapshot."""
    before = snapshot(tmp_path)
    (tmp_path / "new").write_bytes(b"x")
    assert snapshot(tmp_path) != before
    assert subprocess.run(["true"], check=False).returncode == 0


# -- resolving each directory once gives the same answers -----------------------------------

CHECKED = [*PREFIXES, "adws/adw_modules/new.py", "adws/new/deeper/file.md", "missing/x", "inner/x"]


def _answer(project: Path, relative: str) -> str:
    try:
        return f"ok {confined_path(project, relative)}"
    except UnsafePathError as exc:
        return f"refused {exc.message}"


@settings(max_examples=examples(100))
@given(layout=layouts(), order=st.permutations(CHECKED))
def test_resolving_each_directory_once_answers_as_resolving_every_path(
    layout: list[tuple[str, str]], order: list[str]
) -> None:
    """plan_executor checks and writes a plan inside filesystem.resolving_once(): for any
    symlink layout, in any order, every path is accepted or refused exactly as a resolution of
    the whole path accepts or refuses it."""
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        outside, project = _outside_world(base), base / "demo"
        project.mkdir()
        for prefix, kind in layout:
            _place(project, outside, prefix, kind)
        whole = {relative: _answer(project, relative) for relative in order}
        with resolving_once():
            once = {relative: _answer(project, relative) for relative in order}
            with resolving_once():  # re-entered: the outer block's directories are kept
                again = {relative: _answer(project, relative) for relative in order}
        assert once == whole == again, layout


_SEGMENTS = st.sampled_from(["a", "ab", "b", "a.b", "x-y", "é"])


@given(
    real=st.lists(_SEGMENTS, max_size=4).map(lambda parts: "/" + "/".join(parts)),
    root=st.lists(_SEGMENTS, max_size=3).map(lambda parts: "/" + "/".join(parts)),
)
def test_the_string_test_of_inside_is_the_path_test(real: str, root: str) -> None:
    inside = Path(real) == Path(root) or Path(root) in Path(real).parents
    assert filesystem._within(real, root) is inside
