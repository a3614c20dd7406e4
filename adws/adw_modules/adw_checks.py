"""The project's own checks (commands.test/lint/typecheck), run by the workflow itself.

The test phase trusts exit codes only, never the agent's word: each command runs in the run's
working root with the run's environment (its port slot) in a process group of its own, so a
timeout ends it and everything it started. What failed is handed to the fixing agent as a
report trimmed to what helps (the head and tail of each failing command, colours stripped).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

KILL_GRACE_SECONDS = 5.0
REPORT_BUDGET = 8000  # characters of failing output in one fix prompt, all commands together
RECORD_BUDGET = 4000  # characters of output kept in a run_checks row
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07")


@dataclass(frozen=True)
class CheckResult:
    name: str
    command: str
    exit_code: int | None  # None: timed out, or the command could not start
    timed_out: bool
    duration_ms: int
    output: str  # stdout and stderr interleaved, colours stripped

    @property
    def passed(self) -> bool:
        return self.exit_code == 0 and not self.timed_out

    def describe(self) -> str:
        if self.timed_out:
            return f"{self.name} timed out"
        if self.exit_code is None:
            return f"{self.name} could not start"
        return f"{self.name} exited {self.exit_code}"


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text).replace("\r\n", "\n")


def trim(text: str, budget: int) -> str:
    """The head and the tail of `text` within `budget` characters, saying what was cut: the
    head shows the command's first error, the tail its summary."""
    if len(text) <= budget:
        return text
    head = budget // 3
    tail = budget - head
    cut = len(text) - head - tail
    lines_cut = text[head : len(text) - tail].count("\n")
    note = f"\n[... {cut} characters ({lines_cut} lines) cut ...]\n"
    return text[:head] + note + text[len(text) - tail :]


def configured_checks(
    commands: Mapping[str, object], order: Sequence[str]
) -> list[tuple[str, str]]:
    """(name, command) in the configured order, skipping names with no command."""
    found = []
    for name in order:
        command = commands.get(name)
        if isinstance(command, str) and command.strip():
            found.append((name, command.strip()))
    return found


def stop_process_group(process: subprocess.Popen[Any]) -> None:
    """End a process started with start_new_session and everything it started (tool commands,
    subagents, servers a check left running): SIGTERM, then SIGKILL after a grace period."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except (ProcessLookupError, PermissionError):
            return
        try:
            process.wait(timeout=KILL_GRACE_SECONDS)
            return
        except subprocess.TimeoutExpired:
            continue


def run_command(
    name: str, command: str, cwd: Path, env: Mapping[str, str], timeout_seconds: float
) -> CheckResult:
    """Run one check through the shell; the output goes to a file (no pipe to fill up)."""
    started = time.monotonic()
    with tempfile.TemporaryFile() as output:
        try:
            process = subprocess.Popen(
                command,
                shell=True,
                cwd=cwd,
                env={**os.environ, **env},
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:
            elapsed = int((time.monotonic() - started) * 1000)
            return CheckResult(name, command, None, False, elapsed, f"could not start: {exc}")
        timed_out = False
        try:
            exit_code: int | None = process.wait(timeout=timeout_seconds)
        except subprocess.TimeoutExpired:
            timed_out = True
            stop_process_group(process)
            exit_code = None
        else:
            stop_process_group(process)  # what the command left running in the background
        output.seek(0)
        text = strip_ansi(output.read().decode("utf-8", errors="replace"))
    if timed_out:
        text += f"\n[timed out after {timeout_seconds:g} s; the process group was killed]"
    elapsed = int((time.monotonic() - started) * 1000)
    return CheckResult(name, command, exit_code, timed_out, elapsed, text)


def failure_report(results: Sequence[CheckResult], budget: int = REPORT_BUDGET) -> str:
    """The failing commands' output for a fix prompt: each one's head and tail, the budget
    shared evenly between them."""
    failing = [r for r in results if not r.passed]
    if not failing:
        return ""
    share = max(400, budget // len(failing))
    parts = []
    for result in failing:
        body = trim(result.output.strip() or "(no output)", share)
        parts.append(f"### {result.name}: `{result.command}` ({result.describe()})\n\n{body}")
    return "\n\n".join(parts)
