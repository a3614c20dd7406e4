"""doctor's probe behind a pyenv shim (infrastructure/pyenv_shim.py): the interpreter the shim
chose is run directly only while nothing pyenv reads has changed.

The end-to-end cases drive the machine's real pyenv (its shims and installed versions) and
compare every answer with what the shim itself runs at that moment.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tac_bootstrap.infrastructure import pyenv_shim, python_probe

PYENV_ROOT = Path(os.environ.get("PYENV_ROOT", "/root/.pyenv"))
SHIM = PYENV_ROOT / "shims" / "python3"


def _installed() -> list[str]:
    versions = PYENV_ROOT / "versions"
    found = sorted(p.name for p in versions.glob("3.1[0-3].*")) if versions.is_dir() else []
    return [v for v in found if (versions / v / "bin" / "python3").is_file()]


needs_pyenv = pytest.mark.skipif(
    not SHIM.is_file() or len(_installed()) < 3, reason="needs pyenv with three Pythons 3.10+"
)


@pytest.fixture(autouse=True)
def own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("TAC_BOOTSTRAP_NO_CACHE", raising=False)
    python_probe.stop()
    yield
    python_probe.stop()


def _truth() -> tuple[int, ...]:
    """What the shim runs now, asked through the shim."""
    out = subprocess.run(
        [str(SHIM), "-c", "import sys; print('.'.join(map(str, sys.version_info[:3])))"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return tuple(int(part) for part in out.strip().split("."))


def _version(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in name.split("."))


@needs_pyenv
def test_each_answer_is_what_the_shim_runs_through_version_switches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second, third = _installed()[:3]
    project = tmp_path / "parent" / "project"
    project.mkdir(parents=True)
    monkeypatch.chdir(project)
    monkeypatch.delenv("PYENV_VERSION", raising=False)
    monkeypatch.setenv("PWD", str(project))
    local = project / ".python-version"

    def check(expected: str) -> None:
        assert _truth() == _version(expected)
        assert python_probe.answer(str(SHIM))[0] == _version(expected)

    local.write_text(first + "\n")
    check(first)
    assert pyenv_shim.resolve(str(SHIM))[0] == str(
        PYENV_ROOT / "versions" / first / "bin" / "python3"
    )
    check(first)  # answered without the shim
    local.write_text(second + "\n")  # `pyenv local`
    assert pyenv_shim.resolve(str(SHIM))[1] is not None
    check(second)
    monkeypatch.setenv("PYENV_VERSION", third)  # `pyenv shell`
    check(third)
    monkeypatch.delenv("PYENV_VERSION")
    check(second)
    local.unlink()
    (project.parent / ".python-version").write_text(first + "\n")  # found further up
    check(first)
    sub = project / "sub"
    sub.mkdir()
    (sub / ".python-version").write_text(third + "\n")
    monkeypatch.chdir(sub)
    monkeypatch.setenv("PWD", str(sub))
    check(third)


@needs_pyenv
def test_a_shim_is_recognised_and_nothing_else_is(tmp_path: Path) -> None:
    assert pyenv_shim.shim_root(str(SHIM)) == str(PYENV_ROOT)
    assert pyenv_shim.shim_root(sys.executable) is None
    script = tmp_path / "python3"
    script.write_text('#!/usr/bin/env bash\nexec /usr/bin/python3 "$@"\n')
    assert pyenv_shim.shim_root(str(script)) is None
    assert pyenv_shim.shim_root(str(tmp_path)) is None
    assert pyenv_shim.resolve(str(script)) == (str(script), None)


def _root(tmp_path: Path) -> Path:
    """A pyenv tree of the shape the fingerprint reads."""
    root = tmp_path / "pyenv"
    for directory in ("libexec", "pyenv.d/which", "versions/3.12.1/bin", "plugins/venv/bin"):
        (root / directory).mkdir(parents=True)
    (root / "version").write_text("3.12.1\n")
    (root / "libexec" / "pyenv-which").write_text("#!/bin/sh\n")
    (root / "plugins" / "venv" / "bin" / "pyenv-venv").write_text("#!/bin/sh\n")
    shim = root / "shims" / "python3"
    shim.parent.mkdir()
    shim.write_text(f'#!/usr/bin/env bash\nexec "{root}/libexec/pyenv" exec "$program" "$@"\n')
    return root


def test_the_fingerprint_follows_every_input_pyenv_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _root(tmp_path)
    shim = str(root / "shims" / "python3")
    assert pyenv_shim.shim_root(shim) == str(root)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    seen = {pyenv_shim.fingerprint(shim, str(root))}

    def changed() -> None:
        now = pyenv_shim.fingerprint(shim, str(root))
        assert now not in seen
        seen.add(now)

    edits: list[Callable[[], object]] = [
        lambda: (root / "version").write_text("3.11.7\n"),  # `pyenv global`
        lambda: (root / "versions" / "3.13.0").mkdir(),  # a version installed
        lambda: (work / ".python-version").write_text("3.12.1\n"),
        lambda: (tmp_path / ".python-version").write_text("3.10\n"),
        lambda: (root / "pyenv.d" / "which" / "hook.bash").write_text("x\n"),
        lambda: (root / "libexec" / "pyenv-which").write_text("#!/bin/sh\n# new\n"),
        lambda: (root / "plugins" / "venv" / "bin" / "pyenv-venv").write_text("#!/bin/sh\n#\n"),
        lambda: monkeypatch.setenv("PYENV_VERSION", "3.10"),
        lambda: monkeypatch.setenv("PATH", "/nowhere:" + os.environ["PATH"]),
        lambda: monkeypatch.chdir(tmp_path),
    ]
    for edit in edits:
        edit()
        changed()
    assert pyenv_shim.fingerprint(shim, str(root)) in seen  # and it is stable otherwise


def test_a_remembered_interpreter_that_changed_is_not_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _root(tmp_path)
    shim = str(root / "shims" / "python3")
    python = root / "versions" / "3.12.1" / "bin" / "python3"
    shutil.copy(sys.executable, python)
    monkeypatch.chdir(tmp_path)
    command, taken = pyenv_shim.resolve(shim)
    assert (command, taken is not None) == (shim, True)
    assert taken is not None
    pyenv_shim.remember(shim, taken, str(python))
    assert pyenv_shim.resolve(shim) == (str(python), None)
    python.write_bytes(python.read_bytes() + b"\0")  # rebuilt in place
    assert pyenv_shim.resolve(shim)[0] == shim
    pyenv_shim.remember(shim, taken, "relative/python3")  # not a path the probe prints
    assert pyenv_shim.resolve(shim)[0] == shim


def test_two_directories_in_turn_each_keep_their_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """doctor in two projects in turn: neither replaces the other's memo."""
    root = _root(tmp_path)
    shim = str(root / "shims" / "python3")
    python = root / "versions" / "3.12.1" / "bin" / "python3"
    shutil.copy(sys.executable, python)
    projects = [tmp_path / "one", tmp_path / "two"]
    for project in projects:
        project.mkdir()
        monkeypatch.chdir(project)
        _command, taken = pyenv_shim.resolve(shim)
        assert taken is not None
        pyenv_shim.remember(shim, taken, str(python))
    for project in projects * 2:
        monkeypatch.chdir(project)
        assert pyenv_shim.resolve(shim) == (str(python), None)
