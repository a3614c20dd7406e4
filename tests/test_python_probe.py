"""The probe of the hooks' Python (infrastructure/python_probe.py), started early or not.

doctor's CLI starts the probe before its imports and collects it at the python row; the answer
must be the one a probe run at that row gives, and a doctor that stops early leaves no process.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tac_bootstrap.infrastructure import python_probe

OTHER_PYTHON = Path("/root/.pyenv/versions/3.10.13/bin/python3")
PYTHON_2 = Path("/root/.pyenv/versions/2.7.18/bin/python2.7")


@pytest.fixture(autouse=True)
def no_probe_left(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # this test's probe memos
    monkeypatch.delenv("TAC_BOOTSTRAP_NO_CACHE", raising=False)
    python_probe.stop()  # one an in-process doctor of another test started
    yield
    python_probe.stop()


def fake_python(tmp_path: Path, body: str) -> Path:
    script = tmp_path / "python3"
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


@pytest.fixture
def another_python(tmp_path: Path) -> Path:
    """Another interpreter than this one: a wrapper around it when no second Python exists."""
    if OTHER_PYTHON.exists() and not python_probe.is_running_interpreter(str(OTHER_PYTHON)):
        return OTHER_PYTHON
    return fake_python(tmp_path, f'exec "{sys.executable}" "$@"')


def test_a_probe_started_early_answers_what_a_late_one_answers(
    another_python: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(python_probe.PYTHON_ENV_VAR, str(another_python))
    late = python_probe.answer(str(another_python))
    python_probe.start()
    assert str(another_python) in python_probe._started
    early = python_probe.answer(str(another_python))
    assert early == late and len(early[0]) == 3
    assert python_probe._started == {}


def test_the_running_interpreter_is_answered_without_a_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(python_probe.PYTHON_ENV_VAR, sys.executable)
    python_probe.start()
    assert python_probe._started == {}
    version, pydantic = python_probe.answer(sys.executable)
    assert version == tuple(sys.version_info[:3]) and str(pydantic).startswith("2")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("exit 3", ((), None)),
        ("echo not json", ((), None)),
        ('echo \'{"python": [3, 9, 1], "pydantic": null}\'', ((3, 9, 1), None)),
    ],
    ids=["fails", "garbage", "old python without pydantic"],
)
def test_what_a_broken_or_old_interpreter_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str, expected: object
) -> None:
    fake = fake_python(tmp_path, body)
    monkeypatch.setenv(python_probe.PYTHON_ENV_VAR, str(fake))
    python_probe.start()
    assert python_probe.answer(str(fake)) == expected


def test_a_doctor_that_stops_early_leaves_no_probe_running(tmp_path: Path) -> None:
    """An invalid config ends doctor before the python row: the probe it started is stopped
    (the CLI stops it when the command ends, whichever way)."""
    marker = tmp_path / "probe-ran"
    slow = fake_python(tmp_path, f'sleep 30; touch "{marker}"')
    project = tmp_path / "project"
    project.mkdir()
    (project / "tac_bootstrap.yml").write_text("project: [unclosed\n")
    env = {**os.environ, python_probe.PYTHON_ENV_VAR: str(slow)}
    result = subprocess.run(
        [sys.executable, "-m", "tac_bootstrap", "doctor"],
        cwd=project, env=env, capture_output=True, text=True, check=False, timeout=25,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert running(str(slow)) == []


def running(needle: str) -> list[int]:
    """Processes whose command line holds ``needle`` (read from /proc: no procps needed)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if entry.name.isdigit() and needle.encode() in cmdline:
            found.append(int(entry.name))
    return found


def test_the_console_script_starts_the_probe_before_typer_loads(
    another_python: Path, tmp_path: Path, new_project: Callable[..., Path]
) -> None:
    """The head start (cli/entry.py): the probe's process is launched before typer is
    imported, and doctor collects that one probe instead of starting another."""
    project = new_project(tmp_path)
    script = f"""
import json, sys
launched = []
def hook(event, args):
    if event == "subprocess.Popen" and {str(another_python)!r} in str(args[0]):
        launched.append("typer" in sys.modules)
sys.addaudithook(hook)
sys.argv = ["tac-bootstrap", "doctor", "--json"]
from tac_bootstrap.cli.entry import main
try:
    main()
except SystemExit:
    pass
print(json.dumps(launched))
"""
    env = {**os.environ, python_probe.PYTHON_ENV_VAR: str(another_python)}
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=project, env=env, capture_output=True, text=True,
        check=False, timeout=120,
    )  # fmt: skip
    lines = result.stdout.strip().splitlines()
    assert json.loads(lines[-1]) == [False], result.stderr  # one probe, typer not yet loaded
    report = json.loads("\n".join(lines[:-1]))
    python_row = next(row for row in report["checks"] if row["name"] == "python")
    assert str(another_python) in python_row["message"]
    assert ", Python 3." in python_row["message"]  # it answered (with or without pydantic)


def test_a_head_start_for_a_doctor_that_never_runs_leaves_no_probe(tmp_path: Path) -> None:
    """A usage error after the head start: typer exits before doctor's body, and the probe
    started for it is ended at exit."""
    slow = fake_python(tmp_path, 'sleep 30; echo "{}"')
    env = {**os.environ, python_probe.PYTHON_ENV_VAR: str(slow)}
    result = subprocess.run(
        [sys.executable, "-m", "tac_bootstrap", "doctor", "--no-such-option"],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=False, timeout=25,
    )  # fmt: skip
    assert result.returncode == 2 and "--no-such-option" in result.stderr
    assert running(str(slow)) == []


# -- the memo of pydantic's import -----------------------------------------------------------


def write_pydantic(site: Path, version: str, log: Path) -> None:
    """A pydantic (with its core and typing_extensions) that notes each import in ``log``."""
    (site / "pydantic").mkdir(parents=True)
    (site / "pydantic_core").mkdir()
    (site / "pydantic" / "__init__.py").write_text(
        f"open({str(log)!r}, 'a').write('imported\\n')\n"
        "import pydantic_core, typing_extensions, probe_dependency\n"
        "from pydantic.version import VERSION\n"
    )
    (site / "pydantic" / "version.py").write_text(f"VERSION = {version!r}\n")
    (site / "pydantic_core" / "__init__.py").write_text("from . import _pydantic_core\n")
    (site / "pydantic_core" / "_pydantic_core.py").write_text("CORE = 1\n")  # the compiled core
    (site / "typing_extensions.py").write_text("")
    (site / "probe_dependency.py").write_text("")  # as typing_inspection: found nowhere else


@pytest.fixture
def fake_pydantic(tmp_path: Path) -> tuple[Path, Path]:
    """An interpreter (this one, through a wrapper) that finds a pydantic noting its imports
    first on its path, and that log."""
    site = tmp_path / "site"
    log = tmp_path / "imports.log"
    write_pydantic(site, "2.99.0", log)
    wrapper = fake_python(tmp_path, f'PYTHONPATH="{site}" exec "{sys.executable}" "$@"')
    return wrapper, log


def imports(log: Path) -> int:
    return len(log.read_text().splitlines()) if log.exists() else 0


def test_an_unchanged_pydantic_is_not_imported_again(
    fake_pydantic: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The probe runs every time (through whatever PATH finds), but pydantic's import only
    when what it would read changed; the answer is the same."""
    python, log = fake_pydantic
    monkeypatch.setenv(python_probe.PYTHON_ENV_VAR, str(python))
    first = python_probe.answer(str(python))
    assert first[1] == "2.99.0" and imports(log) == 1
    assert python_probe.answer(str(python)) == first and imports(log) == 1
    python_probe.start()  # the head start reads the memo too
    assert python_probe.answer(str(python)) == first and imports(log) == 1
    monkeypatch.setenv("TAC_BOOTSTRAP_NO_CACHE", "1")
    assert python_probe.answer(str(python)) == first and imports(log) == 2


def _new_version(site: Path) -> None:
    (site / "pydantic" / "version.py").write_text("VERSION = '2.100.1'\n")


def _core_rebuilt(site: Path) -> None:
    """Same size, and an mtime set back as installers do: the inode and ctime still tell."""
    core = site / "pydantic_core" / "_pydantic_core.py"
    before = core.stat()
    replacement = core.with_name("new-core")
    replacement.write_text("CORE = 2\n")
    os.utime(replacement, ns=(before.st_atime_ns, before.st_mtime_ns))
    replacement.replace(core)


def _core_removed(site: Path) -> None:
    for name in ("__init__.py", "_pydantic_core.py"):
        (site / "pydantic_core" / name).unlink()
    (site / "pydantic_core").rmdir()


def _dependency_removed(site: Path) -> None:
    """A package pydantic imports (as typing_inspection) uninstalled."""
    (site / "probe_dependency.py").unlink()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (_new_version, "2.100.1"),
        (_core_rebuilt, "2.99.0"),
        (_core_removed, None),
        (_dependency_removed, None),
    ],
    ids=["new version", "core rebuilt", "core removed", "dependency removed"],
)
def test_a_changed_pydantic_is_imported_again(
    fake_pydantic: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
    change: Callable[[Path], None],
    expected: str | None,
) -> None:
    python, log = fake_pydantic
    monkeypatch.setenv(python_probe.PYTHON_ENV_VAR, str(python))
    assert python_probe.answer(str(python))[1] == "2.99.0"
    change(python.parent / "site")
    assert python_probe.answer(str(python))[1] == expected
    assert imports(log) == 2  # the changed files were imported, not the memo's answer
    assert python_probe.answer(str(python))[1] == expected
    # A working import is remembered as the files now are; a failed one is tried every time.
    assert imports(log) == (2 if expected else 3)


def test_a_failed_import_is_tried_again_once_fixed(
    fake_pydantic: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`pip install` of the missing dependency leaves pydantic's own files as they were:
    doctor must not keep saying pydantic is missing."""
    python, log = fake_pydantic
    monkeypatch.setenv(python_probe.PYTHON_ENV_VAR, str(python))
    site = python.parent / "site"
    _dependency_removed(site)
    assert python_probe.answer(str(python))[1] is None
    (site / "probe_dependency.py").write_text("")
    assert python_probe.answer(str(python))[1] == "2.99.0"
    assert python_probe.answer(str(python))[1] == "2.99.0" and imports(log) == 2


def test_the_directory_doctor_runs_in_changes_nothing(
    fake_pydantic: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """doctor runs from any directory of the project (and files come and go there): the same
    interpreter answers from the same memo, and no module there shadows pydantic."""
    python, log = fake_pydantic
    monkeypatch.setenv(python_probe.PYTHON_ENV_VAR, str(python))
    first, second = tmp_path / "one", tmp_path / "two"
    for directory in (first, second):
        directory.mkdir()
        (directory / "pydantic.py").write_text("VERSION = 'shadow'\n")
    monkeypatch.chdir(first)
    assert python_probe.answer(str(python))[1] == "2.99.0"
    (first / "notes.txt").write_text("a new file in the current directory")
    assert python_probe.answer(str(python))[1] == "2.99.0"
    monkeypatch.chdir(second)
    assert python_probe.answer(str(python))[1] == "2.99.0"
    assert imports(log) == 1


def test_two_environments_taking_turns_each_keep_their_memo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """doctor run in turn from two shells, one with an extra directory on PYTHONPATH: each
    imports once, then both answer from their own memo (one memo per executable would be
    replaced at every turn)."""
    site, log, extra = tmp_path / "site", tmp_path / "imports.log", tmp_path / "extra"
    write_pydantic(site, "2.99.0", log)
    extra.mkdir()
    python = fake_python(
        tmp_path, f'PYTHONPATH="{site}${{EXTRA_PATH:+:$EXTRA_PATH}}" exec "{sys.executable}" "$@"'
    )
    monkeypatch.setenv(python_probe.PYTHON_ENV_VAR, str(python))
    for setting in (None, str(extra), None, str(extra), None):
        if setting is None:
            monkeypatch.delenv("EXTRA_PATH", raising=False)
        else:
            monkeypatch.setenv("EXTRA_PATH", setting)
        assert python_probe.answer(str(python))[1] == "2.99.0"
    assert imports(log) == 2


@pytest.mark.skipif(not PYTHON_2.exists(), reason="no Python 2 interpreter on this machine")
def test_a_python_2_is_reported_as_too_old_not_as_no_python(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(python_probe.PYTHON_ENV_VAR, str(PYTHON_2))
    version, pydantic = python_probe.answer(str(PYTHON_2))
    assert version[:2] == (2, 7) and pydantic is None


def test_another_interpreter_behind_the_same_name_is_asked_again(
    fake_pydantic: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pyenv shim picks another version (PYENV_VERSION, a .python-version), or a user site
    puts another pydantic first: the path it searches differs, so the memo does not answer."""
    python, log = fake_pydantic
    monkeypatch.setenv(python_probe.PYTHON_ENV_VAR, str(python))
    assert python_probe.answer(str(python))[1] == "2.99.0"
    site, other = python.parent / "site", python.parent / "other"
    write_pydantic(other, "2.5.0", log)
    python.write_text(f'#!/bin/sh\nPYTHONPATH="{other}:{site}" exec "{sys.executable}" "$@"\n')
    assert python_probe.answer(str(python))[1] == "2.5.0"
    assert imports(log) == 2
    assert python_probe.answer(str(python))[1] == "2.5.0" and imports(log) == 2
