"""Prompting behaviour of `tac-bootstrap init`, driven through real processes.

A person at a terminal is asked for the stack (language, framework, package manager); scripts,
CI and `--yes` get the defaults and are never asked. The terminal cases run the CLI on a real
pseudo-terminal and answer the prompts as they appear.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

TIMEOUT = 60.0  # seconds for a whole run; a run that takes longer is killed and fails the test
ANSI = re.compile(r"\x1b(?:\[[0-9;?]*[ -/]*[@-~]|\][^\x07]*(?:\x07|\x1b\\)|[@-Z\\-_])")

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs POSIX pseudo-terminals")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    for key in ("FORCE_COLOR", "CLICOLOR_FORCE", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        env.pop(key, None)
    env.update(NO_COLOR="1", TERM="dumb", COLUMNS="200", LINES="50", PYTHONUNBUFFERED="1")
    return env


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "tac_bootstrap", *args]


def _prompt(label: str) -> re.Pattern[str]:
    """A rich prompt line: `Label [choice/choice/...] (default): `."""
    return re.compile(rf"{label}\s*\[([^\]\n]*)\]\s*\(([^)\n]*)\)\s*:", re.IGNORECASE)


def _config(project_dir: Path) -> str:
    path = project_dir / "tac_bootstrap.yml"
    assert path.is_file(), f"{path} was not written"
    return path.read_text(encoding="utf-8")


def _assert_stack(config: str, language: str, framework: str, package_manager: str) -> None:
    assert re.search(rf"^\s*language: {language}\s*$", config, re.MULTILINE), config
    assert re.search(rf'^\s*framework: "{framework}"\s*$', config, re.MULTILINE), config
    assert re.search(rf"^\s*package_manager: {package_manager}\s*$", config, re.MULTILINE), config


class PtySession:
    """A child process whose stdin, stdout and stderr are one pseudo-terminal."""

    def __init__(self, argv: list[str], cwd: Path) -> None:
        self.deadline = time.monotonic() + TIMEOUT
        self.master, slave = os.openpty()
        # A wide terminal, so rich never wraps a prompt across lines.
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))
        try:
            self.proc = subprocess.Popen(
                argv,
                cwd=cwd,
                env=_env(),
                stdin=slave,
                stdout=slave,
                stderr=slave,
                start_new_session=True,
                # Make the pty the child's controlling terminal, as a login shell would.
                preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0),
            )
        finally:
            os.close(slave)
        self.raw = b""
        self.pos = 0  # where the next expect() starts searching
        self.eof = False

    @property
    def text(self) -> str:
        return ANSI.sub("", self.raw.decode("utf-8", "replace")).replace("\r", "")

    def _read_some(self, wait: float) -> None:
        if self.eof:
            time.sleep(min(wait, 0.05))
            return
        ready, _, _ = select.select([self.master], [], [], wait)
        if not ready:
            return
        try:
            chunk = os.read(self.master, 65536)
        except OSError as exc:  # Linux reports EIO once every slave fd is closed
            if exc.errno != errno.EIO:
                raise
            chunk = b""
        if chunk:
            self.raw += chunk
        else:
            self.eof = True

    def expect(self, pattern: re.Pattern[str]) -> re.Match[str]:
        """Wait until `pattern` appears in the output after the previous match."""
        while True:
            match = pattern.search(self.text, self.pos)
            if match:
                self.pos = match.end()
                return match
            remaining = self.deadline - time.monotonic()
            if remaining <= 0 or (self.eof and self.proc.poll() is not None):
                self.kill()
                pytest.fail(
                    f"prompt {pattern.pattern!r} never appeared (exit code {self.proc.poll()});"
                    f" output so far:\n{self.text}"
                )
            self._read_some(min(remaining, 0.5))

    def send(self, line: str) -> None:
        os.write(self.master, line.encode() + b"\r")

    def wait(self, forbid: re.Pattern[str] | None = None) -> int:
        """Drain the output until the child exits; kill it if it outlives the deadline.

        If `forbid` shows up in the output meanwhile, kill the child and fail at once.
        """
        while True:
            if forbid is not None and (found := forbid.search(self.text)):
                self.kill()
                pytest.fail(f"unexpected {found.group(0)!r} in the output:\n{self.text}")
            code = self.proc.poll()
            if code is not None and (self.eof or not self._pending()):
                return code
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                self.kill()
                pytest.fail(f"tac-bootstrap did not exit within {TIMEOUT}s; output:\n{self.text}")
            self._read_some(min(remaining, 0.5))

    def _pending(self) -> bool:
        ready, _, _ = select.select([self.master], [], [], 0)
        return bool(ready)

    def kill(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def close(self) -> None:
        self.kill()
        os.close(self.master)


@contextlib.contextmanager
def pty_session(argv: list[str], cwd: Path) -> Iterator[PtySession]:
    session = PtySession(argv, cwd)
    try:
        yield session
    finally:
        session.close()


def _run_without_terminal(
    argv: list[str], cwd: Path, **stdin_kwargs: Any
) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            argv,
            cwd=cwd,
            env=_env(),
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            **stdin_kwargs,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"tac-bootstrap hung without a terminal (killed after {TIMEOUT}s): {exc}")


# -- a person at a terminal --------------------------------------------------------------------


def test_pty_prompts_take_the_answers(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pty_session(_cli("init", "myproj", "-o", str(out)), cwd=tmp_path) as session:
        language = session.expect(_prompt("Language"))
        choices = language.group(1).split("/")
        assert "python" in choices and "typescript" in choices, language.group(0)
        session.send("typescript")

        framework = session.expect(_prompt("Framework"))
        # The framework choices follow the language just chosen.
        assert "express" in framework.group(1).split("/"), framework.group(0)
        assert "django" not in framework.group(1).split("/"), framework.group(0)
        session.send("express")

        manager = session.expect(_prompt("Package manager"))
        assert "pnpm" in manager.group(1).split("/"), manager.group(0)
        assert "pip" not in manager.group(1).split("/"), manager.group(0)
        session.send("pnpm")

        code = session.wait()
        assert code == 0, session.text

    _assert_stack(_config(out / "myproj"), "typescript", "express", "pnpm")
    assert (out / "myproj" / "adws" / "schema" / "schema_orchestrator.sql").is_file()


def test_pty_enter_accepts_the_defaults(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pty_session(_cli("init", "myproj", "-o", str(out)), cwd=tmp_path) as session:
        language = session.expect(_prompt("Language"))
        assert language.group(2).strip() == "python", language.group(0)
        session.send("")
        framework = session.expect(_prompt("Framework"))
        assert framework.group(2).strip() == "none", framework.group(0)
        session.send("")
        manager = session.expect(_prompt("Package manager"))
        assert manager.group(2).strip() == "pip", manager.group(0)
        session.send("")
        code = session.wait()
        assert code == 0, session.text

    _assert_stack(_config(out / "myproj"), "python", "none", "pip")


def test_pty_with_yes_never_prompts(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pty_session(_cli("init", "myproj", "-o", str(out), "--yes"), cwd=tmp_path) as session:
        # Nothing is typed; any prompt fails the test at once (and would otherwise block).
        code = session.wait(
            forbid=re.compile(r"(language|framework|package manager)\s*[\[(:]", re.I)
        )
        text = session.text
    assert code == 0, text
    assert "myproj" in text, text  # the run's own output did reach the terminal
    _assert_stack(_config(out / "myproj"), "python", "none", "pip")


# -- scripts and CI: no terminal ---------------------------------------------------------------


def test_stdin_devnull_takes_the_defaults(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = _run_without_terminal(
        _cli("init", "myproj", "-o", str(out)), tmp_path, stdin=subprocess.DEVNULL
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert not re.search(r"language\s*\[", result.stdout + result.stderr, re.IGNORECASE)
    _assert_stack(_config(out / "myproj"), "python", "none", "pip")


def test_stdin_eof_pipe_takes_the_defaults(tmp_path: Path) -> None:
    out = tmp_path / "out"
    # input="" gives the child a pipe that is closed at once: reading it yields EOF.
    result = _run_without_terminal(_cli("init", "myproj", "-o", str(out)), tmp_path, input="")
    assert result.returncode == 0, result.stdout + result.stderr
    assert not re.search(r"language\s*\[", result.stdout + result.stderr, re.IGNORECASE)
    _assert_stack(_config(out / "myproj"), "python", "none", "pip")


def test_stdin_fd_closed_takes_the_defaults(tmp_path: Path) -> None:
    out = tmp_path / "out"
    # Like `tac-bootstrap init myproj <&-` in a shell: the child starts with no fd 0 at all.
    result = _run_without_terminal(
        _cli("init", "myproj", "-o", str(out)),
        tmp_path,
        stdin=subprocess.DEVNULL,
        preexec_fn=lambda: os.close(0),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    _assert_stack(_config(out / "myproj"), "python", "none", "pip")
