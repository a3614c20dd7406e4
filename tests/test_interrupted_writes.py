"""Nothing half-written, nothing left behind: a predictable failure writes nothing, a failure
mid-way says what was written, temp files of a killed run are swept and never committed, an
interrupted initial commit is completed, and SIGKILL at any moment leaves a re-run clean.
"""

from __future__ import annotations

import contextlib
import fnmatch
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from tac_bootstrap.cli.app import app
from tac_bootstrap.infrastructure.backups import BackupSet
from tac_bootstrap.infrastructure.filesystem import (
    GIT_EXCLUDE_PATTERN,
    is_stale_temp,
    sweep_temp_files,
)
from tac_bootstrap.infrastructure.git_repo import INIT_MARKER
from tac_bootstrap.runtime.adw_db_private import temp_name

from .conftest import examples, tree_snapshot

MANIFEST = "tac_bootstrap.manifest.json"


def run(*args: str | Path) -> tuple[int, str, str]:
    """The CLI in-process; an exception (a traceback for the user) fails the test."""
    result = CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def git(root: Path, *args: str) -> str:
    result = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True)
    return result.stdout


def dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def leftovers(root: Path) -> list[str]:
    """Temp files of any tac-bootstrap version anywhere under root."""
    found = []
    for base, _, files in os.walk(root):
        for name in files:
            if ".tac-tmp-" in name or fnmatch.fnmatch(name, ".*.????????.tmp"):
                found.append(os.path.join(base, name))
    return found


@pytest.fixture(scope="module")
def template_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("template")
    code, _, stderr = run("init", "demo", "-o", base, "--yes", "--no-git")
    assert code == 0, stderr
    return base / "demo"


# -- 1. preflight: a predictable failure writes nothing ---------------------------------------


def _file_instead_of_dir(relative: str) -> Callable[[Path], None]:
    def setup(project: Path) -> None:
        (project / relative).parent.mkdir(parents=True, exist_ok=True)
        (project / relative).write_text("in the way\n")

    return setup


def _deep_target(tmp_path: Path) -> Path:
    """An output directory so deep that the longest generated paths exceed PATH_MAX."""
    deep = tmp_path
    while len(os.fsencode(deep)) < 4096 - 60:
        deep = deep / ("d" * min(200, 4096 - 61 - len(os.fsencode(deep))))
    deep.mkdir(parents=True)
    return deep


def _dir_instead_of_file(relative: str) -> Callable[[Path], None]:
    def setup(project: Path) -> None:
        (project / relative).unlink(missing_ok=True)
        (project / relative).mkdir(parents=True)

    return setup


PREFLIGHT = {
    "adws is a file": _file_instead_of_dir("adws"),
    ".claude/hooks is a file": _file_instead_of_dir(".claude/hooks"),
    ".tac_bootstrap is a file": _file_instead_of_dir(".tac_bootstrap"),
    "the base pack is a directory": _dir_instead_of_file(".tac_bootstrap/bases.pack"),
}


@pytest.mark.parametrize("case", list(PREFLIGHT))
def test_init_that_cannot_complete_writes_nothing(tmp_path: Path, case: str) -> None:
    project = tmp_path / "demo"
    project.mkdir()
    PREFLIGHT[case](project)
    before = tree_snapshot(tmp_path)
    code, _, stderr = run("init", "demo", "-o", tmp_path, "--yes", "--no-git")
    assert code in (1, 2)
    assert stderr.count("\n") == 1 and stderr.startswith("error: "), stderr
    assert "nothing was written" in stderr
    assert tree_snapshot(tmp_path) == before


RENDER_PREFLIGHT = {
    "manifest is a directory": _dir_instead_of_file(MANIFEST),
    "the base pack is a directory": _dir_instead_of_file(".tac_bootstrap/bases.pack"),
    "state .gitignore is a directory": _dir_instead_of_file(".tac_bootstrap/.gitignore"),
    "backups is a file": _file_instead_of_dir(".tac_bootstrap/backups"),
}


@pytest.mark.parametrize("case", list(RENDER_PREFLIGHT))
def test_render_that_cannot_complete_writes_nothing(
    template_project: Path, tmp_path: Path, case: str
) -> None:
    project = tmp_path / "demo"
    shutil.copytree(template_project, project)
    shutil.rmtree(project / ".tac_bootstrap")  # (bases are re-created by every run)
    # A file to create (one the layer needs: a deleted optional one would stay deleted).
    (project / "adws/schema/schema_orchestrator.sql").unlink()
    (project / ".claude/settings.json").write_text("{}\n")  # a file to back up and merge into
    RENDER_PREFLIGHT[case](project)
    before = tree_snapshot(tmp_path)
    code, _, stderr = run("render", project, "--force")
    assert code == 1
    assert stderr.count("\n") == 1 and "nothing was written" in stderr, stderr
    assert tree_snapshot(tmp_path) == before


def test_a_path_beyond_path_max_is_refused_before_writing(tmp_path: Path) -> None:
    deep = _deep_target(tmp_path)
    code, _, stderr = run("init", "demo", "-o", deep, "--yes", "--no-git")
    assert code in (1, 2)
    assert stderr.count("\n") == 1 and "bytes" in stderr, stderr
    assert not (deep / "demo").exists() or not any((deep / "demo").iterdir())


@contextlib.contextmanager
def read_only(directory: Path) -> Iterator[None]:
    """A read-only bind mount (chmod means nothing to root); skips where mounts are refused."""
    bind = subprocess.run(["mount", "--bind", directory, directory], capture_output=True)
    if bind.returncode != 0:
        pytest.skip(f"cannot bind-mount: {bind.stderr.decode().strip()}")
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", directory], check=True)
        yield
    finally:
        subprocess.run(["umount", directory], check=True)


def test_render_into_a_read_only_directory_writes_nothing(
    template_project: Path, tmp_path: Path
) -> None:
    project = tmp_path / "demo"
    shutil.copytree(template_project, project)
    # Files the layer needs (deleted optional ones would stay deleted):
    (project / "adws/schema/schema_orchestrator.sql").unlink()  # written first...
    (project / ".claude/settings.json").unlink()  # ...then this one, read-only
    before = tree_snapshot(tmp_path)
    with read_only(project / ".claude"):
        code, _, stderr = run("render", project)
    assert code == 1
    assert stderr.count("\n") == 1 and "not writable" in stderr, stderr
    assert str(project / ".claude") in stderr
    assert tree_snapshot(tmp_path) == before


# -- 2. a failure mid-way says what was written --------------------------------------------------


@contextlib.contextmanager
def tiny_disk(directory: Path, size: str) -> Iterator[None]:
    directory.mkdir()
    mount = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", directory])
    if mount.returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield
    finally:
        subprocess.run(["umount", directory], check=True)


def test_a_full_disk_says_what_was_written_and_a_rerun_completes(tmp_path: Path) -> None:
    disk = tmp_path / "disk"
    with tiny_disk(disk, "200k"):
        code, _, stderr = run("init", "demo", "-o", disk, "--yes", "--no-git")
        assert code == 1
        assert stderr.count("\n") == 1, stderr
        assert "No space left on device" in stderr and "were written before it" in stderr
        count = int(stderr.split("; ")[1].split(" file(s)")[0])
        written = [p for p in (disk / "demo").rglob("*") if p.is_file()]
        assert 0 < count <= len(written)
        assert leftovers(disk) == []
        subprocess.run(["mount", "-o", "remount,size=20m", disk], check=True)
        code, _, stderr = run("init", "demo", "-o", disk, "--yes", "--no-git")
        assert code == 0, stderr
        assert run("render", disk / "demo", "--check")[0] == 0


def test_an_upgrade_on_a_full_disk_says_what_was_written_and_a_rerun_completes(
    tmp_path: Path,
) -> None:
    from .test_killed_runs import _old_layer

    disk = tmp_path / "disk"
    with tiny_disk(disk, "20m"):
        project = disk / "demo"
        _old_layer(project)
        free = os.statvfs(disk)
        filler = disk / "filler"
        filler.write_bytes(b"\0" * (free.f_bavail * free.f_frsize - 2 * 4096))
        code, _, stderr = run("upgrade", project, "--yes")
        assert code == 1
        assert stderr.count("\n") == 1, stderr
        assert "No space left on device" in stderr and "were written before it" in stderr
        assert ".tac_bootstrap/backups/" in stderr  # the backups come first
        assert leftovers(disk) == []
        filler.unlink()
        code, _, stderr = run("upgrade", project, "--yes")
        assert code == 0, stderr
        assert run("render", project, "--check")[0] == 0


# -- 3. temp files: recognisable, swept when abandoned, invisible to git ---------------------------

NAMES = st.text(
    st.characters(exclude_categories=["Cs"], exclude_characters="/\x00"),
    min_size=1,
    max_size=300,
)


@given(name=NAMES)
def test_temp_names_are_hidden_bounded_ignored_and_swept_only_when_dead(name: str) -> None:
    temp = temp_name(name)
    assert temp.startswith(".") and "/" not in temp
    assert len(os.fsencode(temp)) <= 255
    assert fnmatch.fnmatchcase(temp, GIT_EXCLUDE_PATTERN)
    assert not is_stale_temp(temp)  # its writer (this process) is alive
    assert is_stale_temp(temp.replace(f"-{os.getpid()}-", f"-{dead_pid()}-"))


USER_LOOKALIKES = [
    "notes.tac-tmp-1-0123abcd",  # not hidden
    ".notes.tac-tmp-x-0123abcd",  # no pid
    ".notes.tac-tmp-1-0123abc",  # 7 hex
    ".notes.tac-tmp-1-0123ABCD",  # upper case
    ".notes.12345678.tmp",  # legacy shape, but notes is not a file we write
    "notes.txt",
]


@given(
    names=st.lists(st.from_regex(r"[a-z][a-z0-9._-]{0,20}", fullmatch=True), max_size=6),
    lookalikes=st.lists(st.sampled_from(USER_LOOKALIKES), max_size=4, unique=True),
)
@settings(max_examples=examples(100))
def test_a_sweep_removes_exactly_the_abandoned_temp_files(
    tmp_path_factory: pytest.TempPathFactory, names: list[str], lookalikes: list[str]
) -> None:
    directory = tmp_path_factory.mktemp("sweep")
    dead = dead_pid()
    stale = {f".{n}.tac-tmp-{dead}-0123abcd" for n in names}
    stale |= {f".{n}.abcd_123.tmp" for n in names}  # older versions' mkstemp names
    live = {temp_name(n) for n in names}
    for name in stale | live | set(lookalikes):
        (directory / name).write_bytes(b"x")
    removed = sweep_temp_files([directory], legacy_names=names)
    assert {p.name for p in removed} == stale
    assert {p.name for p in directory.iterdir()} == live | set(lookalikes)


def test_render_sweeps_what_a_killed_run_left(template_project: Path, tmp_path: Path) -> None:
    project = tmp_path / "demo"
    shutil.copytree(template_project, project)
    dead = dead_pid()
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        stale = [
            project / f"adws/.README.md.tac-tmp-{dead}-0123abcd",
            project / f".{MANIFEST}.tac-tmp-{dead}-deadbeef",
            project / f".tac_bootstrap/.bases.pack.tac-tmp-{dead}-00000000",
            # In an older project's one-file-per-base cache, which is still read.
            project / f".tac_bootstrap/base/adws/.README.md.tac-tmp-{dead}-00000000",
            project / ".claude/.settings.json.a1b2c3d4.tmp",  # an older version's name
        ]
        kept = [
            project / f"adws/.README.md.tac-tmp-{sleeper.pid}-0123abcd",  # a live writer
            project / "adws/.mine.tac-tmp-notes",
        ]
        for path in stale + kept:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"half")
        code, _, stderr = run("render", project)
        assert code == 0, stderr
        assert [p for p in stale if p.exists()] == []
        assert all(p.exists() for p in kept)
    finally:
        sleeper.kill()
        sleeper.wait()


def test_left_temp_files_are_invisible_to_git(tmp_path: Path) -> None:
    code, _, stderr = run("init", "demo", "-o", tmp_path, "--yes")
    assert code == 0, stderr
    project = tmp_path / "demo"
    (project / f"adws/.README.md.tac-tmp-{os.getpid()}-0123abcd").write_bytes(b"half")
    assert git(project, "status", "--porcelain") == ""


# -- 4. backups: one fresh directory per run --------------------------------------------------


def test_backups_of_two_runs_never_share_a_directory(tmp_path: Path) -> None:
    (tmp_path / "f.txt").write_bytes(b"v1")
    first, second = BackupSet(tmp_path), BackupSet(tmp_path)
    second.stamp = first.stamp  # the same microsecond
    (tmp_path / f".tac_bootstrap/backups/{first.stamp}-2").mkdir(parents=True)  # a leftover
    one = first.save("f.txt", b"v1")
    two = second.save("f.txt", b"v2")
    assert one != two and (tmp_path / one).read_bytes() == b"v1"
    assert (tmp_path / two).read_bytes() == b"v2"
    assert two.startswith(f".tac_bootstrap/backups/{first.stamp}-3/")


def test_two_quick_forced_renders_keep_both_backups(template_project: Path, tmp_path: Path) -> None:
    project = tmp_path / "demo"
    shutil.copytree(template_project, project)
    for edit in ("first\n", "second\n"):
        (project / "adws/README.md").write_text(edit)
        code, _, stderr = run("render", project, "--force")
        assert code == 0, stderr
    kept = sorted(p.read_text() for p in project.glob(".tac_bootstrap/backups/*/adws/README.md"))
    assert kept == ["first\n", "second\n"]


# -- 5. an interrupted initial commit is completed on re-run ---------------------------------


def _interrupted_init(tmp_path: Path, state: str) -> Path:
    """The state a kill leaves between `git init` and the first commit."""
    code, _, stderr = run("init", "demo", "-o", tmp_path, "--yes")
    assert code == 0, stderr
    project = tmp_path / "demo"
    shutil.rmtree(project / ".git")
    (project / ".git").mkdir()
    if state == "empty .git":
        return project
    (project / ".git" / INIT_MARKER).write_text("pending\n")
    if state != "marker only":
        git(project, "init", "-q")
    if state == "half added":
        git(project, "add", "adws")
        (project / ".git/index.lock").write_bytes(b"")  # git add was killed
    (project / f"adws/.README.md.tac-tmp-{dead_pid()}-0123abcd").write_bytes(b"half")
    return project


@pytest.mark.parametrize("state", ["empty .git", "marker only", "initialised", "half added"])
def test_rerun_completes_an_interrupted_initial_commit(tmp_path: Path, state: str) -> None:
    project = _interrupted_init(tmp_path, state)
    code, stdout, stderr = run("init", "demo", "-o", tmp_path, "--yes")
    assert code == 0, stderr
    assert "initial commit" in stdout
    assert git(project, "rev-list", "--count", "HEAD").strip() == "1"
    assert git(project, "status", "--porcelain") == ""
    assert not (project / ".git" / INIT_MARKER).exists()
    committed = git(project, "ls-files").splitlines()
    assert "adws/README.md" in committed and MANIFEST in committed
    assert not [name for name in committed if "tac-tmp" in name]
    assert leftovers(project) == []


def test_a_users_commitless_repository_is_left_alone(tmp_path: Path) -> None:
    run("init", "demo", "-o", tmp_path, "--yes")
    project = tmp_path / "demo"
    shutil.rmtree(project / ".git")
    git(project, "init", "-q")
    code, stdout, stderr = run("init", "demo", "-o", tmp_path, "--yes")
    assert code == 0, stderr
    assert "without any commit" in stdout and "left as it is" in stdout
    assert subprocess.run(["git", "rev-parse", "-q", "--verify", "HEAD"], cwd=project).returncode
