"""The console script's process: a raised GC threshold, and an ending without the interpreter's
teardown that keeps every exit code, every byte of output and every other exit handler.

Each case is a real interpreter. "teardown ran" is observed through an object whose ``__del__``
runs only when the interpreter frees what is left at exit.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import run_cli

# Kept in builtins, so only the interpreter's teardown frees it.
TEARDOWN_WITNESS = """
import builtins, os, sys

class _Witness:
    def __del__(self):
        os.write(2, b"teardown ran\\n")

builtins._tac_witness = _Witness()
"""


def _handlers_before_startup() -> int:
    """Exit handlers a fresh interpreter already has (coverage's subprocess support, a
    sitecustomize): with any, the ending steps aside by design and these cases cannot run."""
    probe = "import atexit, sys; sys.stdout.write(str(atexit._ncallbacks()))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    return int(done.stdout)


@pytest.fixture(scope="module")
def clean_interpreter() -> None:
    count = _handlers_before_startup()
    if count:
        pytest.skip(f"this interpreter registers {count} exit handler(s) at start-up")


def _child(body: str) -> subprocess.CompletedProcess[str]:
    script = TEARDOWN_WITNESS + textwrap.dedent(body)
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.usefixtures("clean_interpreter")
def test_a_recorded_code_ends_the_process_after_every_later_handler_without_teardown() -> None:
    result = _child(
        """
        import atexit, gc
        from tac_bootstrap.cli import process_lifecycle
        assert process_lifecycle.begin()
        atexit.register(lambda: sys.stdout.write("later handler ran"))
        print("threshold", gc.get_threshold()[0])
        sys.stdout.write("unflushed, ")  # still in the buffer when the ending runs
        process_lifecycle.record(3)
        sys.exit(3)
        """
    )
    assert result.returncode == 3
    assert result.stdout == "threshold 100000\nunflushed, later handler ran"
    assert "teardown ran" not in result.stderr


@pytest.mark.usefixtures("clean_interpreter")
@pytest.mark.parametrize(("code", "expected"), [(None, 0), (0, 0), (1, 1), (2, 2), (130, 130)])
def test_the_recorded_exit_codes_are_the_process_status(code: int | None, expected: int) -> None:
    result = _child(
        f"""
        from tac_bootstrap.cli import process_lifecycle
        assert process_lifecycle.begin()
        process_lifecycle.record({code!r})
        sys.exit({code!r})
        """
    )
    assert result.returncode == expected
    assert "teardown ran" not in result.stderr


def test_a_handler_registered_earlier_keeps_the_usual_exit() -> None:
    result = _child(
        """
        import atexit
        atexit.register(lambda: sys.stdout.write("earlier handler ran"))
        from tac_bootstrap.cli import process_lifecycle
        assert not process_lifecycle.begin()
        process_lifecycle.record(4)
        sys.exit(4)
        """
    )
    assert result.returncode == 4
    assert result.stdout == "earlier handler ran"
    assert "teardown ran" in result.stderr


@pytest.mark.parametrize(
    ("ending", "status", "stderr_has"),
    [
        ("raise RuntimeError('a bug')", 1, "RuntimeError: a bug"),  # never recorded
        ("process_lifecycle.record('bye'); sys.exit('bye')", 1, "bye"),  # Python prints it
        ("process_lifecycle.record(True); sys.exit(True)", 1, ""),
        ("process_lifecycle.record(300); sys.exit(300)", 300 & 0xFF, ""),
    ],
)
def test_anything_but_a_plain_exit_code_is_left_to_python(
    ending: str, status: int, stderr_has: str
) -> None:
    result = _child(
        f"""
        from tac_bootstrap.cli import process_lifecycle
        assert process_lifecycle.begin()
        {ending}
        """
    )
    assert result.returncode == status
    assert stderr_has in result.stderr
    assert "teardown ran" in result.stderr


def test_a_stdout_that_cannot_be_flushed_is_left_to_python() -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # nobody reads: the flush at the end fails with EPIPE
    script = TEARDOWN_WITNESS + textwrap.dedent(
        """
        from tac_bootstrap.cli import process_lifecycle
        assert process_lifecycle.begin()
        sys.stdout.write("x" * 10)
        process_lifecycle.record(0)
        sys.exit(0)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        stdout=write_end,
        stderr=subprocess.PIPE,
        env={k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"},  # a buffered stdout
        text=True,
        timeout=60,
        check=False,
    )
    os.close(write_end)
    # Python's own exit reports the broken stdout (status 120), as without the ending.
    assert result.returncode == 120
    assert "teardown ran" in result.stderr


def _sitecustomize(directory: Path, *, earlier_handler: bool) -> dict[str, str]:
    """A sitecustomize that plants the witness (and maybe an exit handler before ours)."""
    handler = "import atexit; atexit.register(lambda: None)\n" if earlier_handler else ""
    (directory / "sitecustomize.py").write_text(TEARDOWN_WITNESS + handler, encoding="utf-8")
    paths = [str(directory), *filter(None, [os.environ.get("PYTHONPATH")])]
    return {"PYTHONPATH": os.pathsep.join(paths)}


@pytest.mark.parametrize("earlier_handler", [False, True])
def test_the_console_script_ends_the_same_with_or_without_teardown(
    tmp_path: Path, earlier_handler: bool, request: pytest.FixtureRequest
) -> None:
    """The real CLI: `init`, a usage error and a failed command keep their output and exit
    codes; the teardown is skipped unless something registered an exit handler before it."""
    if not earlier_handler:
        request.getfixturevalue("clean_interpreter")
    site = tmp_path / "site"
    site.mkdir()
    env = _sitecustomize(site, earlier_handler=earlier_handler)
    witness = "teardown ran" if earlier_handler else None

    made = run_cli("init", "demo", "--no-git", "--yes", "--json", cwd=tmp_path, env=env)
    assert made.returncode == 0, made.stderr
    assert '"ok": true' in made.stdout and made.stdout.rstrip().endswith("}")
    assert (tmp_path / "demo" / "tac_bootstrap.yml").is_file()

    usage = run_cli("render", "--no-such-option", cwd=tmp_path, env=env)
    assert usage.returncode == 2
    assert "no such option" in usage.stderr.lower()

    outside = run_cli("render", "--check", cwd=tmp_path, env=env)  # not a project
    assert outside.returncode == 2
    assert outside.stderr.startswith("error: no tac_bootstrap.yml found")

    edited = tmp_path / "demo" / ".claude" / "commands" / "chore.md"
    edited.write_text("mine\n", encoding="utf-8")
    failed = run_cli("render", "--check", cwd=tmp_path / "demo", env=env)
    assert failed.returncode == 1
    assert ".claude/commands/chore.md" in failed.stdout + failed.stderr

    for result in (made, usage, outside, failed):
        assert ("teardown ran" in result.stderr) == (witness is not None)


def test_main_called_as_a_function_leaves_the_callers_process_alone(tmp_path: Path) -> None:
    """`entry.main` embedded in a caller's program: the caller catches the command's
    SystemExit, goes on, and its own exit status, collector and teardown stay its own."""
    result = _child(
        f"""
        import gc, os
        before = gc.get_threshold()
        os.chdir({str(tmp_path)!r})
        sys.argv = ["tac-bootstrap", "render", "--check"]  # not a project: exit 2
        from tac_bootstrap.cli.entry import main
        try:
            main()
        except SystemExit as exc:
            print("command exited", exc.code)
        print("threshold unchanged", gc.get_threshold() == before)
        sys.exit(5)
        """
    )
    assert result.stdout == "command exited 2\nthreshold unchanged True\n"
    assert result.returncode == 5
    assert "teardown ran" in result.stderr


@pytest.mark.usefixtures("clean_interpreter")
def test_python_dash_m_is_the_console_script() -> None:
    """`python -m tac_bootstrap` ends like the installed script: no teardown."""
    result = subprocess.run(
        [sys.executable, "-c", TEARDOWN_WITNESS + "import runpy; runpy.run_module("
         "'tac_bootstrap', run_name='__main__', alter_sys=True)", "--version"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()
    assert "teardown ran" not in result.stderr
