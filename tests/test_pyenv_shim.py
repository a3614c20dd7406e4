"""doctor's probe behind a pyenv shim (infrastructure/pyenv_shim.py): the interpreter the shim
chose is run directly, in the environment the shim gives it, only while nothing pyenv reads
has changed.

The end-to-end cases drive the machine's real pyenv (its scripts, hooks and installed
Pythons) through a shim of a PYENV_ROOT of their own, and compare every answer with what the
shim itself runs at that moment. Edits change a file's size: on older kernels a same-size
rewrite within one timestamp tick leaves its stat unchanged.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tac_bootstrap.infrastructure import pyenv_shim, python_probe
from tests.conftest import run_cli

MACHINE_ROOT = Path(os.environ.get("PYENV_ROOT", "/root/.pyenv"))
PREFIX = MACHINE_ROOT  # pyenv cloned into its root, as the installer does
PRINT_VERSION = "import sys; print('.'.join(map(str, sys.version_info[:3])))"


def _installed() -> list[str]:
    versions = MACHINE_ROOT / "versions"
    found = sorted(p.name for p in versions.glob("3.1[0-3].*")) if versions.is_dir() else []
    return [v for v in found if (versions / v / "bin" / "python3").is_file()]


needs_pyenv = pytest.mark.skipif(
    not (PREFIX / "libexec" / "pyenv").is_file() or len(_installed()) < 3,
    reason="needs pyenv with three Pythons 3.10+",
)


@pytest.fixture(autouse=True)
def own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("TAC_BOOTSTRAP_NO_CACHE", raising=False)
    for name in ("PYENV_VERSION", "PYENV_DIR", "PYENV_HOOK_PATH"):
        monkeypatch.delenv(name, raising=False)
    python_probe.stop()
    yield
    python_probe.stop()


def _shim_text(root: Path, prefix: Path) -> str:
    """A shim as `pyenv rehash` writes it."""
    return (
        '#!/usr/bin/env bash\nset -e\n[ -n "$PYENV_DEBUG" ] && set -x\n\n'
        'program="${0##*/}"\n\n'
        f'export PYENV_ROOT="{root}"\n'
        "SHIM_PATH=${0%/*}\n"
        f'if [[ $SHIM_PATH != "{root}/shims" ]]; then\n'
        '  export _PYENV_SHIM_PATH="$SHIM_PATH"\nfi\n'
        f'exec "{prefix}/libexec/pyenv" exec "$program" "$@"\n'
    )


@pytest.fixture
def pyenv_root(tmp_path: Path) -> Path:
    """A PYENV_ROOT of its own: the machine's Pythons linked in, a global version, a shim."""
    root = tmp_path / "pyenv-root"
    (root / "versions").mkdir(parents=True)
    for version in _installed()[:3]:
        (root / "versions" / version).symlink_to(MACHINE_ROOT / "versions" / version)
    (root / "version").write_text(_installed()[0] + "\n")
    shim = root / "shims" / "python3"
    shim.parent.mkdir()
    shim.write_text(_shim_text(root, PREFIX))
    shim.chmod(0o755)
    return root


def _shim(root: Path) -> str:
    return str(root / "shims" / "python3")


def _truth(shim: str) -> tuple[int, ...]:
    """What the shim runs now, asked through the shim."""
    out = subprocess.run(
        [shim, "-c", PRINT_VERSION], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    return tuple(int(part) for part in out.strip().split("."))


def _version(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in name.split("."))


def _enter(directory: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """cd as a shell does: the process's directory and $PWD."""
    monkeypatch.chdir(directory)
    monkeypatch.setenv("PWD", str(directory))


def _check(shim: str, expected: str) -> None:
    """The probe answers what the shim runs, asked twice: the second from the memo."""
    assert _truth(shim) == _version(expected)
    assert python_probe.answer(shim)[0] == _version(expected)
    assert pyenv_shim.resolve(shim).command != shim  # remembered
    assert python_probe.answer(shim)[0] == _version(expected)


@needs_pyenv
def test_each_answer_is_what_the_shim_runs_through_version_switches(
    tmp_path: Path, pyenv_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second, third = _installed()[:3]
    shim = _shim(pyenv_root)
    project = tmp_path / "parent" / "project"
    project.mkdir(parents=True)
    _enter(project, monkeypatch)

    _check(shim, first)  # the global version file
    (pyenv_root / "version").write_text(f"{third}\n# pyenv global\n")
    _check(shim, third)
    local = project / ".python-version"
    local.write_text(second + "\n")  # `pyenv local`
    _check(shim, second)
    monkeypatch.setenv("PYENV_VERSION", third)  # `pyenv shell`
    _check(shim, third)
    monkeypatch.delenv("PYENV_VERSION")
    _check(shim, second)
    local.unlink()
    (project.parent / ".python-version").write_text(first + "\n\n")  # found further up
    _check(shim, first)
    sub = project / "sub"
    sub.mkdir()
    (sub / ".python-version").write_text(third + "\n")
    _enter(sub, monkeypatch)
    _check(shim, third)
    monkeypatch.setenv("PYENV_DIR", "..")  # pyenv searches from there (relative to $PWD)
    _check(shim, first)


@needs_pyenv
def test_the_logical_directory_is_searched_as_pyenv_does(
    tmp_path: Path, pyenv_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through a symbolic link, pyenv walks $PWD's parents, not the physical ones."""
    first, second, _third = _installed()[:3]
    shim = _shim(pyenv_root)
    physical = tmp_path / "physical" / "project"
    physical.mkdir(parents=True)
    (tmp_path / "logical").mkdir()
    (tmp_path / "logical" / ".python-version").write_text(second + "\n")
    (tmp_path / "logical" / "project").symlink_to(physical)
    _enter(physical, monkeypatch)
    _check(shim, first)
    monkeypatch.chdir(tmp_path / "logical" / "project")
    monkeypatch.setenv("PWD", str(tmp_path / "logical" / "project"))
    _check(shim, second)
    (tmp_path / "physical" / ".python-version").write_text(first + "\n")  # not on its path
    _check(shim, second)
    (tmp_path / "logical" / ".python-version").write_text(first + "\n\n")  # on its path
    _check(shim, first)


@needs_pyenv
def test_the_first_listed_version_with_the_command_is_followed(
    tmp_path: Path, pyenv_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`PYENV_VERSION=a:b`: pyenv runs the first version whose command is executable; making
    a's executable switches the answer, with no directory changed."""
    first, second, _third = _installed()[:3]
    shim = _shim(pyenv_root)
    _enter(tmp_path, monkeypatch)
    (pyenv_root / "versions" / "a" / "bin").mkdir(parents=True)
    wrapper = pyenv_root / "versions" / "a" / "bin" / "python3"
    wrapper.write_text(f'#!/bin/sh\nexec "{MACHINE_ROOT}/versions/{second}/bin/python3" "$@"\n')
    wrapper.chmod(0o644)
    monkeypatch.setenv("PYENV_VERSION", f"a:{first}")
    _check(shim, first)
    wrapper.chmod(0o755)
    assert _truth(shim) == _version(second)
    assert python_probe.answer(shim)[0] == _version(second)


@needs_pyenv
def test_the_system_python_is_never_remembered(
    tmp_path: Path, pyenv_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pyenv finds `system` on PATH, whose directories' contents are not fingerprinted."""
    system = shutil.which("python3", path="/usr/bin:/bin")
    if system is None:
        pytest.skip("no system python3")
    shim = _shim(pyenv_root)
    _enter(tmp_path, monkeypatch)
    (tmp_path / ".python-version").write_text("system\n")
    monkeypatch.setenv("PATH", f"{pyenv_root / 'shims'}:/usr/bin:/bin")
    for _ in range(2):
        assert python_probe.answer(shim)[0] == _truth(shim)
        assert pyenv_shim.resolve(shim).command == shim


@needs_pyenv
def test_a_remembered_interpreter_runs_in_the_environment_the_shim_gives_it(
    tmp_path: Path, pyenv_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shim = _shim(pyenv_root)
    _enter(tmp_path, monkeypatch)
    assert python_probe.answer(shim)[0]
    command, environ, taken = pyenv_shim.resolve(shim)
    assert command != shim and environ is not None and taken is None
    show = "import json, os, sys; print(json.dumps([sys.executable, dict(os.environ)]))"

    def seen(argv: list[str], env: dict[str, str] | None) -> list[object]:
        done = subprocess.run(
            [*argv, "-c", show], env=env, capture_output=True, text=True, check=True, timeout=60
        )
        return list(json.loads(done.stdout))

    assert seen([command], environ) == seen([shim], None)
    assert "PYENV_VERSION" in environ and environ["PATH"] != os.environ["PATH"]


def _synthetic_root(tmp_path: Path) -> Path:
    """A pyenv tree of the shape the fingerprint reads (its scripts never run)."""
    root = tmp_path / "pyenv"
    for directory in ("libexec", "pyenv.d/which", "versions/3.12.1/bin", "plugins/venv/bin"):
        (root / directory).mkdir(parents=True)
    (root / "plugins" / "venv" / "etc" / "pyenv.d" / "which").mkdir(parents=True)
    (root / "version").write_text("3.12.1\n")
    (root / "libexec" / "pyenv").write_text(
        '#!/usr/bin/env bash\nPYENV_HOOK_PATH="${PYENV_HOOK_PATH}:'
        f'{tmp_path / "site-hooks"}:/etc/pyenv.d"\n'
    )
    (root / "libexec" / "pyenv-which").write_text("#!/bin/sh\n")
    (root / "plugins" / "venv" / "bin" / "pyenv-venv").write_text("#!/bin/sh\n")
    (tmp_path / "site-hooks" / "exec").mkdir(parents=True)
    shim = root / "shims" / "python3"
    shim.parent.mkdir()
    shim.write_text(_shim_text(root, root))
    shutil.copy(sys.executable, root / "versions" / "3.12.1" / "bin" / "python3")
    return root


def _retarget(link: Path, target: Path) -> None:
    link.unlink()
    link.symlink_to(target)


def test_the_fingerprint_follows_every_input_pyenv_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _synthetic_root(tmp_path)
    shim = _shim(root)
    parsed = pyenv_shim.read_shim(shim)
    assert parsed == pyenv_shim.Shim(str(root), str(root))
    work = tmp_path / "work"
    work.mkdir()
    _enter(work, monkeypatch)
    seen = {pyenv_shim.fingerprint(shim, parsed)}
    hooks = tmp_path / "own-hooks"
    hooks.mkdir()

    edits: list[Callable[[], object]] = [
        lambda: (root / "version").write_text("3.11.7\n\n"),  # `pyenv global`
        lambda: (root / "versions" / "3.13.0").mkdir(),  # a version installed
        lambda: (root / "versions" / "3.13.0" / "bin").mkdir(),  # ... and its commands
        lambda: (root / "versions" / "venv").symlink_to(root / "versions" / "3.12.1"),
        lambda: _retarget(root / "versions" / "venv", root / "versions" / "3.13.0"),
        lambda: (root / "versions" / "3.12.1" / "bin" / "python3").chmod(0o644),  # `-x` fails
        lambda: (root / "versions" / "3.13.0" / "bin" / "python3").symlink_to(tmp_path / "py"),
        lambda: (tmp_path / "py").write_text("#!/bin/sh\n"),  # the dangling link resolves
        lambda: (root / "versions" / "3.13.0" / "pyvenv.cfg").write_text("home = /x\n"),
        lambda: (work / ".python-version").write_text("3.12.1\n"),
        lambda: (tmp_path / ".python-version").write_text("3.10\n"),
        lambda: (root / "pyenv.d" / "which" / "hook.bash").write_text("x\n"),
        lambda: (tmp_path / "site-hooks" / "exec" / "hook.bash").write_text("x\n"),  # listed
        lambda: (root / "plugins" / "venv" / "etc" / "pyenv.d" / "which" / "h.bash").touch(),
        lambda: (root / "libexec" / "pyenv-which").write_text("#!/bin/sh\n# new\n"),
        lambda: (root / "plugins" / "venv" / "bin" / "pyenv-venv").write_text("#!/bin/sh\n#\n"),
        lambda: monkeypatch.setenv("PYENV_HOOK_PATH", str(hooks)),
        lambda: (hooks / "which.bash").write_text("x\n"),
        lambda: monkeypatch.setenv("PYENV_VERSION", "3.10"),
        lambda: monkeypatch.setenv("PATH", "/nowhere:" + os.environ["PATH"]),
        lambda: monkeypatch.setenv("BASH_ENV", str(tmp_path / "env.sh")),  # bash reads it
        lambda: monkeypatch.setenv("PYENV_DIR", ".."),
        lambda: _enter(tmp_path, monkeypatch),
    ]
    for number, edit in enumerate(edits):
        edit()
        now = pyenv_shim.fingerprint(shim, parsed)
        assert now not in seen, f"edit {number} went unseen"
        seen.add(now)
    monkeypatch.setenv("OLDPWD", "/elsewhere")  # set by the shell on every cd
    monkeypatch.setenv("_", "/usr/bin/env")
    assert pyenv_shim.fingerprint(shim, parsed) in seen  # and it is stable otherwise


def test_link_loops_anywhere_pyenv_looks_are_read_not_fatal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A `.python-version` or an installed version that is a symbolic-link loop: the
    fingerprint records it (and sees it change) instead of recursing."""
    root = _synthetic_root(tmp_path)
    shim = _shim(root)
    work = tmp_path / "work"
    work.mkdir()
    _enter(work, monkeypatch)
    (work / ".python-version").symlink_to(work / ".python-version")
    (root / "versions" / "a").symlink_to(root / "versions" / "b")
    (root / "versions" / "b").symlink_to(root / "versions" / "a")
    looped = pyenv_shim.resolve(shim)
    assert looped.command == shim and looped.fingerprint is not None
    (work / ".python-version").unlink()
    (work / ".python-version").write_text("3.12.1\n")
    assert pyenv_shim.resolve(shim).fingerprint not in (None, looped.fingerprint)


def test_an_environment_a_hook_added_to_is_never_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only what `pyenv exec` sets itself is replayed; a hook's export (a token, say) means
    nothing is remembered, so nothing of it reaches the cache."""
    root = _synthetic_root(tmp_path)
    shim = _shim(root)
    python = str(root / "versions" / "3.12.1" / "bin" / "python3")
    _enter(tmp_path, monkeypatch)
    taken = pyenv_shim.resolve(shim).fingerprint
    assert taken is not None
    exported = {**os.environ, "PYENV_VERSION": "3.12.1", "API_TOKEN": "s3cret-value"}
    pyenv_shim.remember(shim, taken, python, exported)
    assert pyenv_shim.resolve(shim).command == shim
    cache = tmp_path / "cache"
    assert not any("s3cret-value" in f.read_text() for f in cache.rglob("*.json"))
    pyenv_shim.remember(shim, taken, python, {**os.environ, "PYENV_VERSION": "3.12.1"})
    assert pyenv_shim.resolve(shim).command == python


def test_a_remembered_interpreter_that_changed_is_not_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _synthetic_root(tmp_path)
    shim = _shim(root)
    python = root / "versions" / "3.12.1" / "bin" / "python3"
    _enter(tmp_path, monkeypatch)
    command, environ, taken = pyenv_shim.resolve(shim)
    assert (command, environ) == (shim, None)
    assert taken is not None
    pyenv_shim.remember(shim, taken, str(python), {**os.environ, "PYENV_VERSION": "3.12.1"})
    remembered = pyenv_shim.resolve(shim)
    assert remembered.command == str(python) and remembered.fingerprint is None
    assert remembered.environ == {**os.environ, "PYENV_VERSION": "3.12.1"}
    python.write_bytes(python.read_bytes() + b"\0")  # rebuilt in place
    assert pyenv_shim.resolve(shim).command == shim
    for elsewhere in ("relative/python3", sys.executable):  # not an installed version
        pyenv_shim.remember(shim, taken, elsewhere, dict(os.environ))
        assert pyenv_shim.resolve(shim).command == shim


def _remember_as_it_is(shim: str, python: str) -> None:
    """What a probe through the shim records: it ran ``python`` in this environment."""
    taken = pyenv_shim.resolve(shim).fingerprint
    assert taken is not None
    pyenv_shim.remember(shim, taken, python, dict(os.environ))


def test_two_directories_in_turn_each_keep_their_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """doctor in two projects in turn: neither replaces the other's memo."""
    root = _synthetic_root(tmp_path)
    shim = _shim(root)
    python = str(root / "versions" / "3.12.1" / "bin" / "python3")
    projects = [tmp_path / "one", tmp_path / "two"]
    for project in projects:
        project.mkdir()
        _enter(project, monkeypatch)
        _remember_as_it_is(shim, python)
    for project in projects * 2:
        _enter(project, monkeypatch)
        assert pyenv_shim.resolve(shim).command == python


def test_two_environments_in_turn_each_keep_their_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One directory, two environments (a PYTHONPATH set or not) taking turns."""
    root = _synthetic_root(tmp_path)
    shim = _shim(root)
    python = str(root / "versions" / "3.12.1" / "bin" / "python3")
    _enter(tmp_path, monkeypatch)
    settings: list[str | None] = [None, str(tmp_path)]
    for setting in settings:
        _set_or_unset(monkeypatch, "PYTHONPATH", setting)
        _remember_as_it_is(shim, python)
    for setting in settings * 2:
        _set_or_unset(monkeypatch, "PYTHONPATH", setting)
        resolved = pyenv_shim.resolve(shim)
        assert resolved.command == python
        assert resolved.environ is not None
        assert resolved.environ.get("PYTHONPATH") == setting


def _set_or_unset(monkeypatch: pytest.MonkeyPatch, name: str, value: str | None) -> None:
    if value is None:
        monkeypatch.delenv(name, raising=False)
    else:
        monkeypatch.setenv(name, value)


def test_anything_but_a_readable_shim_and_memo_runs_as_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _synthetic_root(tmp_path)
    shim = _shim(root)
    script = tmp_path / "python3"
    script.write_text('#!/usr/bin/env bash\nexec /usr/bin/python3 "$@"\n')
    for other in (sys.executable, str(script), str(tmp_path), str(tmp_path / "missing")):
        assert pyenv_shim.read_shim(other) is None
        assert pyenv_shim.resolve(other) == (other, None, None)
    _enter(tmp_path, monkeypatch)
    taken = pyenv_shim.resolve(shim).fingerprint
    assert taken is not None
    python = str(root / "versions" / "3.12.1" / "bin" / "python3")
    pyenv_shim.remember(shim, taken, python, dict(os.environ))
    memo = next((tmp_path / "cache").rglob(f"{pyenv_shim.MEMO_KIND}/*.json"))
    body = json.loads(memo.read_text())
    damages: list[dict[str, object]] = [
        {"set": "PATH"},
        {"unset": None},
        {"target": 7},
        {"target_state": []},
    ]
    for damage in damages:
        memo.write_text(json.dumps({**body, **damage}))
        assert pyenv_shim.resolve(shim).command == shim, damage
    memo.write_text("{not json")
    assert pyenv_shim.resolve(shim).command == shim


@needs_pyenv
def test_doctor_reports_what_the_shim_runs_after_a_switch(tmp_path: Path, pyenv_root: Path) -> None:
    """The real CLI, its head start included, with the shim first on PATH."""
    first, second, _third = _installed()[:3]
    run_cli("init", "demo", "--no-git", "--yes", cwd=tmp_path)
    project = tmp_path / "demo"
    env = {
        "PATH": f"{pyenv_root / 'shims'}:{os.environ['PATH']}",
        "PWD": str(project),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
    }

    def python_row() -> str:
        done = run_cli("doctor", "--json", cwd=project, env=env)
        report = json.loads(done.stdout)
        row = next(row for row in report["checks"] if row["name"] == "python")
        return str(row["message"])

    assert f"Python {first}" in python_row()
    assert f"Python {first}" in python_row()  # from the memo
    (project / ".python-version").write_text(second + "\n")
    assert f"Python {second}" in python_row()
