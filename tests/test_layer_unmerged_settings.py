"""The layer's own tests in a project whose .claude/settings.json lacks the layer's hooks.

That is a user's file the hooks were not merged into: the recorder records nothing, so the
tests of it fail, each with one line naming the file and what to do, never a raw KeyError.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ProjectFactory

# The tests that read the hooks from settings.json (the others run the hook file directly).
THROUGH_SETTINGS = (
    "adws/tests/test_adw_hooks.py::test_settings_json_runs_the_hook_for_every_event_the_cli_fires",
    "adws/tests/test_adw_hooks.py::test_the_cli_command_spools_returns_at_once_and_the_recorder_writes",
)
DIRECT = "adws/tests/test_adw_hooks.py::test_events_of_a_workflow_agent_go_to_agent_logs"
USERS_SETTINGS = {
    "permissions": {"allow": ["Bash(make test)"]},
    "hooks": {"Notification": [{"hooks": [{"type": "command", "command": "notify-send hi"}]}]},
}


def _layer_tests(project: Path, *tests: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TAC_", "FAKE_CLAUDE"))}
    return subprocess.run(
        [sys.executable, "-m", "pytest", *tests, "-q", "-p", "no:cacheprovider", "-rf"],
        cwd=project,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            json.dumps(USERS_SETTINGS, indent=2),
            "`.claude/settings.json` has no hooks for ",
        ),
        ('{"permissions": {}}', "`.claude/settings.json` has no hooks for "),
        ("{ // a comment is not JSON\n}", "`.claude/settings.json` cannot be read as JSON ("),
    ],
    ids=["users-hooks-only", "no-hooks-key", "not-json"],
)
def test_unmerged_settings_fail_in_one_clear_line(
    new_project: ProjectFactory, tmp_path: Path, content: str, expected: str
) -> None:
    project = new_project(tmp_path / "out")
    (project / ".claude" / "settings.json").write_text(content + "\n")
    result = _layer_tests(project, *THROUGH_SETTINGS, DIRECT)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "2 failed, 1 passed" in output, output  # the direct run of the hook still works
    assert "KeyError" not in output and "Traceback" not in output, output
    reasons = [line for line in output.splitlines() if expected in line]
    assert len(reasons) >= 2, output  # one per failed test, in the -rf summary
    for line in reasons:
        assert "run `tac-bootstrap render` to merge the layer's hooks into it" in line


def test_merged_settings_pass(new_project: ProjectFactory, tmp_path: Path) -> None:
    """The control: the same tests with the generated settings.json (hooks wired) pass."""
    project = new_project(tmp_path / "out")
    result = _layer_tests(project, *THROUGH_SETTINGS)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
