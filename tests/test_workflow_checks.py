"""The checks runner on its own: real commands through the shell, exit codes decide, a command
that outlives its timeout is killed with its whole process group, the output is stripped of
colours, and the failure report a fix prompt carries stays within its budget, saying what it
cut (the head keeps the first error, the tail the summary)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from tac_bootstrap.runtime.adw_checks import (
    REPORT_BUDGET,
    CheckResult,
    configured_checks,
    failure_report,
    run_command,
    strip_ansi,
    trim,
)


def test_exit_codes_decide_and_the_environment_reaches_the_command(tmp_path: Path) -> None:
    ok = run_command("test", 'echo "port $PORT"', tmp_path, {"PORT": "9100"}, 30)
    assert (ok.passed, ok.exit_code, ok.timed_out, ok.output) == (True, 0, False, "port 9100\n")
    failed = run_command("lint", "echo bad >&2; exit 3", tmp_path, {}, 30)
    assert (failed.passed, failed.exit_code, failed.output) == (False, 3, "bad\n")
    assert failed.describe() == "lint exited 3"
    missing = run_command("typecheck", "no-such-checker-xyz .", tmp_path, {}, 30)
    assert missing.exit_code == 127 and not missing.passed


def test_a_command_past_its_timeout_is_killed_with_what_it_started(tmp_path: Path) -> None:
    command = "sleep 300 & echo $! > child.pid; echo started; wait"
    result = run_command("test", command, tmp_path, {}, 1)
    assert (result.exit_code, result.timed_out, result.passed) == (None, True, False)
    assert result.output.startswith("started\n")
    assert "[timed out after 1 s; the process group was killed]" in result.output
    child = int((tmp_path / "child.pid").read_text())
    deadline = time.monotonic() + 30  # SIGKILL is delivered asynchronously: a loaded machine lags
    while running(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not running(child)
    assert result.describe() == "test timed out"


def running(pid: int) -> bool:
    """Alive and not a zombie (a killed orphan waits for whoever adopted it to reap it)."""
    try:
        os.kill(pid, 0)
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (ProcessLookupError, FileNotFoundError):
        return False
    return fields[0] != "Z"


def test_colours_are_stripped() -> None:
    assert (
        strip_ansi("\x1b[31mFAILED\x1b[0m x.py\r\n\x1b]8;;http://a\x07link") == "FAILED x.py\nlink"
    )


def test_configured_checks_keep_the_order_and_skip_empty_commands() -> None:
    commands = {"test": "pytest", "lint": "  ", "typecheck": "mypy .", "format": "ruff format"}
    assert configured_checks(commands, ["typecheck", "lint", "test"]) == [
        ("typecheck", "mypy ."),
        ("test", "pytest"),
    ]


@given(st.text(min_size=0, max_size=30_000), st.integers(min_value=200, max_value=10_000))
def test_trim_keeps_head_and_tail_within_the_budget(text: str, budget: int) -> None:
    trimmed = trim(text, budget)
    if len(text) <= budget:
        assert trimmed == text
        return
    head, _, rest = trimmed.partition("\n[... ")
    assert text.startswith(head) and len(head) == budget // 3
    cut = len(text) - budget
    assert rest.startswith(f"{cut} characters (")
    assert trimmed.endswith(text[-(budget - budget // 3) :])


def test_the_failure_report_holds_only_failing_commands_within_about_8_kb() -> None:
    noisy = "".join(f"line {i}: collecting...\n" for i in range(5000))
    results = [
        CheckResult("test", "pytest", 1, False, 10, "E first error\n" + noisy + "1 failed\n"),
        CheckResult("lint", "ruff check .", 0, False, 10, "All checks passed!\n"),
        CheckResult("typecheck", "mypy .", None, True, 10, noisy),
    ]
    report = failure_report(results)
    assert "### test: `pytest` (test exited 1)" in report
    assert "### typecheck: `mypy .` (typecheck timed out)" in report
    assert "All checks passed" not in report
    assert "E first error" in report and "1 failed" in report
    assert report.count("characters (") == 2  # both outputs cut, each saying by how much
    assert len(report) <= REPORT_BUDGET + 400
    assert failure_report(results[1:2]) == ""
